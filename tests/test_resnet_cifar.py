import random

import pytest
import torch

from diswot.errors import DiswotError
from search_spaces import SPACES
from search_spaces.cost import count_params
from search_spaces.resnet_cifar import RESNET_CIFAR, RESNET_CIFAR_WIDE, CifarResNet

RESNET20 = ((3, 16), (3, 32), (3, 64))


def test_spaces_are_registered():
    assert SPACES.get("resnet_cifar") is RESNET_CIFAR
    assert SPACES.get("resnet_cifar_wide") is RESNET_CIFAR_WIDE


def test_parse_and_format_round_trip_over_s1():
    for arch in RESNET_CIFAR.enumerate():
        assert RESNET_CIFAR.parse(RESNET_CIFAR.format(arch)) == arch
    assert RESNET_CIFAR.parse(" 3x16-3x32-3x64 ") == RESNET20
    assert RESNET_CIFAR.format(RESNET20) == "3x16-3x32-3x64"


def test_parse_and_format_round_trip_over_wide_samples():
    rng = random.Random(0)
    for _ in range(50):
        arch = RESNET_CIFAR_WIDE.sample(rng)
        assert RESNET_CIFAR_WIDE.parse(RESNET_CIFAR_WIDE.format(arch)) == arch


@pytest.mark.parametrize(
    "text, expected",
    [
        ("3x16-3x32", "DEPTHxWIDTH"),
        ("3-3-3", "e.g. '3x16-3x32-3x64'"),
        ("3x16-3x32-3x64-3x64", "DEPTHxWIDTH"),
        ("4x16-3x32-3x64", "stage 1 depth 4 is not in resnet_cifar; depths: 1, 3, 5, 7"),
        ("3x16-3x48-3x64", "stage 2 width 48 is not in resnet_cifar; stage 2 widths: 32"),
    ],
)
def test_parse_rejects_with_what_is_valid(text, expected):
    with pytest.raises(DiswotError, match=expected):
        RESNET_CIFAR.parse(text)


def test_wide_space_names_its_stage_widths():
    expected = "stage 3 width 80 is not in resnet_cifar_wide; stage 3 widths: 32, 64, 96, 128"
    with pytest.raises(DiswotError, match=expected):
        RESNET_CIFAR_WIDE.parse("1x8-1x16-1x80")


def test_parse_rejects_a_non_string():
    with pytest.raises(DiswotError, match="is a string"):
        RESNET_CIFAR.parse(RESNET20)


def test_build_rejects_an_architecture_outside_the_space():
    with pytest.raises(DiswotError, match="depths: 1, 3, 5, 7"):
        RESNET_CIFAR.build(((2, 16), (3, 32), (3, 64)), 10)
    with pytest.raises(DiswotError, match="3 \\(depth, width\\) pairs"):
        RESNET_CIFAR.build(((3, 16), (3, 32)), 10)


def test_s1_enumerates_64_distinct_students():
    archs = list(RESNET_CIFAR.enumerate())
    assert RESNET_CIFAR.size() == 64
    assert len(set(archs)) == 64
    assert RESNET20 in archs


def test_wide_space_size_matches_its_enumeration():
    archs = list(RESNET_CIFAR_WIDE.enumerate())
    assert RESNET_CIFAR_WIDE.size() == len(set(archs)) == 4**6


@pytest.mark.parametrize("space", [RESNET_CIFAR, RESNET_CIFAR_WIDE], ids=lambda space: space.name)
def test_sample_mutate_and_crossover_stay_in_the_space(space):
    rng = random.Random(1)
    for _ in range(100):
        first, second = space.sample(rng), space.sample(rng)
        mutant = space.mutate(first, rng)
        assert mutant != first
        assert sum(a != b for a, b in zip(first, mutant)) == 1
        child_a, child_b = space.crossover(first, second, rng)
        for stage, (a, b) in enumerate(zip(child_a, child_b)):
            assert {a, b} == {first[stage], second[stage]}
        for arch in (mutant, child_a, child_b):
            space.check(arch)


@pytest.mark.parametrize("text", ["1x16-1x32-1x64", "7x16-7x32-7x64", "5x16-1x32-7x64"])
def test_s1_students_run_at_32x32(text):
    network = RESNET_CIFAR.build(RESNET_CIFAR.parse(text), num_classes=100)
    images = torch.randn(2, 3, 32, 32)
    assert network.forward_features(images).shape == (2, 64, 8, 8)
    assert network(images).shape == (2, 100)


def test_wide_student_runs_at_32x32_with_the_stem_as_wide_as_stage_one():
    network = RESNET_CIFAR_WIDE.build(RESNET_CIFAR_WIDE.parse("1x24-3x48-1x96"), num_classes=10)
    assert network.stem[0].out_channels == 24
    assert network.forward_features(torch.randn(2, 3, 32, 32)).shape == (2, 96, 8, 8)


def test_resnet20_matches_he_et_al_parameter_count():
    # He et al. 2016, Table 6: resnet20 has 0.27M parameters (CIFAR-10). Their option-A shortcuts have none;
    # ours are 1x1 conv + BN where the width changes: (16*32 + 2*32) + (32*64 + 2*64) = 2,752 more, still 0.27M.
    network = RESNET_CIFAR.build(RESNET20, num_classes=10)
    assert count_params(network) == 269_722 + 2_752
    assert round(count_params(network) / 1e6, 2) == 0.27


def test_a_built_student_scripts():
    network = RESNET_CIFAR.build(RESNET20, num_classes=10).eval()
    scripted = torch.jit.script(network)
    images = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(scripted.forward_features(images), network.forward_features(images))


def test_cifar_resnet_rejects_an_empty_stage():
    with pytest.raises(DiswotError, match="at least 1"):
        CifarResNet([(0, 16), (3, 32), (3, 64)], num_classes=10)
