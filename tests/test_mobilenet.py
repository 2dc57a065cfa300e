import random

import pytest
import torch

from diswot.errors import DiswotError
from search_spaces import SPACES
from search_spaces.cost import measure_cost
from search_spaces.mobilenet import MOBILENET, Block, MobileNetArch, make_divisible, mobilenet_v3_large

# torchvision's published parameter counts at 1000 classes (torchvision.models docs, "num_params").
MOBILENET_V2_PARAMS = 3_504_872
MOBILENET_V3_LARGE_PARAMS = 5_483_032


def ptflops_macs(model):
    ptflops = pytest.importorskip("ptflops")
    # the aten backend counts the multiply-accumulates of every convolution and matmul dispatched
    macs, _ = ptflops.get_model_complexity_info(
        model.eval(), (3, 224, 224), as_strings=False, print_per_layer_stat=False, backend="aten"
    )
    return macs


def test_space_is_registered_with_more_than_1e15_candidates():
    assert SPACES.get("mobilenet") is MOBILENET
    assert MOBILENET.size() >= 10**15
    assert MOBILENET.default_image_size == 224


def test_mobilenet_v2_is_a_point_with_torchvisions_parameter_count_and_ptflops_macs():
    arch = MOBILENET.parse("mobilenet_v2")
    assert MOBILENET.format(arch) == MOBILENET.reference_points["mobilenet_v2"]
    cost = MOBILENET.cost(arch, 1000)
    assert cost.params == MOBILENET_V2_PARAMS
    macs = ptflops_macs(MOBILENET.build(arch, 1000))
    assert abs(cost.flops - macs) / macs < 0.01


def test_mobilenet_v3_large_has_torchvisions_parameter_count_and_ptflops_macs():
    model = mobilenet_v3_large(1000)
    cost = measure_cost(model, 224)
    assert cost.params == MOBILENET_V3_LARGE_PARAMS
    macs = ptflops_macs(model)
    assert abs(cost.flops - macs) / macs < 0.01


def test_make_divisible_rounds_as_torchvision_documents():
    # width 0.75: 32 -> 24, 24 -> 24 (18 rounds up), 16 * 0.75 = 12 -> 16 (8 would be 33% below)
    assert [make_divisible(c * 0.75) for c in (32, 24, 16, 320)] == [24, 24, 16, 240]
    assert make_divisible(4) == 8


def test_samples_round_trip_and_mutations_stay_in_the_space():
    rng = random.Random(0)
    for _ in range(200):
        arch = MOBILENET.sample(rng)
        assert MOBILENET.parse(MOBILENET.format(arch)) == arch
        child = MOBILENET.mutate(arch, rng)
        assert child != arch and MOBILENET.parse(MOBILENET.format(child)) == child
        other = MOBILENET.sample(rng)
        for offspring in MOBILENET.crossover(arch, other, rng):
            assert all(stage in (a, b) for stage, a, b in zip(offspring.stages, arch.stages, other.stages))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("w1.0-k3e6-k3e6", "wM-STAGE"),
        ("w0.6-k3e6-k3e6-k3e6-k3e6-k3e6-k3e6", "width multiplier 0.6 .* valid: 0.5, 0.75, 1.0, 1.25"),
        ("w1.0-k3e6-k4e6-k3e6-k3e6-k3e6-k3e6", "stage 2 kernel 4 .* valid: 3, 5, 7"),
        ("w1.0-k3e6-k3e6-k3e5-k3e6-k3e6-k3e6", "stage 3 expansion 5 .* valid: 3, 4, 6"),
        ("w1.0-k3e6-k3e6-k3e6-k3e6_k3e6_k3e6_k3e6_k3e6-k3e6-k3e6", "stage 4 has 5 blocks; valid depths: 1, 2, 3, 4"),
        ("mobilenet_v9", "or a reference point name"),
    ],
)
def test_parse_rejects_with_what_is_valid(text, expected):
    with pytest.raises(DiswotError, match=expected):
        MOBILENET.parse(text)


def test_enumerating_is_refused():
    with pytest.raises(DiswotError, match="too many to enumerate"):
        MOBILENET.enumerate()


def test_extreme_archs_bracket_samples():
    smallest, largest = MOBILENET.extreme_archs()
    low, high = MOBILENET.cost(smallest, 1000), MOBILENET.cost(largest, 1000)
    rng = random.Random(1)
    for _ in range(20):
        cost = MOBILENET.cost(MOBILENET.sample(rng), 1000)
        assert low.params <= cost.params <= high.params and low.flops <= cost.flops <= high.flops


def test_a_block_with_squeeze_excite_and_kernel_7_runs_at_224():
    stages = ((Block(7, 3, True),), (Block(5, 4, False),), (Block(3, 6, True),)) + ((Block(3, 3, False),),) * 3
    model = MOBILENET.build(MobileNetArch(0.5, stages), 10)
    block = model.features[2]
    assert block.conv[1][0].kernel_size == (7, 7) and hasattr(block.conv[2], "fc1")
    features, pooled = model.forward_pooled(torch.randn(2, 3, 224, 224))
    assert features.shape == (2, 1280, 7, 7) and pooled.shape == (2, 1280)
