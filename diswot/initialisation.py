"""Weight initialisation schemes for scoring at initialisation, and how a candidate's network is initialised."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from diswot.errors import DiswotError
from diswot.seeding import derive_seed, network_key, seed_cpu_generator, seeded_torch

if TYPE_CHECKING:
    from search_spaces import SearchSpace

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


def build_initialised(
    space: SearchSpace,
    canonical: str,
    num_classes: int,
    *,
    seed: int,
    scheme: str,
    init_index: int = 0,
    shared: bool = False,
) -> nn.Module:
    """A candidate's network as it is scored. By default one seed per student, derived from (seed, space,
    canonical architecture, init index). With `shared`, common random numbers across students: every layer
    is drawn from a seed derived from (seed, init index, layer name, weight shapes), so students that have
    the same layer (an NB201 edge, the stem, the classifier) start it from the same weights and differ only
    where their architectures differ."""
    with seeded_torch(derive_seed(seed, network_key(space.name, canonical, init_index))):
        model = space.build(space.parse(canonical), num_classes)
        if shared:
            draw_layers_by_name(model, seed, scheme, init_index)  # applies `scheme` layer by layer
        else:
            apply_init(model, scheme)
    return model


@torch.no_grad()
def draw_layers_by_name(model: nn.Module, seed: int, scheme: str, init_index: int) -> None:
    """Re-draw each layer that holds weights (PyTorch's `reset_parameters`, then `scheme`) from its own seed."""
    for name, module in model.named_modules():
        weights = list(module.parameters(recurse=False))
        if weights and hasattr(module, "reset_parameters"):
            shapes = ",".join("x".join(str(size) for size in weight.shape) for weight in weights)
            seed_cpu_generator(derive_seed(seed, f"layer:{name}:{shapes}#init{init_index}"))
            module.reset_parameters()
            apply_init(module, scheme)


@torch.no_grad()
def kaiming_normal_fan_in(model: nn.Module, generator: torch.Generator) -> None:
    """He et al.'s normal init for ReLU networks, fan-in mode: conv and linear weights ~ N(0, 2 / fan_in), zero
    biases, BatchNorm gamma 1 and beta 0. The init the AZ-NAS and VKDNW authors score every network with. Draws
    from `generator` (a CPU generator) only, never from torch's global RNG."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            weight = module.weight
            std = (2.0 / weight[0].numel()) ** 0.5  # fan-in: input channels (per group) x kernel size
            weight.copy_(torch.randn(weight.shape, generator=generator, dtype=weight.dtype) * std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
