"""The blocks of a network, in order: the units whose feature maps block-wise proxies (AZ-NAS) compare.

A block is a child module of the network's main body that has modules of its own: an NB201 cell or
reduction block, a ResNet BasicBlock, a zoo model's residual or inverted-residual block. The main body is
the nn.Sequential with the most such children (`cells` of an NB201 network, `blocks` of a CIFAR ResNet,
`features` of a zoo model); its single layers (a zoo model's stem convolution, a final BatchNorm or ReLU)
are not blocks. The stem's output is the input of the first block.
"""

from __future__ import annotations

from torch import nn

from diswot.errors import DiswotError


def is_composite(module: nn.Module) -> bool:
    return next(module.children(), None) is not None


def network_blocks(model: nn.Module) -> list[nn.Module]:
    """The blocks of `model` in forward order (see the module docstring); a DiswotError when it has none."""
    bodies = [module for module in model.modules() if isinstance(module, nn.Sequential)]
    best = max(bodies, key=lambda body: sum(map(is_composite, body.children())), default=None)
    blocks = [] if best is None else [child for child in best.children() if is_composite(child)]
    if not blocks:
        raise DiswotError(
            f"{type(model).__name__} has no sequence of blocks (an nn.Sequential whose children hold layers of "
            "their own), which block-wise proxies compare"
        )
    return blocks
