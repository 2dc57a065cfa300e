"""NASWOT (`nwot`): how differently the ReLUs of an untrained network split the images of one batch.

Reference: Mellor, Turner, Storkey, Crowley, "Neural Architecture Search without Training", ICML 2021 (the
second version's score, as in NAS-Bench-Suite-Zero). Every ReLU gives each image a binary code, 1 where its
input is positive. With c_i the codes of image i over all ReLUs, K[i, j] = c_i.c_j + (1 - c_i).(1 - c_j), the
number of units where images i and j agree (units minus Hamming distance); the score is log|det K|
(slogdet). Higher is better: a network that separates the images has a better-conditioned K.

ReLUs are caught as torch functions (module or functional, in-place or not), so networks that call
`torch.relu` count as fully as those with `nn.ReLU` modules. The network scored is the canonical cell, whose
every ReLU lies on a path from input to output; NAS-Bench-Suite-Zero's implementation also counts ReLUs on dead
edges (they add a constant to every entry of K). The singular case (two images with identical codes) gives
-inf, the worst score.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from diswot.candidate import CandidateContext
from diswot.network_outputs import batch_statistics_norm
from diswot.proxies import register_proxy
from diswot.proxies.base import Proxy, ProxyValue
from diswot.proxies.batch_splitting import run_with_batch_splitting

RELU_FUNCTIONS = {F.relu, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}


class ReluCodeRecorder(TorchFunctionMode):
    """Records, for every ReLU call in order, which outputs are positive (as bool, to keep memory small)."""

    def __init__(self):
        super().__init__()
        self.codes: list[torch.Tensor] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        if func in RELU_FUNCTIONS:
            self.codes.append((result > 0).reshape(result.shape[0], -1))
        return result


def relu_codes(model: torch.nn.Module, images: torch.Tensor, chunks: list[slice]) -> list[torch.Tensor]:
    """The (B, units) codes of each ReLU call, each chunk of the batch forwarded on its own."""
    per_chunk = []
    with torch.inference_mode(), batch_statistics_norm(model):
        for chunk in chunks:
            with ReluCodeRecorder() as recorder:
                model.forward_features(images[chunk])
            per_chunk.append(recorder.codes)
    return [torch.cat(layer_codes) for layer_codes in zip(*per_chunk)]


def agreement_kernel(codes: list[torch.Tensor]) -> torch.Tensor:
    """K = sum over ReLUs of c c^T + (1 - c)(1 - c)^T, in float64 (entries count up to millions of units)."""
    batch = codes[0].shape[0]
    kernel = torch.zeros(batch, batch, dtype=torch.float64, device=codes[0].device)
    for layer_codes in codes:
        on = layer_codes.float()
        off = 1.0 - on
        kernel += (on @ on.t() + off @ off.t()).double()
    return kernel


def naswot_score(model: torch.nn.Module, images: torch.Tensor) -> float:
    codes = run_with_batch_splitting(lambda chunks: relu_codes(model, images, chunks), images.shape[0])
    if not codes:
        return float("-inf")
    return float(torch.linalg.slogdet(agreement_kernel(codes)).logabsdet)


def _nwot(candidate: CandidateContext) -> ProxyValue:
    return ProxyValue(naswot_score(candidate.network, candidate.images))


register_proxy(
    Proxy(
        name="nwot",
        compute=_nwot,
        direction="max",
        needs_teacher=False,
        needs_labels=False,
        needs_grad=False,
        reference="Mellor et al., Neural Architecture Search without Training, ICML 2021",
        summary="log|det K| of the ReLU-code agreement kernel of the probe batch (NASWOT)",
    )
)
