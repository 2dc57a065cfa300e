import random

import pytest
import torch

from diswot.errors import DiswotError
from search_spaces import SPACES
from search_spaces.cost import count_flops
from search_spaces.resnet_imagenet import RESNET_IMAGENET, ResNetArch, Stage

# torchvision's published parameter counts at 1000 classes (torchvision.models docs, "num_params").
TORCHVISION_PARAMS = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032}


def test_space_is_registered_with_more_than_a_trillion_candidates():
    assert SPACES.get("resnet_imagenet") is RESNET_IMAGENET
    assert RESNET_IMAGENET.size() >= 10**12
    assert RESNET_IMAGENET.default_image_size == 224


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMS))
def test_reference_points_have_torchvisions_parameter_counts(name):
    arch = RESNET_IMAGENET.parse(RESNET_IMAGENET.reference_points[name])
    assert RESNET_IMAGENET.parse(name) == arch
    assert RESNET_IMAGENET.cost(arch, 1000).params == TORCHVISION_PARAMS[name]


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_flops_agree_with_ptflops(name):
    ptflops = pytest.importorskip("ptflops")
    model = RESNET_IMAGENET.build(RESNET_IMAGENET.parse(name), 1000).eval()
    # ptflops' aten backend counts the multiply-accumulates of every convolution and matmul it dispatches.
    macs, _ = ptflops.get_model_complexity_info(
        model, (3, 224, 224), as_strings=False, print_per_layer_stat=False, backend="aten"
    )
    ours = RESNET_IMAGENET.cost(RESNET_IMAGENET.parse(name), 1000).flops
    assert ours == count_flops(model, 224)
    assert abs(ours - macs) / macs < 0.01


def test_resnet50_is_written_stage_by_stage():
    assert RESNET_IMAGENET.reference_points["resnet50"] == (
        "64-bottleneck3x64e4k3-bottleneck4x128e4k3-bottleneck6x256e4k3-bottleneck3x512e4k3"
    )


def test_samples_round_trip_and_mutations_change_one_thing():
    rng = random.Random(0)
    for _ in range(100):
        arch = RESNET_IMAGENET.sample(rng)
        assert RESNET_IMAGENET.parse(RESNET_IMAGENET.format(arch)) == arch
        child = RESNET_IMAGENET.mutate(arch, rng)
        assert RESNET_IMAGENET.parse(RESNET_IMAGENET.format(child)) == child
        changed_stages = [a != b for a, b in zip(arch.stages, child.stages)]
        assert (arch.stem_width != child.stem_width) + sum(changed_stages) == 1
        other = RESNET_IMAGENET.sample(rng)
        for offspring in RESNET_IMAGENET.crossover(arch, other, rng):
            for position, stage in enumerate(offspring.stages):
                assert stage in (arch.stages[position], other.stages[position])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("64-basic2x64k3-basic2x128k3-basic2x256k3", "STEM-STAGE"),
        ("resnet51", "or a reference point name"),
        ("64-basic2x64k3-basic2x128k3-basic2x256k3-basic9x512k3", "stage 4 depth 9 is not in resnet_imagenet; valid: 1, 2"),
        ("64-basic2x64k3-basic2x100k3-basic2x256k3-basic2x512k3", "stage 2 width 100 .* valid: 32, 48, 64, 80, 96"),
        ("64-bottleneck2x64e5k3-basic2x128k3-basic2x256k3-basic2x512k3", "expansion 5 .* valid: 2, 3, 4"),
        ("64-basic2x64e4k3-basic2x128k3-basic2x256k3-basic2x512k3", "a basic stage none"),
        ("63-basic2x64k3-basic2x128k3-basic2x256k3-basic2x512k3", "stem width 63 .* valid|stem widths: 16, 32, 48, 64"),
        ("64-basic2x64k4-basic2x128k3-basic2x256k3-basic2x512k3", "kernel 4 .* valid: 3, 5, 7"),
    ],
)
def test_parse_rejects_with_what_is_valid(text, expected):
    with pytest.raises(DiswotError, match=expected):
        RESNET_IMAGENET.parse(text)


def test_enumerating_is_refused():
    with pytest.raises(DiswotError, match="too many to enumerate"):
        RESNET_IMAGENET.enumerate()


def test_extreme_archs_bracket_every_block_kind_pattern():
    smallest, largest = RESNET_IMAGENET.extreme_archs()
    low, high = RESNET_IMAGENET.cost(smallest, 1000), RESNET_IMAGENET.cost(largest, 1000)
    rng = random.Random(1)
    for _ in range(20):
        cost = RESNET_IMAGENET.cost(RESNET_IMAGENET.sample(rng), 1000)
        assert low.params <= cost.params <= high.params and low.flops <= cost.flops <= high.flops


def test_a_mixed_network_runs_at_224_and_its_kernel_choice_is_built():
    arch = ResNetArch(16, (
        Stage("bottleneck", 1, 16, 2, 5), Stage("basic", 2, 32, 1, 7), Stage("basic", 1, 64, 1, 3),
        Stage("bottleneck", 1, 128, 3, 3),
    ))
    model = RESNET_IMAGENET.build(arch, 10)
    assert model.layer1[0].conv2.kernel_size == (5, 5) and model.layer2[1].conv1.kernel_size == (7, 7)
    features, pooled = model.forward_pooled(torch.randn(2, 3, 224, 224))
    assert features.shape == (2, 384, 7, 7) and pooled.shape == (2, 384)
    assert model.classifier.in_features == 384
