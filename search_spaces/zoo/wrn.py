"""RepDistiller's CIFAR wide ResNets wrn_DEPTH_K: pre-activation wide basic blocks (Zagoruyko & Komodakis 2016).

Depth 6n+4: n blocks in each of three stages of widths 16k, 32k, 64k at strides 1, 2, 2, after a 16-channel
stem conv and before a final BN-ReLU. No dropout (RepDistiller trains these with a drop rate of 0).
"""

from functools import partial

import torch
from torch import nn

from search_spaces.network import ClassifierNetwork
from search_spaces.zoo import ZOO

STEM_WIDTH = 16
BASE_WIDTHS = (16, 32, 64)
STAGE_STRIDES = (1, 2, 2)


class WideBasicBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3 plus a shortcut.

    Where the block changes shape, the shortcut is a 1x1 conv (no BN) fed the block's pre-activated input;
    otherwise it is the raw input, as in the original WRN code.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.projects = stride != 1 or in_channels != out_channels
        if self.projects:
            self.shortcut: nn.Module = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = torch.relu(self.bn1(x))
        out = self.conv2(torch.relu(self.bn2(self.conv1(activated))))
        return out + self.shortcut(activated if self.projects else x)


class WideResNet(ClassifierNetwork):
    def __init__(self, depth: int, widen_factor: int, num_classes: int):
        super().__init__()
        blocks_per_stage = (depth - 4) // 6
        layers: list[nn.Module] = [nn.Conv2d(3, STEM_WIDTH, 3, padding=1, bias=False)]
        in_channels = STEM_WIDTH
        for base_width, stride in zip(BASE_WIDTHS, STAGE_STRIDES):
            width = base_width * widen_factor
            for index in range(blocks_per_stage):
                layers.append(WideBasicBlock(in_channels, width, stride if index == 0 else 1))
                in_channels = width
        # Pre-activation blocks end on a conv, so the features are read after one more BN-ReLU.
        layers += [nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(in_channels, num_classes)

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


for depth, widen_factor in ((16, 1), (16, 2), (40, 1), (40, 2)):
    ZOO.add(f"wrn_{depth}_{widen_factor}", partial(WideResNet, depth, widen_factor))
