"""Zen-score (`zen`): the expressivity of a Gaussian-initialised network, from a small input perturbation.

Reference: Lin, Wang, Sun, Chen, Sun, Qian, Li, Jin, "Zen-NAS: A Zero-Shot NAS for High-Performance Image
Recognition", ICCV 2021. The network is re-initialised with N(0, 1) conv and linear weights (BatchNorm
gamma 1, beta 0); x and eps are standard Gaussian images of the probe batch's shape (the score uses no data
and no labels), alpha = 0.01. With f the pre-pooling features,
    zen = log(mean over images of sum |f(x) - f(x + alpha eps)|) + sum over BatchNorm layers of log(sigma_i),
sigma_i = sqrt(mean over channels of the batch variance that BN layer i normalises by, on x). Higher is better.
The image-level distance is the L1 sum of the official code (the paper writes a Frobenius norm). sigma_i is
the paper's batch statistic; the official code reads BatchNorm's running variance after two momentum-0.1
updates instead, which blends in the initial value 1 and so weighs layers differently.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from diswot.candidate import CandidateContext
from diswot.initialisation import apply_init
from diswot.network_outputs import batch_statistics_norm
from diswot.proxies import register_proxy
from diswot.proxies.base import Proxy, ProxyValue
from diswot.proxies.batch_splitting import run_with_batch_splitting
from diswot.seeding import derive_seed, seeded_torch

PERTURBATION_SCALE = 0.01


def gaussian_pair(shape: torch.Size, seed: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """x and eps, the same for every candidate of a scorer."""
    generator = torch.Generator().manual_seed(derive_seed(seed, "zen-inputs"))
    x, eps = torch.randn((2, *shape), generator=generator).to(device)
    return x, eps


def zen_score(model: nn.Module, x: torch.Tensor, eps: torch.Tensor) -> float:
    """Zen-score of `model` as it is initialised (the caller applies the Gaussian init)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def run(chunks):
        variance_sums = {norm: 0.0 for norm in norms}
        recording = True

        def record_variance(norm, inputs, _output):
            if recording:
                channels_first = inputs[0].transpose(0, 1).flatten(1)
                variance_sums[norm] += float(channels_first.var(dim=1, unbiased=False).mean()) * len(inputs[0])

        handles = [norm.register_forward_hook(record_variance) for norm in norms]
        distance = 0.0
        try:
            with torch.inference_mode(), batch_statistics_norm(model):
                for chunk in chunks:
                    recording = True
                    clean = model.forward_features(x[chunk])
                    recording = False
                    perturbed = model.forward_features(x[chunk] + PERTURBATION_SCALE * eps[chunk])
                    distance += float((clean - perturbed).abs().flatten(1).sum(1).sum())
        finally:
            for handle in handles:
                handle.remove()
        # A signal that dies somewhere (a cell that does not connect input to output) has no expressivity at all.
        if distance == 0.0 or any(total == 0.0 for total in variance_sums.values()):
            return float("-inf")
        batch = len(x)
        log_sigmas = sum(0.5 * math.log(total / batch) for total in variance_sums.values())
        return math.log(distance / batch) + log_sigmas

    return run_with_batch_splitting(run, len(x))


def _zen(candidate: CandidateContext) -> ProxyValue:
    model = candidate.build_network()
    with seeded_torch(derive_seed(candidate.scorer.seed, f"zen:{candidate.network_key}")):
        apply_init(model, "gaussian")
    x, eps = gaussian_pair(candidate.images.shape, candidate.scorer.seed, candidate.images.device)
    return ProxyValue(zen_score(model, x, eps))


register_proxy(
    Proxy(
        name="zen",
        compute=_zen,
        direction="max",
        needs_teacher=False,
        needs_labels=False,
        needs_grad=False,
        reference="Lin et al., Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition, ICCV 2021",
        summary="log E|f(x) - f(x + 0.01 eps)|_1 + sum log sigma_BN of the Gaussian-initialised network (data-free)",
    )
)
