"""MobileNets of inverted residuals (Sandler et al. 2018; Howard et al. 2019) and the `mobilenet` space of them.

`MobileNet` builds any list of inverted-residual blocks (1x1 expansion, kxk depthwise, optional squeeze-excite,
1x1 linear projection; a residual where stride and width are kept) between a 3x3 stride-2 stem and a 1x1 last
conv, with torchvision's module names: `features.0` the stem, `features.N` the blocks, the last conv after them.
Blocks are laid out as torchvision's MobileNetV2 (`features.N.conv.*`) or V3 (`features.N.block.*`). The classifier
is `classifier` here; torchvision's keys for it (`classifier.1.` in V2; `classifier.0.`, `classifier.3.` in V3)
are mapped by `checkpoint_key_renames`, so torchvision checkpoints of mobilenet_v2 and mobilenet_v3_large load.

The `mobilenet` space (once-for-all's kind of space on MobileNetV2's skeleton): the stem and MobileNetV2's first
block (expansion 1, 3x3, 16 channels) are fixed; then six stages of MobileNetV2's widths and strides (24/2, 32/2,
64/2, 96/1, 160/2, 320/1) each choose a depth 1-4, and each block its kernel 3/5/7, expansion 3/4/6 and whether it
has squeeze-excite; one width multiplier scales every width (rounded as torchvision does). Activations are ReLU6.
An architecture is written `wM-STAGE-...-STAGE`, a stage as its blocks joined by '_', a block `kKeE` or `kKeEse`:
mobilenet_v2 is `w1.0-k3e6_k3e6-k3e6_k3e6_k3e6-k3e6_k3e6_k3e6_k3e6-k3e6_k3e6_k3e6-k3e6_k3e6_k3e6-k3e6`.
MobileNetV3-Large is not a point of the space (its expansions include 1, 2.5 and 2.3, its activations hardswish);
`MOBILENET_V3_LARGE_BLOCKS` builds it from the same blocks, as a teacher.
"""

from __future__ import annotations

import random
import re
from typing import Iterator, NamedTuple, Sequence

import torch
from torch import nn

from search_spaces.base import SearchSpace
from search_spaces.errors import DiswotError
from search_spaces.network import ClassifierNetwork, PooledHead

V2_LAYOUT, V3_LAYOUT = "mobilenet_v2", "mobilenet_v3"
# torchvision's BatchNorm epsilon in each (V3 follows the TensorFlow reference's 0.001): a checkpoint's running
# statistics were fitted with it.
V2_NORM_EPS, V3_NORM_EPS = 1e-5, 1e-3


def make_divisible(value: float, divisor: int = 8) -> int:
    """The nearest multiple of `divisor`, at least `divisor`, and not more than 10% below `value` (the rounding of
    channel counts in torchvision's MobileNets, from the TensorFlow reference implementation)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class BlockConfig(NamedTuple):
    in_channels: int
    kernel: int
    hidden: int  # channels after the 1x1 expansion (== in_channels: no expansion conv)
    out_channels: int
    squeeze_excite: bool
    activation: str  # "relu6", "relu" or "hardswish"
    stride: int


ACTIVATIONS = {"relu6": nn.ReLU6, "relu": nn.ReLU, "hardswish": nn.Hardswish}


def conv_bn_act(in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1,
                activation: str | None = "relu6", norm_eps: float = V2_NORM_EPS) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels, eps=norm_eps),
    ]
    if activation is not None:
        layers.append(ACTIVATIONS[activation](inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Channel gates from the pooled map: 1x1 conv down to a quarter (rounded to 8), ReLU, 1x1 conv back, hard
    sigmoid (MobileNetV3's form, module names `fc1`/`fc2` as torchvision's)."""

    def __init__(self, channels: int):
        super().__init__()
        squeezed = make_divisible(channels // 4)
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean(dim=(2, 3), keepdim=True)
        scale = nn.functional.hardsigmoid(self.fc2(torch.relu(self.fc1(scale))))
        return x * scale


def inverted_residual_layers(c: BlockConfig, norm_eps: float) -> list[nn.Module]:
    """Expansion (where hidden differs from the input), depthwise, squeeze-excite (optional), projection."""
    layers: list[nn.Module] = []
    if c.hidden != c.in_channels:
        layers.append(conv_bn_act(c.in_channels, c.hidden, 1, activation=c.activation, norm_eps=norm_eps))
    layers.append(conv_bn_act(c.hidden, c.hidden, c.kernel, c.stride, groups=c.hidden, activation=c.activation,
                              norm_eps=norm_eps))
    if c.squeeze_excite:
        layers.append(SqueezeExcite(c.hidden))
    layers.append(conv_bn_act(c.hidden, c.out_channels, 1, activation=None, norm_eps=norm_eps))
    return layers


class InvertedResidualV2(nn.Module):
    """torchvision MobileNetV2's layout: the layers under `conv`, the projection's conv and BN flattened into it."""

    def __init__(self, config: BlockConfig):
        super().__init__()
        *layers, projection = inverted_residual_layers(config, V2_NORM_EPS)
        self.conv = nn.Sequential(*layers, *projection)
        self.use_residual = config.stride == 1 and config.in_channels == config.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


class InvertedResidualV3(nn.Module):
    """torchvision MobileNetV3's layout: the layers under `block`, the projection as one conv-BN pair."""

    def __init__(self, config: BlockConfig):
        super().__init__()
        self.block = nn.Sequential(*inverted_residual_layers(config, V3_NORM_EPS))
        self.use_residual = config.stride == 1 and config.in_channels == config.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.use_residual else self.block(x)


class MobileNet(ClassifierNetwork):
    """Stem, the given blocks, a 1x1 last conv; then, with `head_width`, V3's Linear + hardswish on the pooled
    vector (so h is that layer's output); then the classifier."""

    def __init__(self, blocks: Sequence[BlockConfig], num_classes: int, *, stem_width: int, last_width: int,
                 layout: str = V2_LAYOUT, stem_activation: str = "relu6", head_width: int | None = None):
        super().__init__()
        eps = V3_NORM_EPS if layout == V3_LAYOUT else V2_NORM_EPS
        block_class = InvertedResidualV3 if layout == V3_LAYOUT else InvertedResidualV2
        layers: list[nn.Module] = [conv_bn_act(3, stem_width, 3, stride=2, activation=stem_activation, norm_eps=eps)]
        layers += [block_class(block) for block in blocks]
        layers.append(conv_bn_act(blocks[-1].out_channels, last_width, 1, activation=stem_activation, norm_eps=eps))
        self.features = nn.Sequential(*layers)
        if head_width is None:
            self.head = nn.Identity()
            self.checkpoint_key_renames = {"classifier.1.": "classifier."}
        else:
            self.head = nn.Sequential(nn.Linear(last_width, head_width), nn.Hardswish(inplace=True))
            self.checkpoint_key_renames = {"classifier.0.": "head.0.", "classifier.3.": "classifier."}
        self.classifier = nn.Linear(head_width or last_width, num_classes)

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    @torch.jit.export
    def pool(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features.mean(dim=(2, 3)))

    def latency_units(self) -> list[nn.Module]:
        """The modules that, run one after another, compute the network: stem, blocks, last conv, pooled head."""
        return [*self.features, PooledHead(self.head, self.classifier)]


class Block(NamedTuple):
    kernel: int
    expansion: int
    squeeze_excite: bool


class MobileNetArch(NamedTuple):
    width_multiplier: float
    stages: tuple[tuple[Block, ...], ...]


STEM_WIDTH, FIRST_BLOCK_WIDTH, LAST_WIDTH = 32, 16, 1280
# MobileNetV2's stages after its first block: (output channels, stride of the first block)
STAGES = ((24, 2), (32, 2), (64, 2), (96, 1), (160, 2), (320, 1))
DEPTHS = (1, 2, 3, 4)
KERNELS = (3, 5, 7)
EXPANSIONS = (3, 4, 6)
WIDTH_MULTIPLIERS = (0.5, 0.75, 1.0, 1.25)
BLOCK_CHOICES = tuple(Block(k, e, se) for k in KERNELS for e in EXPANSIONS for se in (False, True))
BLOCK_PATTERN = re.compile(r"k(\d+)e(\d+)(se)?")
ARCH_FORM = (
    "wM-STAGE-STAGE-STAGE-STAGE-STAGE-STAGE, a stage being 1-4 blocks kKeE (kKeEse with squeeze-excite) joined by "
    "'_', e.g. 'w1.0-k3e6-k5e4_k3e6-k3e6-k7e3se-k3e6-k3e6', or a reference point name"
)


def space_blocks(arch: MobileNetArch) -> list[BlockConfig]:
    """The block list of an architecture of the space, MobileNetV2's fixed first block included."""
    multiplier = arch.width_multiplier
    in_channels = make_divisible(STEM_WIDTH * multiplier)
    first_out = make_divisible(FIRST_BLOCK_WIDTH * multiplier)
    blocks = [BlockConfig(in_channels, 3, in_channels, first_out, False, "relu6", 1)]
    in_channels = first_out
    for (width, stage_stride), stage in zip(STAGES, arch.stages):
        out_channels = make_divisible(width * multiplier)
        for position, block in enumerate(stage):
            stride = stage_stride if position == 0 else 1
            hidden = in_channels * block.expansion
            blocks.append(BlockConfig(in_channels, block.kernel, hidden, out_channels, block.squeeze_excite, "relu6",
                                      stride))
            in_channels = out_channels
    return blocks


def build_space_network(arch: MobileNetArch, num_classes: int) -> MobileNet:
    multiplier = arch.width_multiplier
    return MobileNet(
        space_blocks(arch), num_classes, stem_width=make_divisible(STEM_WIDTH * multiplier),
        # torchvision widens the last conv only for multipliers above 1
        last_width=make_divisible(LAST_WIDTH * max(1.0, multiplier)),
    )


# MobileNetV3-Large (Howard et al. 2019, Table 1): kernel, expanded width, output width, SE, activation, stride.
MOBILENET_V3_LARGE_TABLE = (
    (3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2), (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", 2), (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hardswish", 2), (3, 200, 80, False, "hardswish", 1), (3, 184, 80, False, "hardswish", 1),
    (3, 184, 80, False, "hardswish", 1), (3, 480, 112, True, "hardswish", 1), (3, 672, 112, True, "hardswish", 1),
    (5, 672, 160, True, "hardswish", 2), (5, 960, 160, True, "hardswish", 1), (5, 960, 160, True, "hardswish", 1),
)


def mobilenet_v3_large(num_classes: int) -> MobileNet:
    blocks, in_channels = [], 16
    for kernel, hidden, out_channels, squeeze_excite, activation, stride in MOBILENET_V3_LARGE_TABLE:
        blocks.append(BlockConfig(in_channels, kernel, hidden, out_channels, squeeze_excite, activation, stride))
        in_channels = out_channels
    return MobileNet(blocks, num_classes, stem_width=16, last_width=960, layout=V3_LAYOUT,
                     stem_activation="hardswish", head_width=1280)


REFERENCE_ARCHS = {
    "mobilenet_v2": MobileNetArch(1.0, tuple((Block(3, 6, False),) * depth for depth in (2, 3, 4, 3, 3, 1))),
}


class MobileNetSpace(SearchSpace[MobileNetArch]):
    name = "mobilenet"
    description = (
        "MobileNetV2-style inverted residuals: width 0.5-1.25x; six stages of depth 1-4; per block kernel 3/5/7, "
        "expansion 3/4/6, optional squeeze-excite; mobilenet_v2 is a point of it (224 px)"
    )
    default_image_size = 224

    @property
    def reference_points(self) -> dict[str, str]:
        return {name: self.format(arch) for name, arch in REFERENCE_ARCHS.items()}

    def check(self, arch: MobileNetArch) -> MobileNetArch:
        try:
            multiplier, stages = arch
            stages = tuple(tuple(Block(*block) for block in stage) for stage in stages)
        except (TypeError, ValueError):
            raise DiswotError(f"a {self.name} architecture is (width multiplier, 6 stages of blocks); got {arch!r}") \
                from None
        if multiplier not in WIDTH_MULTIPLIERS:
            raise DiswotError(
                f"width multiplier {multiplier} is not in {self.name}; valid: {_listed(WIDTH_MULTIPLIERS)}"
            )
        if len(stages) != len(STAGES):
            raise DiswotError(f"a {self.name} architecture has {len(STAGES)} stages, got {len(stages)}")
        for number, stage in enumerate(stages, start=1):
            if len(stage) not in DEPTHS:
                raise DiswotError(f"stage {number} has {len(stage)} blocks; valid depths: {_listed(DEPTHS)}")
            for block in stage:
                if block.kernel not in KERNELS:
                    raise DiswotError(f"stage {number} kernel {block.kernel} is not in {self.name}; "
                                      f"valid: {_listed(KERNELS)}")
                if block.expansion not in EXPANSIONS:
                    raise DiswotError(f"stage {number} expansion {block.expansion} is not in {self.name}; "
                                      f"valid: {_listed(EXPANSIONS)}")
        return MobileNetArch(float(multiplier), stages)

    def parse(self, text: str) -> MobileNetArch:
        if not isinstance(text, str):
            raise DiswotError(f"a {self.name} architecture is a string, {ARCH_FORM}; got {text!r}")
        text = text.strip()
        if text in REFERENCE_ARCHS:
            return REFERENCE_ARCHS[text]
        width, *stage_texts = text.split("-")
        try:
            multiplier = float(width[1:]) if width.startswith("w") else None
        except ValueError:
            multiplier = None
        matches = [[BLOCK_PATTERN.fullmatch(block) for block in stage.split("_")] for stage in stage_texts]
        if multiplier is None or len(stage_texts) != len(STAGES) or not all(all(stage) for stage in matches):
            raise DiswotError(f"{text!r} is not a {self.name} architecture: write {ARCH_FORM}")
        stages = tuple(tuple(Block(int(m[1]), int(m[2]), m[3] is not None) for m in stage) for stage in matches)
        return self.check(MobileNetArch(multiplier, stages))

    def format(self, arch: MobileNetArch) -> str:
        arch = self.check(arch)
        stages = ["_".join(f"k{b.kernel}e{b.expansion}" + ("se" if b.squeeze_excite else "") for b in stage)
                  for stage in arch.stages]
        return "-".join([f"w{arch.width_multiplier}", *stages])

    def sample(self, rng: random.Random) -> MobileNetArch:
        return MobileNetArch(
            rng.choice(WIDTH_MULTIPLIERS),
            tuple(tuple(rng.choice(BLOCK_CHOICES) for _ in range(rng.choice(DEPTHS))) for _ in STAGES),
        )

    def mutate(self, arch: MobileNetArch, rng: random.Random) -> MobileNetArch:
        """One change: the width multiplier, one stage's depth (a block dropped, or one copied), or one block."""
        arch = self.check(arch)
        kind = rng.choice(("width", "depth", "block", "block"))
        if kind == "width":
            return arch._replace(width_multiplier=rng.choice([m for m in WIDTH_MULTIPLIERS if m != arch.width_multiplier]))
        stages = [list(stage) for stage in arch.stages]
        stage = stages[rng.randrange(len(stages))]
        if kind == "depth":
            grow = len(stage) == min(DEPTHS) or (len(stage) < max(DEPTHS) and rng.random() < 0.5)
            if grow:
                stage.insert(rng.randrange(len(stage) + 1), rng.choice(stage))
            else:
                stage.pop(rng.randrange(len(stage)))
        else:
            position = rng.randrange(len(stage))
            stage[position] = rng.choice([block for block in BLOCK_CHOICES if block != stage[position]])
        return arch._replace(stages=tuple(tuple(stage) for stage in stages))

    def crossover(self, first: MobileNetArch, second: MobileNetArch,
                  rng: random.Random) -> tuple[MobileNetArch, MobileNetArch]:
        """Uniform crossover of the width multiplier and of whole stages."""
        first, second = self.check(first), self.check(second)
        genes = list(zip((first.width_multiplier, *first.stages), (second.width_multiplier, *second.stages)))
        swaps = [rng.random() < 0.5 for _ in genes]
        child_a = [b if swap else a for (a, b), swap in zip(genes, swaps)]
        child_b = [a if swap else b for (a, b), swap in zip(genes, swaps)]
        return MobileNetArch(child_a[0], tuple(child_a[1:])), MobileNetArch(child_b[0], tuple(child_b[1:]))

    def size(self) -> int:
        per_stage = sum(len(BLOCK_CHOICES) ** depth for depth in DEPTHS)
        return len(WIDTH_MULTIPLIERS) * per_stage ** len(STAGES)

    def enumerate(self) -> Iterator[MobileNetArch]:
        raise DiswotError(f"{self.name} has {self.size():.3g} candidates, too many to enumerate: search it instead")

    def extreme_archs(self) -> tuple[MobileNetArch, MobileNetArch]:
        """Every choice is monotone in params and FLOPs: fewer, smaller and narrower blocks cost less."""
        smallest = Block(min(KERNELS), min(EXPANSIONS), False)
        largest = Block(max(KERNELS), max(EXPANSIONS), True)
        return (
            MobileNetArch(min(WIDTH_MULTIPLIERS), tuple((smallest,) * min(DEPTHS) for _ in STAGES)),
            MobileNetArch(max(WIDTH_MULTIPLIERS), tuple((largest,) * max(DEPTHS) for _ in STAGES)),
        )

    def build(self, arch: MobileNetArch, num_classes: int) -> MobileNet:
        return build_space_network(self.check(arch), num_classes)


def _listed(values: Sequence[object]) -> str:
    return ", ".join(map(str, values))


MOBILENET = MobileNetSpace()

from search_spaces import SPACES  # noqa: E402  (registration)

SPACES.add(MOBILENET.name, MOBILENET)
