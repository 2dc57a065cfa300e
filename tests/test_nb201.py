"""NAS-Bench-201 space: string form, converters, canonical form, the built network against the published costs."""

import csv
import itertools
import random
from pathlib import Path

import pytest
import torch

from diswot.errors import DiswotError
from search_spaces import get_space
from search_spaces.cost import count_flops, count_params, measure_cost
from search_spaces.nb201 import (
    EDGES,
    OPS,
    Cell,
    NB201Space,
    canonical_cell,
    format_cell,
    from_naslib,
    from_nni,
    one_edge_neighbours,
    parse_cell,
    prune_dead_edges,
    swap_intermediate_nodes,
    to_naslib,
    to_nni,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPACE = NB201Space()
ALL_CELLS = [Cell(ops) for ops in itertools.product(OPS, repeat=len(EDGES))]
RESNET_CELL = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"  # NB201 index 11472


@pytest.fixture(autouse=True, scope="module")
def one_intra_op_thread():
    # These networks are small: on a busy 2-core machine a second intra-op thread mostly spin-waits (measured:
    # the file ran 4x slower with two threads while other tests ran).
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def read_csv(name: str) -> list[dict[str, str]]:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data sits beside the repository only in development)")
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def test_registered_with_its_size():
    space = get_space("nb201")
    assert isinstance(space, NB201Space) and space.name == "nb201" and space.description
    assert space.size() == 15625 == len(set(ALL_CELLS))


def test_extreme_archs_bound_the_published_costs():
    rows = read_csv("nb201_accuracy.csv")
    smallest, largest = (SPACE.cost(arch, 10) for arch in SPACE.extreme_archs())
    published = [float(row["cifar10_params_M"]) for row in rows]
    assert (smallest.params / 1e6, largest.params / 1e6) == pytest.approx((min(published), max(published)), abs=1e-6)
    assert smallest.flops < largest.flops


def test_every_cell_round_trips_through_its_string():
    texts = [format_cell(cell) for cell in ALL_CELLS]
    assert len(set(texts)) == len(ALL_CELLS)
    assert all(parse_cell(text) == cell for text, cell in zip(texts, ALL_CELLS))
    assert format_cell(parse_cell(RESNET_CELL)) == RESNET_CELL


@pytest.mark.parametrize("text", [
    "",
    "|nor_conv_3x3~0|",
    "|nor_conv_3x3~0|+|none~0|none~1|",
    "nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    "|conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~1|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~2|nor_conv_3x3~1|",
    "|nor_conv_3x3~0|+|none~0|none~1|none~2|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    "|nor_conv_3x3|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|+|none~0|",
])
def test_malformed_strings_are_rejected_naming_the_form_and_the_ops(text):
    with pytest.raises(DiswotError) as error:
        parse_cell(text)
    message = str(error.value)
    assert "\n" not in message
    assert "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|" in message
    assert all(op in message for op in OPS)


def test_a_cell_of_unknown_ops_is_rejected():
    with pytest.raises(DiswotError, match="nor_conv_3x3"):
        Cell(("conv",) * 6)
    with pytest.raises(DiswotError):
        Cell(("none",) * 5)


def test_naslib_and_nni_converters_round_trip():
    assert all(from_naslib(to_naslib(cell)) == cell for cell in ALL_CELLS)
    assert all(from_nni(to_nni(cell)) == cell for cell in ALL_CELLS)


def test_nni_dict_names_each_edge_by_its_nodes():
    assert to_nni(parse_cell(RESNET_CELL)) == {
        "0_1": "conv_3x3", "0_2": "none", "1_2": "conv_3x3",
        "0_3": "skip_connect", "1_3": "none", "2_3": "skip_connect",
    }
    with pytest.raises(DiswotError, match="0_1"):
        from_nni({"0_1": "conv_3x3"})


def test_naslib_encoding_matches_naslib_data():
    rows = read_csv("nb201_zc_proxies_subset.csv")
    for row in rows:
        indices = tuple(int(i) for i in row["naslib_op_indices"].split("-"))
        assert from_naslib(indices) == parse_cell(row["arch_str"])
        assert to_naslib(parse_cell(row["arch_str"])) == indices
    with pytest.raises(DiswotError, match="skip_connect"):
        from_naslib((0, 1, 2, 3, 4, 5))


def test_canonical_form_merges_dead_edges_and_relabelled_nodes():
    expected = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    assert SPACE.canonical(parse_cell(expected)) == expected
    # Node 2 feeds nothing, so its input edge is dead.
    dead_target = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    # The same path through node 2 instead of node 1.
    relabelled = "|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    assert SPACE.canonical(parse_cell(dead_target)) == SPACE.canonical(parse_cell(relabelled)) == expected
    # Node 1 never sees the input, so everything it (and node 2) sends is dead.
    dead_source = "|none~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_1x1~2|"
    assert SPACE.canonical(parse_cell(dead_source)) == "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    disconnected = parse_cell("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|none~1|none~2|")
    assert SPACE.canonical(disconnected) == format_cell(Cell(("none",) * 6))
    # An edge 1->2 forbids the swap: the ResNet cell is its own canonical form.
    resnet = parse_cell(RESNET_CELL)
    assert swap_intermediate_nodes(resnet) is None and SPACE.canonical(resnet) == RESNET_CELL


def test_enumerate_yields_one_cell_per_canonical_form():
    cells = list(SPACE.enumerate())
    assert len(cells) == 8765  # NAS-Bench-201 reports 6,466 by a coarser equivalence; see the module docstring
    assert len({format_cell(cell) for cell in cells}) == len(cells)
    assert all(canonical_cell(cell) == cell for cell in cells)
    assert {canonical_cell(cell) for cell in ALL_CELLS} == set(cells)


def test_canonical_form_is_never_more_expensive():
    for cell in random.Random(3).sample(ALL_CELLS, 200):
        canonical = canonical_cell(cell)
        assert canonical_cell(canonical) == canonical
        for op in ("nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "skip_connect"):
            assert canonical.ops.count(op) <= cell.ops.count(op)


def randomise_state(network: torch.nn.Module, generator: torch.Generator) -> None:
    """Gives every BatchNorm non-trivial statistics and affine terms, so eval mode is a real test."""
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            with torch.no_grad():
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.uniform_(-0.5, 0.5, generator=generator)
                module.running_mean.uniform_(-0.5, 0.5, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)


# Swapping nodes 1 and 2 renames these edges; the rest keep their names.
SWAPPED_EDGE_NAMES = {"0_1": "0_2", "0_2": "0_1", "1_3": "2_3", "2_3": "1_3"}


def original_weight_name(canonical_name: str, swapped: bool) -> str:
    if not swapped:
        return canonical_name
    parts = canonical_name.split(".")
    if "edges" in parts:
        edge = parts.index("edges") + 1
        parts[edge] = SWAPPED_EDGE_NAMES.get(parts[edge], parts[edge])
    return ".".join(parts)


def canonical_twin_cases() -> list[tuple[Cell, Cell, bool]]:
    """Cells whose canonical form differs, with and without a node swap, each with at least one conv."""
    cases = {False: [], True: []}
    for cell in random.Random(5).sample(ALL_CELLS, len(ALL_CELLS)):
        canonical = canonical_cell(cell)
        if canonical == cell or "nor_conv_3x3" not in canonical.ops:
            continue
        swapped = canonical != prune_dead_edges(cell)
        if len(cases[swapped]) < 3:
            cases[swapped].append((cell, canonical, swapped))
    return cases[False] + cases[True]


@pytest.mark.parametrize("cell, canonical, swapped", canonical_twin_cases())
def test_canonical_network_computes_the_same_function(cell, canonical, swapped):
    assert SPACE.parse(SPACE.canonical(cell)) == canonical
    torch.manual_seed(0)
    twin = SPACE.build(canonical, 10)
    randomise_state(twin, torch.Generator().manual_seed(1))
    original = SPACE.build(cell, 10)
    # The original gets the twin's weights; its dead edges keep their initial state, in which a conv reading
    # a dead node outputs exactly zero (its BatchNorm shift is zero).
    state = original.state_dict()
    state.update({original_weight_name(name, swapped): value for name, value in twin.state_dict().items()})
    original.load_state_dict(state)
    assert count_params(twin) <= count_params(original)
    images = torch.randn(4, 3, 32, 32)
    for training in (False, True):
        original.train(training)
        twin.train(training)
        with torch.no_grad():
            torch.testing.assert_close(twin(images), original(images), rtol=1e-4, atol=1e-5)


def test_isomorphic_cells_build_identical_networks_from_their_canonical_string():
    first = parse_cell("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_1x1~1|skip_connect~2|")
    second = swap_intermediate_nodes(first)
    assert second != first and SPACE.canonical(first) == SPACE.canonical(second)
    images = torch.randn(2, 3, 32, 32)
    outputs = []
    for cell in (first, second):
        torch.manual_seed(7)
        outputs.append(SPACE.build(SPACE.parse(SPACE.canonical(cell)), 10)(images))
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=0)


def test_params_match_nas_bench_201():
    rows = random.Random(201).sample(read_csv("nb201_accuracy.csv"), 300)
    for index, row in enumerate(rows):
        num_classes, column = (10, "cifar10_params_M") if index % 2 else (100, "cifar100_params_M")
        params = count_params(SPACE.build(parse_cell(row["arch_str"]), num_classes))
        # Exact up to the CSV's rounding to 1e-6 M (the brief asked for 0.5%).
        assert abs(params / 1e6 - float(row[column])) < 1e-6, row["arch_str"]


def test_flops_match_naslib_once_its_elementwise_charges_are_added():
    """Our FLOPs are conv + linear MACs. NASLib also charges elementwise work: 3 per output element of each
    ReLU-Conv-BN edge, 9 per output element of each 3x3 avg-pool edge, and a fixed 0.160832 M elsewhere
    (stem BN, reduction blocks, final BN/ReLU). With those added the two agree exactly; without them ours is
    lower by 1.2% (conv-heavy cells) to 50% (the all-pool cell), 4.7% at the median over all 15,625."""
    elements_per_edge = 5 * (16 * 32 * 32 + 32 * 16 * 16 + 64 * 8 * 8)  # one edge in all 15 cells
    rows = random.Random(202).sample(read_csv("nb201_accuracy.csv"), 24)
    for row in rows:
        cell = parse_cell(row["arch_str"])
        convs = cell.ops.count("nor_conv_1x1") + cell.ops.count("nor_conv_3x3")
        naslib_extra = 160832 + elements_per_edge * (3 * convs + 9 * cell.ops.count("avg_pool_3x3"))
        flops = count_flops(SPACE.build(cell, 10))
        assert abs((flops + naslib_extra) / 1e6 - float(row["cifar10_flops_M_naslib"])) < 1e-5, row["arch_str"]
        assert 0.49 < flops / 1e6 / float(row["cifar10_flops_M_naslib"]) < 0.99


def test_network_shapes_channels_last_and_torchscript():
    torch.manual_seed(0)
    network = SPACE.build(parse_cell(RESNET_CELL), 100).eval()
    images = torch.randn(2, 3, 32, 32)
    assert network.forward_features(images).shape == (2, 64, 8, 8)
    logits = network(images)
    assert logits.shape == (2, 100)
    scripted = torch.jit.script(network)
    torch.testing.assert_close(scripted(images), logits)
    torch.testing.assert_close(scripted.forward_features(images), network.forward_features(images))
    network = network.to(memory_format=torch.channels_last)
    torch.testing.assert_close(network(images.to(memory_format=torch.channels_last)), logits, rtol=1e-4, atol=1e-5)


def test_none_edges_have_no_modules_and_an_empty_cell_outputs_zeros():
    network = SPACE.build(Cell(("none",) * 6), 10)
    assert count_params(network) == 73306  # stem, two reduction blocks, final BN, classifier
    cell_block = network.cells[0]
    assert len(cell_block.edges) == 0
    assert torch.count_nonzero(cell_block(torch.randn(1, 16, 4, 4))) == 0


def test_mutate_changes_exactly_one_edge():
    rng = random.Random(11)
    for _ in range(200):
        cell = SPACE.sample(rng)
        child = SPACE.mutate(cell, rng)
        assert sum(a != b for a, b in zip(cell.ops, child.ops)) == 1


def test_crossover_takes_each_edge_from_one_parent():
    rng = random.Random(12)
    for _ in range(200):
        first, second = SPACE.sample(rng), SPACE.sample(rng)
        child_a, child_b = SPACE.crossover(first, second, rng)
        for a, b, x, y in zip(first.ops, second.ops, child_a.ops, child_b.ops):
            assert (x, y) in ((a, b), (b, a))


def test_bad_build_arguments_are_rejected():
    with pytest.raises(DiswotError, match="num_classes"):
        SPACE.build(parse_cell(RESNET_CELL), 0)
    with pytest.raises(DiswotError, match="parse"):
        SPACE.build(RESNET_CELL, 10)


def test_analytic_cost_equals_measured_cost():
    space = get_space("nb201")
    rng = random.Random(7)
    for _ in range(25):
        cell = space.sample(rng)
        for classes, size in ((10, 32), (100, 16)):
            assert space.cost(cell, classes, size) == measure_cost(space.build(cell, classes), size)


def test_one_edge_neighbours():
    # 6 edges x 4 other ops of the all-3x3 cell, but `none` on 0->1 and `none` on 2->3 both leave one intermediate
    # node feeding the output through one conv: the same cell once nodes 1 and 2 are swapped.
    neighbours = one_edge_neighbours(Cell(("nor_conv_3x3",) * 6))
    assert len(neighbours) == 23
    assert "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|" in neighbours
    # From the all-`none` cell only an op on the input->output edge makes a live cell; any other single edge is
    # dead, so canonically the cell itself.
    assert one_edge_neighbours(Cell(("none",) * 6)) == {
        format_cell(Cell(("none", "none", "none", op, "none", "none"))) for op in OPS if op != "none"
    }
