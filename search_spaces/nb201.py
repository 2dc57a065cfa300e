"""NAS-Bench-201: the 15,625 cells of Dong & Yang (ICLR 2020) in their CIFAR TinyNetwork (C=16, N=5).

A cell is a 4-node DAG; each of its 6 edges i->j (i < j) carries one of 5 ops, and node j is the sum of its
incoming edges. The user-facing string is NB201's own, `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` (group j lists
the edges into node j, `op~i` the one from node i), and the architecture is a `Cell`: the 6 ops in that order.

Canonical form. Two cells are merged when, once the edges that cannot matter are dropped, they are the same
graph up to renaming its nodes:
- an edge that cannot affect the output becomes `none`: its source is unreachable from the input through
  non-`none` edges (so it only ever reads zeros), or its target has no such path to the output;
- after that, when the edge 1->2 is `none`, nodes 1 and 2 are interchangeable and the two labellings are
  merged; the labelling kept is the one with the larger tuple of op indices (in OPS order), which uses
  node 1 before node 2.
The canonical form is itself a cell, so building it gives the same function at no greater cost. Exactly so
at initialisation (the setting DisWOT scores in): a conv edge that reads a dead node outputs its BatchNorm's
shift, which starts at zero but could be trained away from it.

This gives 8,765 unique cells (9,445 from dropping dead edges alone). NAS-Bench-201 reports 6,466; its count
(the `to_unique_str(consider_zero=True)` strings of its genotype code) compares each output as a symbolic sum
instead, which differs three ways:
- it treats skip_connect as the identity, so a skip chain equals the direct edge (0->1 skip, 1->3 conv is
  merged with 0->3 conv): same function and cost, but not a relabelling of the same cell, so not merged here;
- its sums are multisets of expressions, so one conv read twice through two skips (2*conv(x)) equals two
  independent convs (conv(x) + conv'(x)): 430 of its 6,466 classes hold cells with different numbers of live
  convolutions, i.e. different networks, which this form keeps apart;
- a node whose inputs are all dead is written as a sum of zeros rather than zero, so it splits 685 of the
  classes here (the all-`none` cell alone becomes 5 strings).
"""

import functools
import itertools
import operator
import random
from dataclasses import dataclass
from typing import Iterator, List, Mapping, Optional, Sequence

import torch
from torch import nn

from search_spaces.base import SearchSpace
from search_spaces.cost import Cost, cost_without_weights
from search_spaces.errors import DiswotError
from search_spaces.network import ClassifierNetwork

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # (source, target), in the order of the string
OUTPUT_NODE = 3
CELL_FORM = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
VALID_OPS = ", ".join(OPS)

# NASLib's NAS-Bench-201 encoding (naslib/search_spaces/nasbench201/conversions.py, recorded in
# ../shared/data/PROVENANCE.md B2): its own op order, and edges listed by source node first.
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))

# NNI's NAS-Bench-201 query format (microsoft/nni, nni/nas/benchmarks/nasbench201/db_gen.py `parse_arch_str` and
# constants.py): keys 'i_j' for the edge i->j, and the conv ops renamed without the `nor_` prefix.
NNI_OP_NAMES = {
    "none": "none",
    "skip_connect": "skip_connect",
    "nor_conv_1x1": "conv_1x1",
    "nor_conv_3x3": "conv_3x3",
    "avg_pool_3x3": "avg_pool_3x3",
}
NNI_KEYS = tuple(f"{source}_{target}" for source, target in EDGES)


@dataclass(frozen=True)
class Cell:
    """A NAS-Bench-201 architecture: the op of each edge, in the order of EDGES."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.ops, tuple) or len(self.ops) != len(EDGES):
            raise DiswotError(f"a NAS-Bench-201 cell has {len(EDGES)} ops (a tuple), got {self.ops!r}")
        unknown = [op for op in self.ops if op not in OPS]
        if unknown:
            raise DiswotError(f"unknown NAS-Bench-201 op {unknown[0]!r}; valid: {VALID_OPS}")


def _require_cell(arch: object) -> Cell:
    if not isinstance(arch, Cell):
        raise DiswotError(f"expected a NAS-Bench-201 Cell (from parse('{CELL_FORM}')), got {arch!r}")
    return arch


def parse_cell(text: str) -> Cell:
    def invalid(reason: str) -> DiswotError:
        return DiswotError(
            f"invalid NAS-Bench-201 cell {text!r}: {reason}; expected {CELL_FORM} with each op one of {VALID_OPS}"
        )

    if not isinstance(text, str):
        raise invalid("not a string")
    groups = text.strip().split("+")
    if len(groups) != OUTPUT_NODE:
        raise invalid(f"{len(groups)} node groups joined by '+', expected {OUTPUT_NODE}")
    ops = []
    for target, group in enumerate(groups, start=1):
        if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
            raise invalid(f"node {target} group {group!r} is not enclosed in '|'")
        entries = group[1:-1].split("|")
        if len(entries) != target:
            raise invalid(f"node {target} has {len(entries)} inputs, expected {target}")
        for source, entry in enumerate(entries):
            op, tilde, index = entry.partition("~")
            if not tilde or index != str(source):
                raise invalid(f"input {source} of node {target} is {entry!r}, expected 'op~{source}'")
            if op not in OPS:
                raise invalid(f"unknown op {op!r}")
            ops.append(op)
    return Cell(tuple(ops))


def format_cell(cell: Cell) -> str:
    ops = dict(zip(EDGES, _require_cell(cell).ops))
    groups = ("|" + "|".join(f"{ops[source, target]}~{source}" for source in range(target)) + "|"
              for target in range(1, OUTPUT_NODE + 1))
    return "+".join(groups)


def to_naslib(cell: Cell) -> tuple[int, ...]:
    ops = dict(zip(EDGES, _require_cell(cell).ops))
    return tuple(NASLIB_OPS.index(ops[edge]) for edge in NASLIB_EDGES)


def from_naslib(op_indices: Sequence[int]) -> Cell:
    def invalid() -> DiswotError:
        return DiswotError(
            f"invalid NASLib NAS-Bench-201 encoding {op_indices!r}: expected {len(NASLIB_EDGES)} op indices in "
            f"0..{len(NASLIB_OPS) - 1} ({', '.join(f'{i}={op}' for i, op in enumerate(NASLIB_OPS))})"
        )

    try:
        indices = [operator.index(i) for i in op_indices]
    except TypeError:
        raise invalid() from None
    if len(indices) != len(NASLIB_EDGES) or not all(0 <= i < len(NASLIB_OPS) for i in indices):
        raise invalid()
    ops = {edge: NASLIB_OPS[i] for edge, i in zip(NASLIB_EDGES, indices)}
    return Cell(tuple(ops[edge] for edge in EDGES))


def to_nni(cell: Cell) -> dict[str, str]:
    return {key: NNI_OP_NAMES[op] for key, op in zip(NNI_KEYS, _require_cell(cell).ops)}


def from_nni(arch: Mapping[str, str]) -> Cell:
    """Reads NNI's dict; NB201's own op names are accepted as values too, since they cannot be confused."""
    op_by_name = {**{op: op for op in OPS}, **{nni: op for op, nni in NNI_OP_NAMES.items()}}
    if not isinstance(arch, Mapping) or set(arch) != set(NNI_KEYS) or not all(
            isinstance(value, str) and value in op_by_name for value in arch.values()):
        raise DiswotError(
            f"invalid NNI NAS-Bench-201 dict {arch!r}: expected exactly the keys {', '.join(NNI_KEYS)} "
            f"with values among {', '.join(NNI_OP_NAMES.values())}"
        )
    return Cell(tuple(op_by_name[arch[key]] for key in NNI_KEYS))


def prune_dead_edges(cell: Cell) -> Cell:
    """Sets to `none` every edge whose source never sees the input or whose target never reaches the output."""
    live = [op != "none" for op in cell.ops]
    fed_by_input = {0}
    for (source, target), is_live in zip(EDGES, live):  # EDGES is sorted by target: one pass suffices
        if is_live and source in fed_by_input:
            fed_by_input.add(target)
    feeds_output = {OUTPUT_NODE}
    for (source, target), is_live in reversed(list(zip(EDGES, live))):
        if is_live and target in feeds_output:
            feeds_output.add(source)
    return Cell(tuple(
        op if source in fed_by_input and target in feeds_output else "none"
        for (source, target), op in zip(EDGES, cell.ops)
    ))


def swap_intermediate_nodes(cell: Cell) -> Optional[Cell]:
    """The same cell with nodes 1 and 2 relabelled, or None where edge 1->2 exists (it would point backwards)."""
    op_01, op_02, op_12, op_03, op_13, op_23 = cell.ops
    if op_12 != "none":
        return None
    return Cell((op_02, op_01, op_12, op_03, op_23, op_13))


def canonical_cell(cell: Cell) -> Cell:
    pruned = prune_dead_edges(_require_cell(cell))
    swapped = swap_intermediate_nodes(pruned)
    if swapped is None:
        return pruned
    return max(pruned, swapped, key=lambda c: tuple(OPS.index(op) for op in c.ops))


class ConvBN(nn.Sequential):
    """A bias-free convolution, then BatchNorm."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
        )


class ReLUConvBN(nn.Sequential):
    """NB201's convolution op: ReLU, then a bias-free convolution, then BatchNorm."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        super().__init__(nn.ReLU(), ConvBN(in_channels, out_channels, kernel_size, stride))


def one_edge_neighbours(cell: Cell) -> set[str]:
    """The distinct canonical cells one edge change away from `cell` (what one mutation can reach), without
    `cell` itself: a change on a dead edge leaves the cell as it was."""
    found = set()
    for edge, current in enumerate(_require_cell(cell).ops):
        for op in OPS:
            if op != current:
                ops = list(cell.ops)
                ops[edge] = op
                found.add(format_cell(canonical_cell(Cell(tuple(ops)))))
    return found - {format_cell(canonical_cell(cell))}


def edge_module(op: str, channels: int) -> nn.Module:
    """The module of one edge; a convolution edge's leading ReLU is applied by the cell (see CellBlock)."""
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ConvBN(channels, channels, 1)
    if op == "nor_conv_3x3":
        return ConvBN(channels, channels, 3)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise DiswotError(f"NAS-Bench-201 op {op!r} has no module; ops with one: {', '.join(OPS[1:])}")


class CellBlock(nn.Module):
    """One cell: node j = the sum of op(node i) over the edges i->j that are not `none`; returns node 3.

    `none` edges get no module and no term in the sum, so they cost nothing. A node without any incoming
    edge is zero (only a non-canonical cell reads one, and a cell whose output has no input returns zeros).
    Convolution edges are ReLU-Conv-BN; the ReLU of a node is computed once and shared by all the
    convolution edges leaving it (the same function, fewer passes over memory).
    """

    sources: List[int]
    targets: List[int]
    activated_input: List[bool]

    def __init__(self, cell: Cell, channels: int):
        super().__init__()
        # Keyed by edge ('i_j') so that a weight keeps its name in every cell that has that edge.
        self.edges = nn.ModuleDict()
        self.sources = []
        self.targets = []
        self.activated_input = []
        for (source, target), op in zip(EDGES, cell.ops):
            if op != "none":
                self.edges[f"{source}_{target}"] = edge_module(op, channels)
                self.sources.append(source)
                self.targets.append(target)
                self.activated_input.append(op in ("nor_conv_1x1", "nor_conv_3x3"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: List[Optional[torch.Tensor]] = [x, None, None, None]
        activated: List[Optional[torch.Tensor]] = [None, None, None, None]
        index = 0
        for edge in self.edges.values():
            source_node = self.sources[index]
            source = nodes[source_node]
            if source is None:
                source = torch.zeros_like(x)
                nodes[source_node] = source
            if self.activated_input[index]:
                relu = activated[source_node]
                if relu is None:
                    relu = torch.relu(source)
                    activated[source_node] = relu
                source = relu
            term = edge(source)
            target = self.targets[index]
            partial = nodes[target]
            nodes[target] = term if partial is None else partial + term
            index += 1
        output = nodes[-1]  # the output node
        if output is None:
            return torch.zeros_like(x)
        return output


class ReductionBlock(nn.Module):
    """NB201's ResNet basic block between stages: stride 2, wider, with an avg-pool + 1x1 conv shortcut."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv_a = ReLUConvBN(in_channels, out_channels, 3, stride=2)
        self.conv_b = ReLUConvBN(out_channels, out_channels, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(ClassifierNetwork):
    """NB201's CIFAR macro skeleton: stem, 3 stages of `cells_per_stage` cells (widths C, 2C, 4C) joined by
    reduction blocks, then BatchNorm + ReLU (the features DisWOT reads), global pooling and the classifier."""

    def __init__(self, cell: Cell, num_classes: int, channels: int = 16, cells_per_stage: int = 5):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        layers: list[nn.Module] = []
        width = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ReductionBlock(width, 2 * width))
                width *= 2
            layers.extend(CellBlock(cell, width) for _ in range(cells_per_stage))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU())
        self.classifier = nn.Linear(width, num_classes)

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.lastact(self.cells(self.stem(x)))


@functools.lru_cache(maxsize=16)
def edge_cost_table(num_classes: int, image_size: int) -> tuple[Cost, dict[tuple[int, str], Cost]]:
    """The all-`none` network's cost and what each (edge, op) adds to it.

    Every edge of a cell is its own module with its own input and output shapes, so params and
    multiply-accumulates are additive over edges: measuring 1 + 6 x 4 single-edge networks once gives the
    exact cost of any cell without building it.
    """
    base = cost_without_weights(lambda: TinyNetwork(Cell(("none",) * len(EDGES)), num_classes), image_size)
    extra = {}
    for edge in range(len(EDGES)):
        for op in OPS[1:]:
            ops = ["none"] * len(EDGES)
            ops[edge] = op
            cost = cost_without_weights(lambda: TinyNetwork(Cell(tuple(ops)), num_classes), image_size)
            extra[(edge, op)] = Cost(cost.params - base.params, cost.flops - base.flops)
    return base, extra


class NB201Space(SearchSpace[Cell]):
    name = "nb201"
    description = "NAS-Bench-201 cells (5 ops on 6 edges, 15,625 cells) in the CIFAR TinyNetwork, C=16, N=5"
    analytic_cost = True

    def cost(self, arch: Cell, num_classes: int, image_size: int = 32) -> Cost:
        base, extra = edge_cost_table(num_classes, image_size)
        edges = [extra[(edge, op)] for edge, op in enumerate(_require_cell(arch).ops) if op != "none"]
        return Cost(base.params + sum(e.params for e in edges), base.flops + sum(e.flops for e in edges))

    def parse(self, text: str) -> Cell:
        return parse_cell(text)

    def format(self, arch: Cell) -> str:
        return format_cell(arch)

    def canonical(self, arch: Cell) -> str:
        return format_cell(canonical_cell(arch))

    def sample(self, rng: random.Random) -> Cell:
        return Cell(tuple(rng.choice(OPS) for _ in EDGES))

    def mutate(self, arch: Cell, rng: random.Random) -> Cell:
        ops = list(_require_cell(arch).ops)
        edge = rng.randrange(len(ops))
        ops[edge] = rng.choice([op for op in OPS if op != ops[edge]])
        return Cell(tuple(ops))

    def crossover(self, first: Cell, second: Cell, rng: random.Random) -> tuple[Cell, Cell]:
        pairs = [(a, b) if rng.random() < 0.5 else (b, a)
                 for a, b in zip(_require_cell(first).ops, _require_cell(second).ops)]
        return Cell(tuple(a for a, _ in pairs)), Cell(tuple(b for _, b in pairs))

    def size(self) -> int:
        return len(OPS) ** len(EDGES)

    def enumerate(self) -> Iterator[Cell]:
        for ops in itertools.product(OPS, repeat=len(EDGES)):
            cell = Cell(ops)
            if canonical_cell(cell) == cell:
                yield cell

    def extreme_archs(self) -> tuple[Cell, Cell]:
        # Cost grows with each conv edge, most with a 3x3 one; cells without convs all cost the same as all-`none`.
        return Cell(("none",) * len(EDGES)), Cell(("nor_conv_3x3",) * len(EDGES))

    def build(self, arch: Cell, num_classes: int) -> TinyNetwork:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise DiswotError(f"num_classes must be a positive integer, got {num_classes!r}")
        return TinyNetwork(_require_cell(arch), num_classes)


from search_spaces import SPACES  # noqa: E402  (the package imports this module to register it)

SPACES.add("nb201", NB201Space())
