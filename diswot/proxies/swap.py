"""SWAP (`swap`, `swap_reg`): how many different on/off patterns the ReLU units show across a few images.

Reference: Peng, Song, Fayek, Ciesielski, Chang, "SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast
NAS", ICLR 2024, Sec. 3.2-3.3. Feed S images; every ReLU unit v (one channel at one position of one ReLU
output) has a sample-wise pattern p_v = (1[unit v is positive on image s]) for s = 1..S. The SWAP-Score is the
number of distinct patterns, |{p_v}| (Def. 3.3); the regularised score (Def. 3.4-3.5) multiplies it by
f(Theta) = exp(-(Theta - mu)^2 / sigma), Theta the parameter count. Higher is better for both: a network whose
units split a batch in many different ways is more expressive. On 1,000 NB201 cells (real CIFAR probe batch,
`diswot correlate`), Spearman with test accuracy: swap 0.812 (CIFAR-10) and 0.827 (CIFAR-100), swap_reg 0.922
and 0.909, beside the paper's 0.90 for the regularised score on CIFAR-100 (its abstract).

How this implementation reads the definition, and why:
- S = 16: the first 16 images of the probe batch (the authors' code scores batches of 16; with many more
  images nearly every unit's pattern is unique and the score degenerates into a count of units: on 100 NB201
  cells, CIFAR-100, Spearman 0.797 with 16 images, 0.779 with 64). With 16 images there are at most 2^16
  patterns, which the largest cells approach.
- The units are the outputs of every ReLU of the feature extractor, module or functional (the paper's code
  hooks nn.ReLU modules only, which would miss the functional ReLUs of diswot's NB201 cells and ResNets).
  A unit read by two convolutions counts once, as its pattern is the same.
- The network is scored once, at the candidate's own init; the authors' correlation code averages 32 fresh
  Gaussian inits, which diswot leaves to `--inits` (the mean over inits of any proxy).
- `swap_reg`: Theta in millions of parameters and mu = sigma = 1.5. The values the paper used for its
  NAS-Bench-201 figure could not be read here; 1.5M is the size of the largest NB201 cell (1.53M), so the
  factor grows with size over the whole space (from 0.26 for the smallest cell to 1) and rewards capacity
  without a peak inside it, and mu = sigma is how the paper sets its searches. It suits spaces of students up
  to about 1.5M parameters (NB201, the CIFAR ResNet spaces); `swap` is the form without a size prior.
- A network whose ReLUs never tell two images apart (every pattern constant, as when the output does not
  depend on the input) scores -inf, the worst, like the other proxies here.
"""

from __future__ import annotations

import math

import torch

from diswot.candidate import CandidateContext
from diswot.network_outputs import batch_statistics_norm
from diswot.proxies import register_proxy
from diswot.proxies.base import Proxy, ProxyValue
from diswot.proxies.naswot import ReluCodeRecorder

SAMPLES = 16
BITS_PER_WORD = 62  # below int64's sign bit
REGULARISER_MU = 1.5  # millions of parameters
REGULARISER_SIGMA = 1.5
REFERENCE = "Peng et al., SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS, ICLR 2024"


def distinct_patterns(codes: torch.Tensor) -> int:
    """Distinct columns of a (samples, units) boolean matrix; -1 when every column is constant (all on or all off)."""
    if not bool((codes.any(dim=0) & ~codes.all(dim=0)).any()):
        return -1
    # Each unit's pattern packed into integers, BITS_PER_WORD samples to a word, so that unique() compares numbers.
    words = []
    for start in range(0, codes.shape[0], BITS_PER_WORD):
        word = torch.zeros(codes.shape[1], dtype=torch.long, device=codes.device)
        for bit, row in enumerate(codes[start:start + BITS_PER_WORD]):
            word |= row.long() << bit
        words.append(word)
    if len(words) == 1:
        return len(torch.unique(words[0]))
    return len(torch.unique(torch.stack(words, dim=1), dim=0))


def swap_score(model: torch.nn.Module, images: torch.Tensor) -> float:
    """SWAP-Score of `model` on `images` (all of them: the caller chooses the S samples)."""
    with torch.inference_mode(), batch_statistics_norm(model), ReluCodeRecorder() as recorder:
        model.forward_features(images)
    if not recorder.codes:
        return float("-inf")
    count = distinct_patterns(torch.cat(recorder.codes, dim=1))
    return float("-inf") if count < 0 else float(count)


def size_regulariser(params: int, mu: float = REGULARISER_MU, sigma: float = REGULARISER_SIGMA) -> float:
    """f(Theta) = exp(-(Theta - mu)^2 / sigma), Theta in millions of parameters (the paper's Eq. 5)."""
    return math.exp(-((params / 1e6 - mu) ** 2) / sigma)


def shared_swap_score(candidate: CandidateContext) -> float:
    """One SWAP forward pass per candidate, read by swap and swap_reg."""
    return candidate.shared("swap", lambda: swap_score(candidate.network, candidate.images[:SAMPLES]))


def _swap(candidate: CandidateContext) -> ProxyValue:
    return ProxyValue(shared_swap_score(candidate))


def _swap_reg(candidate: CandidateContext) -> ProxyValue:
    swap = shared_swap_score(candidate)
    factor = size_regulariser(candidate.cost.params)
    return ProxyValue(swap * factor, terms={"swap": swap, "size_factor": factor})


register_proxy(
    Proxy(
        name="swap",
        compute=_swap,
        direction="max",
        needs_teacher=False,
        needs_labels=False,
        needs_grad=False,
        reference=REFERENCE,
        summary=f"number of distinct on/off patterns of the ReLU units over the first {SAMPLES} images (SWAP-Score)",
    )
)
register_proxy(
    Proxy(
        name="swap_reg",
        compute=_swap_reg,
        direction="max",
        needs_teacher=False,
        needs_labels=False,
        needs_grad=False,
        reference=REFERENCE,
        summary=f"SWAP-Score x exp(-(params/1e6 - {REGULARISER_MU})^2 / {REGULARISER_SIGMA}) (regularised SWAP-Score)",
    )
)
