"""`mobilenetv2`: the CIFAR MobileNetV2 of the KD tables, RepDistiller's `mobile_half`.

CRD's tables call it MobileNetV2; RepDistiller's model_dict maps that name to `mobile_half`, width multiplier 0.5
and expansion 6 (from Jin et al.'s route-constrained-optimisation code). Unlike torchvision's it uses ReLU, keeps
the 1x1 expansion conv in the t=1 block, scales widths by plain truncation (24 * 0.5 = 12 channels, not rounded
to a multiple of 8), and drops the stride of the 24-channel stage, so 32x32 inputs end in 2x2 features.
"""

import torch
from torch import nn

from search_spaces.network import ClassifierNetwork
from search_spaces.zoo import ZOO

WIDTH_MULTIPLIER = 0.5
EXPANSION = 6
STEM_WIDTH = 32
LAST_WIDTH = 1280  # not scaled: RepDistiller scales it only for multipliers above 1
# (expansion, output channels before the multiplier, blocks, stride of the first block) per stage
STAGES = (
    (1, 16, 1, 1),
    (EXPANSION, 24, 2, 1),
    (EXPANSION, 32, 3, 2),
    (EXPANSION, 64, 4, 2),
    (EXPANSION, 96, 3, 1),
    (EXPANSION, 160, 3, 2),
    (EXPANSION, 320, 1, 1),
)


def conv_bn_relu(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class InvertedResidual(nn.Module):
    """1x1 expansion, 3x3 depthwise, 1x1 linear projection; a residual where the shape is kept."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int):
        super().__init__()
        hidden = in_channels * expansion
        self.body = nn.Sequential(
            conv_bn_relu(in_channels, hidden, 1),
            conv_bn_relu(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return x + out if self.residual else out


class CifarMobileNetV2(ClassifierNetwork):
    def __init__(self, num_classes: int):
        super().__init__()
        in_channels = int(STEM_WIDTH * WIDTH_MULTIPLIER)
        layers: list[nn.Module] = [conv_bn_relu(3, in_channels, 3, stride=2)]
        for expansion, base_width, blocks, first_stride in STAGES:
            width = int(base_width * WIDTH_MULTIPLIER)
            for index in range(blocks):
                layers.append(InvertedResidual(in_channels, width, first_stride if index == 0 else 1, expansion))
                in_channels = width
        layers.append(conv_bn_relu(in_channels, LAST_WIDTH, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(LAST_WIDTH, num_classes)

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


ZOO.add("mobilenetv2", CifarMobileNetV2)
