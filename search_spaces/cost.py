"""Parameter and FLOP counts of a built network.

FLOPs are counted as multiply-accumulates of convolutions and linear layers, the convention of
NAS-Bench-201, NASLib and most NAS papers (so NB201 FLOPs agree with the published tables).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn


@dataclass(frozen=True)
class Cost:
    params: int
    flops: int


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, image_size: int = 32, in_channels: int = 3) -> int:
    """Multiply-accumulates of one forward pass on a single image, from shapes seen by forward hooks."""
    total = 0

    def conv_hook(module: nn.Conv2d, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        per_output = (module.in_channels // module.groups) * kh * kw
        total += output[0].numel() * per_output

    def linear_hook(module: nn.Linear, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        total += module.in_features * module.out_features

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            device = next(model.parameters()).device
            model(torch.zeros(1, in_channels, image_size, image_size, device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return total


def measure_cost(model: nn.Module, image_size: int = 32) -> Cost:
    return Cost(params=count_params(model), flops=count_flops(model, image_size))


def cost_without_weights(build: Callable[[], nn.Module], image_size: int = 32) -> Cost:
    """The cost of the network `build()` makes, built on the meta device: shapes without weights. Nothing is drawn
    from torch's global generator (a cost may be computed while another thread builds a seeded network), and
    nothing is allocated, so it is cheap."""
    with torch.device("meta"):  # a thread-local default: other threads keep building on their own devices
        return measure_cost(build(), image_size)
