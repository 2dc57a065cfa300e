"""RepDistiller's CIFAR ResNets: resnet8..110 (depth 6n+2, stem 16, stages 16/32/64) and the 4x-wide pair."""

from functools import partial

from search_spaces.resnet_cifar import CifarResNet
from search_spaces.zoo import ZOO

# n BasicBlocks per stage give 6n+2 weighted layers: two convs per block, plus the stem conv and the classifier.
NARROW_WIDTHS = (16, 32, 64)
NARROW_STEM = 16
# The "x4" models quadruple the stage widths but only double the stem, as RepDistiller builds them.
WIDE_WIDTHS = (64, 128, 256)
WIDE_STEM = 32


def cifar_resnet(depth: int, widths: tuple[int, int, int], stem_width: int, num_classes: int) -> CifarResNet:
    blocks_per_stage = (depth - 2) // 6
    return CifarResNet([(blocks_per_stage, width) for width in widths], num_classes, stem_width=stem_width)


for depth in (8, 14, 20, 32, 44, 56, 110):
    ZOO.add(f"resnet{depth}", partial(cifar_resnet, depth, NARROW_WIDTHS, NARROW_STEM))
for depth in (8, 32):
    ZOO.add(f"resnet{depth}x4", partial(cifar_resnet, depth, WIDE_WIDTHS, WIDE_STEM))
