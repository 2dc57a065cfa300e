"""RepDistiller's CIFAR VGGs with BN (vgg8..19): five conv blocks, no fully connected hidden layers.

Each conv is 3x3 (with bias, as RepDistiller keeps it) + BN + ReLU. At 32x32 input the first three blocks are
followed by 2x2 max-pooling and the last two both run at 4x4 (RepDistiller pools after the fourth block only for
64x64 inputs); global average pooling then gives a 512-d vector for one Linear classifier.
"""

from functools import partial

import torch
from torch import nn

from search_spaces.network import ClassifierNetwork
from search_spaces.zoo import ZOO

# Output channels of each conv, block by block; vgg8 is RepDistiller's configuration "S".
BLOCK_WIDTHS = {
    "vgg8": ((64,), (128,), (256,), (512,), (512,)),
    "vgg11": ((64,), (128,), (256, 256), (512, 512), (512, 512)),
    "vgg13": ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),
    "vgg16": ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
    "vgg19": ((64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512), (512, 512, 512, 512)),
}
POOLED_BLOCKS = 3


class CifarVGG(ClassifierNetwork):
    def __init__(self, block_widths: tuple[tuple[int, ...], ...], num_classes: int):
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for block, widths in enumerate(block_widths):
            for width in widths:
                layers += [nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
                in_channels = width
            if block < POOLED_BLOCKS:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(in_channels, num_classes)

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


for name, block_widths in BLOCK_WIDTHS.items():
    ZOO.add(name, partial(CifarVGG, block_widths))
