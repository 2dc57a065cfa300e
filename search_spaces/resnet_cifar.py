"""CIFAR ResNets of BasicBlocks, and the DisWOT spaces of them (depth, optionally width, chosen per stage).

An architecture is one (depth, width) pair per stage, written `DEPTHxWIDTH` per stage joined by '-':
`3x16-3x32-3x64` is resnet20. The network follows RepDistiller's CIFAR ResNet (the convention of the KD
literature): a 3x3 stem, three stages at strides 1, 2, 2, and a 1x1 conv + BN shortcut wherever a block changes
stride or width (He et al.'s option B; their CIFAR table used the parameter-free option A, so our counts are a
little higher: resnet20 has 272,474 parameters at 10 classes against 269,722).
"""

from __future__ import annotations

import itertools
import math
import operator
import random
import re
from typing import Iterator, Sequence

import torch
from torch import nn

from search_spaces.base import SearchSpace
from search_spaces.errors import DiswotError
from search_spaces.network import ClassifierNetwork

Stage = tuple[int, int]  # (number of blocks, output channels)
ResNetArch = tuple[Stage, ...]

STAGE_STRIDES = (1, 2, 2)


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU (post-activation, He et al. 2016)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class CifarResNet(ClassifierNetwork):
    """Stem conv3x3(stem_width)-BN-ReLU, then one stage of BasicBlocks per (depth, width) at strides 1, 2, 2."""

    def __init__(self, stages: Sequence[Stage], num_classes: int, stem_width: int | None = None):
        super().__init__()
        if len(stages) != len(STAGE_STRIDES):
            raise DiswotError(f"a CIFAR ResNet has {len(STAGE_STRIDES)} stages, got {len(stages)}")
        if any(depth < 1 or width < 1 for depth, width in stages):
            raise DiswotError(f"every stage needs a depth and a width of at least 1, got {list(stages)}")
        stem_width = stages[0][1] if stem_width is None else stem_width
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem_width, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_width),
            nn.ReLU(inplace=True),
        )
        blocks: list[nn.Module] = []
        in_channels = stem_width
        for (depth, width), stride in zip(stages, STAGE_STRIDES):
            for index in range(depth):
                blocks.append(BasicBlock(in_channels, width, stride if index == 0 else 1))
                in_channels = width
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Linear(in_channels, num_classes)

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))


ARCH_FORM = "one DEPTHxWIDTH per stage joined by '-', e.g. '3x16-3x32-3x64'"
STAGE_PATTERN = re.compile(r"(\d+)x(\d+)")


class CifarResNetSpace(SearchSpace[ResNetArch]):
    """Three stages, each choosing a depth from `depths` and a width from its own list in `stage_widths`.

    The stem is as wide as the first stage, so the string of (depth, width) pairs fixes the whole network.
    """

    def __init__(self, name: str, description: str, depths: Sequence[int], stage_widths: Sequence[Sequence[int]]):
        self.name = name
        self.description = description
        self.depths = tuple(depths)
        self.stage_widths = tuple(tuple(widths) for widths in stage_widths)

    def stage_choices(self, stage: int) -> list[Stage]:
        return list(itertools.product(self.depths, self.stage_widths[stage]))

    def check(self, arch: Sequence[Sequence[int]]) -> ResNetArch:
        """`arch` as a tuple of (depth, width) pairs, or a DiswotError naming what this space allows."""
        try:
            stages = tuple((operator.index(depth), operator.index(width)) for depth, width in arch)
        except (TypeError, ValueError):
            stages = ()
        if len(stages) != len(self.stage_widths):
            raise DiswotError(
                f"a {self.name} architecture is {len(self.stage_widths)} (depth, width) pairs of ints, got {arch!r}"
            )
        for stage, (depth, width) in enumerate(stages, start=1):
            if depth not in self.depths:
                raise DiswotError(
                    f"stage {stage} depth {depth} is not in {self.name}; depths: {', '.join(map(str, self.depths))}"
                )
            widths = self.stage_widths[stage - 1]
            if width not in widths:
                raise DiswotError(
                    f"stage {stage} width {width} is not in {self.name}; stage {stage} widths: "
                    f"{', '.join(map(str, widths))}"
                )
        return stages

    def parse(self, text: str) -> ResNetArch:
        if not isinstance(text, str):
            raise DiswotError(f"a {self.name} architecture is a string, {ARCH_FORM}; got {text!r}")
        parts = text.strip().split("-")
        matches = [STAGE_PATTERN.fullmatch(part.strip()) for part in parts]
        if len(parts) != len(self.stage_widths) or not all(matches):
            raise DiswotError(f"{text!r} is not a {self.name} architecture: write {ARCH_FORM}")
        return self.check([(int(match[1]), int(match[2])) for match in matches])

    def format(self, arch: ResNetArch) -> str:
        return "-".join(f"{depth}x{width}" for depth, width in self.check(arch))

    def sample(self, rng: random.Random) -> ResNetArch:
        return tuple(rng.choice(self.stage_choices(stage)) for stage in range(len(self.stage_widths)))

    def mutate(self, arch: ResNetArch, rng: random.Random) -> ResNetArch:
        """Give one stage a different (depth, width) choice."""
        stages = list(self.check(arch))
        stage = rng.randrange(len(stages))
        stages[stage] = rng.choice([choice for choice in self.stage_choices(stage) if choice != stages[stage]])
        return tuple(stages)

    def crossover(self, first: ResNetArch, second: ResNetArch, rng: random.Random) -> tuple[ResNetArch, ResNetArch]:
        """Uniform crossover of whole stages: each stage of the first child comes from either parent."""
        pairs = list(zip(self.check(first), self.check(second)))
        swaps = [rng.random() < 0.5 for _ in pairs]
        child_a = tuple(b if swap else a for (a, b), swap in zip(pairs, swaps))
        child_b = tuple(a if swap else b for (a, b), swap in zip(pairs, swaps))
        return child_a, child_b

    def size(self) -> int:
        return math.prod(len(self.stage_choices(stage)) for stage in range(len(self.stage_widths)))

    def enumerate(self) -> Iterator[ResNetArch]:
        return itertools.product(*(self.stage_choices(stage) for stage in range(len(self.stage_widths))))

    def extreme_archs(self) -> tuple[ResNetArch, ResNetArch]:
        smallest = tuple((min(self.depths), min(widths)) for widths in self.stage_widths)
        largest = tuple((max(self.depths), max(widths)) for widths in self.stage_widths)
        return smallest, largest

    def build(self, arch: ResNetArch, num_classes: int) -> CifarResNet:
        return CifarResNet(self.check(arch), num_classes)


DISWOT_DEPTHS = (1, 3, 5, 7)

RESNET_CIFAR = CifarResNetSpace(
    "resnet_cifar",
    "DisWOT's S1: CIFAR ResNets at widths 16/32/64 with 1, 3, 5 or 7 BasicBlocks per stage (64 students; "
    "3x16-3x32-3x64 is resnet20)",
    DISWOT_DEPTHS,
    ((16,), (32,), (64,)),
)

# Each stage may be 1/2, 1, 3/2 or 2 times as wide as resnet20's, so a search can trade depth for width: students
# run from 1x8-1x16-1x32 (23k parameters at 100 classes) to 7x32-7x64-7x128 (2.65M, a little above
# wrn_40_2's 2.26M), against 84k-667k in S1.
RESNET_CIFAR_WIDE = CifarResNetSpace(
    "resnet_cifar_wide",
    "S1 with a width per stage too: depths 1/3/5/7, widths 8/16/24/32, 16/32/48/64, 32/64/96/128 "
    "(4,096 students)",
    DISWOT_DEPTHS,
    ((8, 16, 24, 32), (16, 32, 48, 64), (32, 64, 96, 128)),
)

from search_spaces import SPACES  # noqa: E402  (registration)

SPACES.add(RESNET_CIFAR.name, RESNET_CIFAR)
SPACES.add(RESNET_CIFAR_WIDE.name, RESNET_CIFAR_WIDE)
