"""The layers whose weights the pruning-at-initialisation proxies measure: convolutions and linear layers."""

from __future__ import annotations

from torch import nn


def weight_layers(model: nn.Module) -> list[nn.Conv2d | nn.Linear]:
    """Conv2d and Linear modules in registration order (the zero-cost literature's `get_layer_metric_array`)."""
    return [module for module in model.modules() if isinstance(module, (nn.Conv2d, nn.Linear))]
