"""ImageNet ResNets (He et al. 2016, torchvision's layout) and the `resnet_imagenet` space of them.

A network is a stem (7x7 conv at stride 2, BN, ReLU, 3x3 max-pool at stride 2) and four stages at strides 1, 2,
2, 2. Each stage chooses its block kind (basic: two kxk convs; bottleneck: 1x1, kxk, 1x1 expanding by `e`, the
stride on the kxk conv as in torchvision's "ResNet v1.5"), its depth, its width (a basic block's output, a
bottleneck's inner width) and the kernel k of its spatial convs. A 1x1 conv + BN shortcut is used wherever a block
changes stride or width. Module names are torchvision's (`conv1`, `bn1`, `layer1.0.conv1`, `layer1.0.downsample.0`,
...) except the classifier, `classifier` here and `fc` there (`checkpoint_key_renames` maps it), so a torchvision
ResNet checkpoint loads into the reference points below.

An architecture is written `STEM-STAGE-STAGE-STAGE-STAGE`, a stage as `basicDxWkK` or `bottleneckDxWeEkK`:
resnet50 is `64-bottleneck3x64e4k3-bottleneck4x128e4k3-bottleneck6x256e4k3-bottleneck3x512e4k3`. The name of a
reference point (`resnet50`) is accepted wherever an architecture is.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from typing import Iterator, NamedTuple, Sequence

import torch
from torch import nn

from search_spaces.base import SearchSpace
from search_spaces.errors import DiswotError
from search_spaces.network import ClassifierNetwork, PooledHead

BASIC, BOTTLENECK = "basic", "bottleneck"
STAGE_STRIDES = (1, 2, 2, 2)
STEM_WIDTHS = (16, 32, 48, 64)
DEPTHS = tuple(range(1, 9))
# torchvision's stage widths 64/128/256/512 times 1/4, 3/8, 1/2, 5/8, 3/4, 1, 5/4 and 3/2.
WIDTH_FACTORS = (0.25, 0.375, 0.5, 0.625, 0.75, 1.0, 1.25, 1.5)
STAGE_WIDTHS = tuple(tuple(int(base * factor) for factor in WIDTH_FACTORS) for base in (64, 128, 256, 512))
EXPANSIONS = (2, 3, 4)
KERNELS = (3, 5, 7)


class Stage(NamedTuple):
    block: str  # BASIC or BOTTLENECK
    depth: int
    width: int
    expansion: int  # 1 for a basic block (it has none)
    kernel: int

    @property
    def out_channels(self) -> int:
        return self.width * self.expansion


class ResNetArch(NamedTuple):
    stem_width: int
    stages: tuple[Stage, ...]


def conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=False)
    return conv, nn.BatchNorm2d(out_channels)


def shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(*conv_bn(in_channels, out_channels, 1, stride))


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, width: int, stride: int, kernel: int):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(in_channels, width, kernel, stride)
        self.conv2, self.bn2 = conv_bn(width, width, kernel)
        self.downsample = shortcut(in_channels, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + identity)


class Bottleneck(nn.Module):
    def __init__(self, in_channels: int, width: int, stride: int, kernel: int, expansion: int):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(in_channels, width, 1)
        self.conv2, self.bn2 = conv_bn(width, width, kernel, stride)
        self.conv3, self.bn3 = conv_bn(width, width * expansion, 1)
        self.downsample = shortcut(in_channels, width * expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + identity)


class ImageNetResNet(ClassifierNetwork):
    # torchvision's name for the classifier -> ours (ClassifierNetwork's scorer reads `classifier`).
    checkpoint_key_renames = {"fc.": "classifier."}

    def __init__(self, arch: ResNetArch, num_classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(3, arch.stem_width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(arch.stem_width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_channels = arch.stem_width
        for index, (stage, stage_stride) in enumerate(zip(arch.stages, STAGE_STRIDES), start=1):
            blocks: list[nn.Module] = []
            for position in range(stage.depth):
                stride = stage_stride if position == 0 else 1
                if stage.block == BASIC:
                    blocks.append(BasicBlock(in_channels, stage.width, stride, stage.kernel))
                else:
                    blocks.append(Bottleneck(in_channels, stage.width, stride, stage.kernel, stage.expansion))
                in_channels = stage.out_channels
            self.add_module(f"layer{index}", nn.Sequential(*blocks))
        self.classifier = nn.Linear(in_channels, num_classes)

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def latency_units(self) -> list[nn.Module]:
        """The modules that, run one after another, compute the network: stem, blocks, pooled classifier."""
        stem = nn.Sequential(self.conv1, self.bn1, self.relu, self.maxpool)
        blocks = [block for layer in (self.layer1, self.layer2, self.layer3, self.layer4) for block in layer]
        return [stem, *blocks, PooledHead(nn.Identity(), self.classifier)]


STAGE_PATTERN = re.compile(r"(basic|bottleneck)(\d+)x(\d+)(?:e(\d+))?k(\d+)")
ARCH_FORM = (
    "STEM-STAGE-STAGE-STAGE-STAGE with a stage written basicDxWkK or bottleneckDxWeEkK, e.g. "
    "'64-basic2x64k3-basic2x128k3-basic2x256k3-basic2x512k3', or a reference point name"
)


def _uniform(block: str, depths: Sequence[int], expansion: int) -> ResNetArch:
    return ResNetArch(
        64, tuple(Stage(block, depth, width, expansion, 3) for depth, width in zip(depths, (64, 128, 256, 512)))
    )


# torchvision's resnet18/34/50 (the depths of He et al.'s Table 1).
REFERENCE_ARCHS = {
    "resnet18": _uniform(BASIC, (2, 2, 2, 2), 1),
    "resnet34": _uniform(BASIC, (3, 4, 6, 3), 1),
    "resnet50": _uniform(BOTTLENECK, (3, 4, 6, 3), 4),
}


class ResNetImageNetSpace(SearchSpace[ResNetArch]):
    name = "resnet_imagenet"
    description = (
        "ImageNet ResNets: stem width 16-64; per stage basic or bottleneck blocks (expansion 2/3/4), depth 1-8, "
        "8 widths (1/4 to 3/2 of torchvision's), kernel 3/5/7; resnet18/34/50 are points of it (224 px)"
    )
    analytic_cost = False
    default_image_size = 224

    @property
    def reference_points(self) -> dict[str, str]:
        return {name: self.format(arch) for name, arch in REFERENCE_ARCHS.items()}

    def stage_choices(self, stage: int) -> list[Stage]:
        basic = [Stage(BASIC, d, w, 1, k) for d, w, k in itertools.product(DEPTHS, STAGE_WIDTHS[stage], KERNELS)]
        bottleneck = [
            Stage(BOTTLENECK, d, w, e, k)
            for d, w, e, k in itertools.product(DEPTHS, STAGE_WIDTHS[stage], EXPANSIONS, KERNELS)
        ]
        return basic + bottleneck

    def check(self, arch: ResNetArch) -> ResNetArch:
        try:
            stem_width, stages = arch
            stages = tuple(Stage(*stage) for stage in stages)
        except (TypeError, ValueError):
            raise DiswotError(f"a {self.name} architecture is (stem width, 4 stages); got {arch!r}") from None
        if stem_width not in STEM_WIDTHS:
            raise DiswotError(f"stem width {stem_width} is not in {self.name}; stem widths: {_listed(STEM_WIDTHS)}")
        if len(stages) != len(STAGE_STRIDES):
            raise DiswotError(f"a {self.name} architecture has {len(STAGE_STRIDES)} stages, got {len(stages)}")
        for number, stage in enumerate(stages, start=1):
            self._check_stage(number, stage)
        return ResNetArch(stem_width, stages)

    def _check_stage(self, number: int, stage: Stage) -> None:
        allowed = {
            "block": (BASIC, BOTTLENECK),
            "depth": DEPTHS,
            "width": STAGE_WIDTHS[number - 1],
            "expansion": (1,) if stage.block == BASIC else EXPANSIONS,
            "kernel": KERNELS,
        }
        for field, valid in allowed.items():
            if getattr(stage, field) not in valid:
                what = f"a {stage.block} block's expansion" if field == "expansion" else field
                raise DiswotError(
                    f"stage {number} {what} {getattr(stage, field)!r} is not in {self.name}; valid: {_listed(valid)}"
                )

    def parse(self, text: str) -> ResNetArch:
        if not isinstance(text, str):
            raise DiswotError(f"a {self.name} architecture is a string, {ARCH_FORM}; got {text!r}")
        text = text.strip()
        if text in REFERENCE_ARCHS:
            return REFERENCE_ARCHS[text]
        stem, *parts = text.split("-")
        matches = [STAGE_PATTERN.fullmatch(part) for part in parts]
        if not stem.isdigit() or len(parts) != len(STAGE_STRIDES) or not all(matches):
            raise DiswotError(f"{text!r} is not a {self.name} architecture: write {ARCH_FORM}")
        stages = []
        for match in matches:
            block, depth, width, expansion, kernel = match.groups()
            if (block == BASIC) != (expansion is None):
                raise DiswotError(f"{match[0]!r}: a bottleneck stage gives its expansion eE, a basic stage none")
            stages.append(Stage(block, int(depth), int(width), int(expansion or 1), int(kernel)))
        return self.check(ResNetArch(int(stem), tuple(stages)))

    def format(self, arch: ResNetArch) -> str:
        arch = self.check(arch)
        stages = [
            f"{s.block}{s.depth}x{s.width}" + (f"e{s.expansion}" if s.block == BOTTLENECK else "") + f"k{s.kernel}"
            for s in arch.stages
        ]
        return "-".join([str(arch.stem_width), *stages])

    def sample(self, rng: random.Random) -> ResNetArch:
        return ResNetArch(rng.choice(STEM_WIDTHS), tuple(rng.choice(self.stage_choices(s)) for s in range(4)))

    def mutate(self, arch: ResNetArch, rng: random.Random) -> ResNetArch:
        """Change one thing: the stem width, or one field (kind, depth, width, expansion, kernel) of one stage."""
        arch = self.check(arch)
        position = rng.randrange(len(arch.stages) + 1)
        if position == len(arch.stages):
            return arch._replace(stem_width=rng.choice([w for w in STEM_WIDTHS if w != arch.stem_width]))
        stage = arch.stages[position]
        neighbours = [
            choice for choice in self.stage_choices(position)
            if sum(a != b for a, b in zip(choice, stage)) == 1
            or (choice.block != stage.block and choice[1:3] + choice[4:] == stage[1:3] + stage[4:])
        ]
        stages = list(arch.stages)
        stages[position] = rng.choice(neighbours)
        return arch._replace(stages=tuple(stages))

    def crossover(self, first: ResNetArch, second: ResNetArch, rng: random.Random) -> tuple[ResNetArch, ResNetArch]:
        """Uniform crossover of the stem and of whole stages."""
        first, second = self.check(first), self.check(second)
        genes = list(zip((first.stem_width, *first.stages), (second.stem_width, *second.stages)))
        swaps = [rng.random() < 0.5 for _ in genes]
        child_a = [b if swap else a for (a, b), swap in zip(genes, swaps)]
        child_b = [a if swap else b for (a, b), swap in zip(genes, swaps)]
        return ResNetArch(child_a[0], tuple(child_a[1:])), ResNetArch(child_b[0], tuple(child_b[1:]))

    def size(self) -> int:
        return len(STEM_WIDTHS) * math.prod(len(self.stage_choices(stage)) for stage in range(4))

    def enumerate(self) -> Iterator[ResNetArch]:
        raise DiswotError(f"{self.name} has {self.size():.3g} candidates, too many to enumerate: search it instead")

    def extreme_archs(self) -> tuple[ResNetArch, ResNetArch]:
        """Within one block kind per stage, fewer/narrower/smaller is cheaper; across kinds it depends on the
        widths (a narrow bottleneck can be cheaper than a basic block), so the 16 kind patterns are compared."""
        candidates = []
        for kinds in itertools.product((BASIC, BOTTLENECK), repeat=4):
            small = ResNetArch(min(STEM_WIDTHS), tuple(
                Stage(kind, min(DEPTHS), min(STAGE_WIDTHS[s]), 1 if kind == BASIC else min(EXPANSIONS), min(KERNELS))
                for s, kind in enumerate(kinds)
            ))
            large = ResNetArch(max(STEM_WIDTHS), tuple(
                Stage(kind, max(DEPTHS), max(STAGE_WIDTHS[s]), 1 if kind == BASIC else max(EXPANSIONS), max(KERNELS))
                for s, kind in enumerate(kinds)
            ))
            candidates += [small, large]
        costs = {arch: self.cost(arch, 1000, self.default_image_size) for arch in candidates}
        return min(costs, key=lambda a: (costs[a].params, costs[a].flops)), max(costs, key=lambda a: costs[a].params)

    def build(self, arch: ResNetArch, num_classes: int) -> ImageNetResNet:
        return ImageNetResNet(self.check(arch), num_classes)


def _listed(values: Sequence[object]) -> str:
    return ", ".join(map(str, values))


RESNET_IMAGENET = ResNetImageNetSpace()

from search_spaces import SPACES  # noqa: E402  (registration)

SPACES.add(RESNET_IMAGENET.name, RESNET_IMAGENET)
