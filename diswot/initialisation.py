"""Weight initialisation schemes for scoring at initialisation."""

from __future__ import annotations

import torch
from torch import nn

from diswot.errors import DiswotError

INIT_SCHEMES = ("default", "gaussian")


def check_init_scheme(scheme: str) -> str:
    if scheme not in INIT_SCHEMES:
        raise DiswotError(f"unknown init scheme {scheme!r}; valid: {', '.join(INIT_SCHEMES)}")
    return scheme


@torch.no_grad()
def apply_init(model: nn.Module, scheme: str) -> None:
    """`default` keeps PyTorch's own init (drawn when the model was built); `gaussian` is the DisWOT paper's:
    N(0, 1) conv and linear weights, zero biases, BatchNorm gamma 1 and beta 0. Draws from torch's global RNG,
    so call it inside `seeded_torch`."""
    if check_init_scheme(scheme) == "default":
        return
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, 1.0)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
