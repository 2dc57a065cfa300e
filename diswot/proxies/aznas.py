"""AZ-NAS's components (`aznas_expressivity`, `aznas_progressivity`, `aznas_trainability`), from one shared pass.

Reference: Lee & Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search", CVPR 2024. The
network's feature maps X_0 (the stem's output) and X_1..X_L (the output of each block, see network_blocks.py)
on a batch of Gaussian images:
- expressivity: for each X_l, the entropy -sum p log p of the eigenvalues of its channel covariance (over every
  image and position), normalised to sum to 1; s_E = the sum over l. Isotropic features score highest.
- progressivity: s_P = min over l of (entropy of X_l - entropy of X_(l-1)): the worst block at adding
  expressivity.
- trainability: for each block, sigma_l = the spectral norm of its Jacobian dX_l/dX_(l-1), estimated by
  back-propagating a Rademacher tensor v through the block alone: M = mean over positions of
  (J^T v)(v)^T, channels x channels (a downsampling block's input gradient is pixel-unshuffled to the output's
  resolution first); s_T = mean over blocks of (-sigma_l - 1/sigma_l + 2), which peaks at 0 when sigma_l = 1.
- complexity is FLOPs (the `flops` proxy).
Expressivity needs only the forward pass; trainability adds one backward pass through the blocks (input
gradients only). All three read the same pass, run once per candidate and shared.

The paper ranks a set of candidates by the sum of log(rank / N) over the four; that needs the whole set, so it
lives with the other set-relative aggregates (ensemble.py: `aznas`), not here.

As the authors' code does: every network is re-initialised with Kaiming-normal fan-in weights (BatchNorm
gamma 1, beta 0), inputs are standard Gaussian images of the probe batch's shape (no data, no labels),
BatchNorm uses batch statistics. A block that is exactly the identity (an NB201 cell whose only live edge is a
skip connection) makes trainability -inf, as there: its Jacobian would otherwise score the best possible
sigma = 1 for doing nothing. A block whose output does not depend on its input (sigma = 0), a feature map with
no variance, or a cell that does not connect input to output scores -inf. Differences from the authors' code:
none in the definitions; a batch split after running out of memory accumulates the covariances and M over
its chunks (only BatchNorm's statistics, taken per chunk, differ).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from diswot.candidate import CandidateContext
from diswot.initialisation import kaiming_normal_fan_in
from diswot.network_outputs import NetworkOutputs, batch_statistics_norm
from diswot.proxies import register_proxy
from diswot.proxies.base import Proxy, ProxyValue
from diswot.proxies.batch_splitting import run_with_batch_splitting
from diswot.proxies.network_blocks import network_blocks
from diswot.seeding import derive_seed

REFERENCE = "Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR 2024"


def spectral_entropy(eigenvalues: torch.Tensor) -> float:
    """-sum p log p of the eigenvalues normalised to sum to 1 (tiny negative round-off counts as 0); NaN when all
    are 0."""
    values = eigenvalues.double().clamp(min=0)
    total = values.sum()
    if total <= 0:
        return math.nan
    p = values / total
    return float(-torch.special.xlogy(p, p).sum())


@dataclass
class ChannelMoments:
    """Running sums over (image, position) samples of a feature map's channel vectors, for their covariance."""

    count: int = 0
    total: torch.Tensor | None = None
    outer: torch.Tensor | None = None

    def add(self, feature: torch.Tensor) -> None:
        # float32 products (a view of a channels-last map, no copy), summed in float64: BatchNorm keeps the channel
        # means near 0, so the covariance does not come from the difference of two large numbers.
        samples = feature.detach().movedim(1, -1).reshape(-1, feature.shape[1])
        total, outer = samples.sum(0).double(), (samples.t() @ samples).double()
        self.total = total if self.total is None else self.total + total
        self.outer = outer if self.outer is None else self.outer + outer
        self.count += len(samples)

    def covariance(self) -> torch.Tensor:
        mean = self.total / self.count
        return self.outer / self.count - torch.outer(mean, mean)


@dataclass
class BlockJacobian:
    """Running sum of (J^T v)(v)^T over positions for one block, v Rademacher; `identity` while J^T v == v."""

    count: int = 0
    cross: torch.Tensor | None = None
    identity: bool = True

    def add(self, input_gradient: torch.Tensor, output_gradient: torch.Tensor) -> None:
        self.identity = self.identity and input_gradient.shape == output_gradient.shape and bool(
            torch.equal(input_gradient, output_gradient))
        if input_gradient.shape[2:] != output_gradient.shape[2:]:
            stride = input_gradient.shape[2] // output_gradient.shape[2]
            input_gradient = F.pixel_unshuffle(input_gradient, stride)
        rows = input_gradient.movedim(1, -1).reshape(-1, input_gradient.shape[1])
        columns = output_gradient.movedim(1, -1).reshape(-1, output_gradient.shape[1])
        cross = (rows.t() @ columns).double()
        self.cross = cross if self.cross is None else self.cross + cross
        self.count += len(columns)

    def score(self) -> float:
        """-sigma - 1/sigma + 2, sigma the spectral norm of the estimated channel Jacobian; -inf for an identity."""
        if self.identity:
            return -math.inf
        sigma = float(torch.linalg.matrix_norm(self.cross / self.count, ord=2))
        return -math.inf if sigma == 0 else -sigma - 1 / sigma + 2


@dataclass(frozen=True)
class AznasScores:
    expressivity: float
    progressivity: float
    trainability: float
    block_entropies: list[float] = field(default_factory=list)  # X_0..X_L, for tests and diagnosis

    @classmethod
    def worst(cls) -> "AznasScores":
        return cls(-math.inf, -math.inf, -math.inf)


class BlockRecorder:
    """Forward hooks keeping each block's input and output tensors (with their graph) of the latest forward."""

    def __init__(self, blocks: list[nn.Module]):
        self.inputs: list[torch.Tensor | None] = [None] * len(blocks)
        self.outputs: list[torch.Tensor | None] = [None] * len(blocks)
        self.handles = [block.register_forward_hook(self._hook(index)) for index, block in enumerate(blocks)]

    def _hook(self, index: int):
        def keep(_block, inputs, output):
            self.inputs[index], self.outputs[index] = inputs[0], output

        return keep

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def rademacher(shape: torch.Size, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    signs = torch.randint(0, 2, tuple(shape), generator=generator, dtype=like.dtype) * 2 - 1
    return signs.to(like.device)


def aznas_scores(model: nn.Module, images: torch.Tensor, generator: torch.Generator) -> AznasScores:
    """The three AZ-NAS scores of `model` as it is initialised, on `images`; Rademacher draws from `generator`."""
    blocks = network_blocks(model)

    def run(chunks):
        moments = [ChannelMoments() for _ in range(len(blocks) + 1)]
        jacobians = [BlockJacobian() for _ in blocks]
        features = []
        recorder = BlockRecorder(blocks)
        try:
            with batch_statistics_norm(model):
                for chunk in chunks:
                    # the images require grad only so that a block reading them directly has a Jacobian to take
                    features.append(model.forward_features(images[chunk].detach().requires_grad_(True)).detach())
                    moments[0].add(recorder.inputs[0])
                    for index, output in enumerate(recorder.outputs):
                        moments[index + 1].add(output)
                    for index in reversed(range(len(blocks))):
                        block_input, block_output = recorder.inputs[index], recorder.outputs[index]
                        direction = rademacher(block_output.shape, generator, block_output)
                        gradient = None  # stays None where the output does not depend on the input at all
                        if block_output.requires_grad and block_input.requires_grad:
                            (gradient,) = torch.autograd.grad(block_output, block_input, direction,
                                                              retain_graph=True, allow_unused=True)
                        jacobians[index].add(torch.zeros_like(block_input) if gradient is None else gradient,
                                             direction)
        finally:
            recorder.remove()
        return moments, jacobians, torch.cat(features)

    moments, jacobians, features = run_with_batch_splitting(run, len(images))
    with torch.no_grad():
        pooled = features.mean(dim=(2, 3))
        if NetworkOutputs(features, pooled, model.classifier(pooled)).ignores_input():
            return AznasScores.worst()
    entropies = [spectral_entropy(torch.linalg.eigvalsh(m.covariance())) for m in moments]
    trainability = statistics.fmean(j.score() for j in jacobians)
    if any(math.isnan(entropy) for entropy in entropies):  # a feature map without variance carries nothing
        return AznasScores(-math.inf, -math.inf, trainability, entropies)
    progress = min(later - earlier for earlier, later in zip(entropies, entropies[1:]))
    return AznasScores(sum(entropies), progress, trainability, entropies)


def shared_aznas_scores(candidate: CandidateContext) -> AznasScores:
    """One pass per candidate, read by the three proxies: its network under the authors' init, on Gaussian images
    the same for every candidate of a scorer."""

    def compute() -> AznasScores:
        seed = candidate.scorer.seed
        model = candidate.build_network()
        kaiming_normal_fan_in(model, torch.Generator().manual_seed(derive_seed(seed, f"aznas:{candidate.network_key}")))
        draws = torch.Generator().manual_seed(derive_seed(seed, "aznas-inputs"))
        images = torch.empty_like(candidate.images).copy_(torch.randn(candidate.images.shape, generator=draws))
        return aznas_scores(model, images, draws)

    return candidate.shared("aznas", compute)


def _component(name: str, attribute: str, needs_grad: bool, summary: str) -> None:
    register_proxy(
        Proxy(
            name=name,
            compute=lambda candidate: ProxyValue(getattr(shared_aznas_scores(candidate), attribute)),
            direction="max",
            needs_teacher=False,
            needs_labels=False,
            needs_grad=needs_grad,
            reference=REFERENCE,
            summary=summary,
        )
    )


_component("aznas_expressivity", "expressivity", False,
           "sum over the stem and every block of the entropy of its features' channel-covariance spectrum (AZ-NAS)")
_component("aznas_progressivity", "progressivity", False,
           "least increase of that entropy from one block to the next (AZ-NAS)")
_component("aznas_trainability", "trainability", True,
           "mean over blocks of -s - 1/s + 2, s the spectral norm of the block's Jacobian (AZ-NAS, Rademacher estimate)")
