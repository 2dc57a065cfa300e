"""VKDNW (`vkdnw`, `vkdnw_entropy`): how evenly a network's Fisher information spreads over its weights.

Reference: Tybl & Neumann, "Training-free Neural Architecture Search through Variance of Knowledge of Deep
Network Weights", CVPR 2025. The Fisher information of the weights theta of a classifier with class
probabilities p(c | x), labels drawn from the network itself (so no labels are needed):
    F = 1/N sum over images n of sum over classes c of p(c | x_n) g_nc g_nc^T,   g_nc = d log p(c | x_n) / d theta,
taken over a representative subset of the weights: the first element of each of the first 128 parameter
tensors in registration order (every conv, BatchNorm and linear layer contributes its first weight, and its
first bias where it has one). With lambda_1..lambda_9 the deciles of F's eigenvalues (the 10%..90% quantiles,
which drop the extreme ends of the spectrum) normalised to sum to 1,
    VKDNW = -sum_k lambda_k log lambda_k          (`vkdnw_entropy`, at most log 9; higher: more even)
and the paper's single-proxy ranking, VKDNW_single = aleph + VKDNW, aleph the number of trainable layers,
counted as the authors' code does: parameter tensors (`vkdnw`). In NB201 every convolution brings three
(conv weight, BatchNorm gamma and beta), so aleph orders networks by their number of convolutions and the
entropy orders those with the same number. The paper's best figure, VKDNW_agg (Spearman 0.919 on NB201
CIFAR-10 and CIFAR-100, its Table 1), aggregates the ranks of `vkdnw`, `jacob_cov`, `aznas_expressivity`,
`aznas_trainability` and `flops` over a set: see `vkdnw_agg` in ensemble.py.

How it is computed. Per-image gradients need each image's output to depend on that image alone, so BatchNorm
normalises with the batch statistics of the images the Fisher is taken over, then held fixed (the outputs of
a batch-statistics forward pass, without the coupling of images through those statistics). A forward hook adds
to output channel 0 of each selected layer a zero scalar s per image times what the tensor's first element
multiplies there (a convolution's first weight meets input channel 0 at kernel offset (0, 0)): d output / d s
is then each image's own gradient with respect to that element, and one forward pass plus one backward pass
batched over the classes (no weight gradients) give them all. F = G^T G / N with G's rows
sqrt(p_c) (e_c - p)^T J_n, which sum to F exactly: a factorisation of the class covariance diag(p) - p p^T,
as the paper factorises it for numerical stability.

As in the authors' code: the network is re-initialised with Kaiming-normal fan-in weights, and the images are
standard Gaussian (the paper reports random inputs rank as well as real ones). Differences: each image costs a
backward pass per class, so the Fisher is taken over ceil(256 / classes) images (3 for CIFAR-100, 26 for
CIFAR-10: a few hundred gradients for a 128 x 128 matrix) where the paper takes 64 on a GPU, which keeps it
near 1 s per NB201 cell on one CPU thread; the paper reports its ranking robust to the batch size. Measured on
random NB201 cells, the entropy ranks them as it does with more images at Spearman 0.89 (3 against 12 images,
CIFAR-100, 16 cells; 6 images give 0.99) and 0.85 (26 against 64 images, CIFAR-10, 12 cells). The authors'
code smooths p towards uniform (p (1 - 0.05) + 0.05 / K) before factorising, which the factorisation here does
not need, and evaluates one image at a time (a vmap), so its BatchNorm does not use the batch's statistics.
A cell that does not connect input to output scores -inf, like every proxy that reads features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from diswot.candidate import CandidateContext
from diswot.errors import DiswotError
from diswot.initialisation import kaiming_normal_fan_in
from diswot.network_outputs import NetworkOutputs, batch_statistics_norm, forward_outputs
from diswot.proxies import register_proxy
from diswot.proxies.base import Proxy, ProxyValue
from diswot.proxies.batch_splitting import run_with_batch_splitting
from diswot.seeding import derive_seed

REFERENCE = ("Tybl & Neumann, Training-free Neural Architecture Search through Variance of Knowledge of Deep "
             "Network Weights, CVPR 2025")
FISHER_TENSORS = 128  # the paper's Fisher dimension: one weight from each of this many parameter tensors
GRADIENTS_PER_FISHER = 256  # images x classes, the number of gradient vectors summed into F
DECILE_LEVELS = tuple(k / 10 for k in range(1, 10))
FIRST_ELEMENT_LAYERS = (nn.Conv2d, nn.Linear, nn.modules.batchnorm._BatchNorm)


def fisher_coordinates(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """(layer, 'weight' or 'bias') for the first FISHER_TENSORS parameter tensors, in registration order."""
    owners = {id(parameter): (module, name) for module in model.modules()
              for name, parameter in module.named_parameters(recurse=False)}
    coordinates = [owners[id(parameter)] for parameter in list(model.parameters())[:FISHER_TENSORS]]
    for module, _ in coordinates:
        if not isinstance(module, FIRST_ELEMENT_LAYERS) or (isinstance(module, nn.Conv2d) and (
                isinstance(module.padding, str) or module.padding_mode != "zeros")):
            raise DiswotError(f"vkdnw reads the weights of convolutions (zero padding), linear and BatchNorm layers; "
                              f"this network has parameters in a {type(module).__name__}")
    return coordinates


def decile_entropy(eigenvalues: torch.Tensor) -> float:
    """-sum l log l over the 9 deciles of the eigenvalues, normalised to sum to 1; -inf when they are all 0."""
    values = eigenvalues.double().clamp(min=0)  # a PSD matrix's round-off can dip below 0
    deciles = torch.quantile(values, torch.tensor(DECILE_LEVELS, dtype=values.dtype, device=values.device))
    total = deciles.sum()
    if total <= 0:
        return -math.inf
    normalised = deciles / total
    return float(-torch.special.xlogy(normalised, normalised).sum())


@torch.no_grad()
def freeze_batch_statistics(model: nn.Module, images: torch.Tensor) -> list[NetworkOutputs]:
    """Sets every BatchNorm of `model` (a private copy) to normalise with `images`' batch statistics from now on,
    in eval mode, and returns the outputs of that batch-statistics forward pass (one per chunk of the batch)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def run(chunks):
        sums = {norm: [0.0, 0.0, 0] for norm in norms}  # sum, sum of squares, count per channel

        def record(norm, inputs):
            channels_first = inputs[0].transpose(0, 1).reshape(inputs[0].shape[1], -1).double()
            totals = sums[norm]
            totals[0] = totals[0] + channels_first.sum(1)
            totals[1] = totals[1] + channels_first.pow(2).sum(1)
            totals[2] += channels_first.shape[1]

        handles = [norm.register_forward_pre_hook(record) for norm in norms]
        try:
            with batch_statistics_norm(model):
                outputs = [forward_outputs(model, images[chunk]) for chunk in chunks]
        finally:
            for handle in handles:
                handle.remove()
        return sums, outputs

    sums, outputs = run_with_batch_splitting(run, len(images))
    for norm, (total, squares, count) in sums.items():
        if count == 0:  # a BatchNorm that the forward pass never reaches keeps what it had
            continue
        mean = total / count
        # Assigned, not copied into: a BatchNorm built without running statistics has none to copy into.
        norm.running_mean = mean.to(images.dtype)
        norm.running_var = (squares / count - mean * mean).to(images.dtype)  # the biased variance BN divides by
        norm.track_running_stats = True
    model.eval()
    return outputs


class FirstElementPerturbation:
    """Forward hooks that add, per image, s_t times what the first element of tensor t multiplies to output
    channel 0 of its layer. With s = 0 the outputs are unchanged, and d(output of image n)/d s_t[n] is that
    image's own gradient with respect to the first element (images must not interact: fixed BatchNorm
    statistics), for every image and tensor from one backward pass with no weight gradients at all."""

    def __init__(self, coordinates: list[tuple[nn.Module, str]], images: int, device: torch.device):
        self.coordinates = coordinates
        self.scalars = [torch.zeros(images, device=device, requires_grad=True) for _ in coordinates]
        self.by_layer: dict[nn.Module, list[tuple[str, torch.Tensor]]] = {}
        for (layer, name), scalar in zip(coordinates, self.scalars):
            self.by_layer.setdefault(layer, []).append((name, scalar))
        self.handles = [layer.register_forward_hook(self._perturb) for layer in self.by_layer]

    def _perturb(self, layer, inputs, output):
        first_weight_input = first_weight_input_of(layer, inputs[0].detach(), output.shape)
        extra = 0
        for name, scalar in self.by_layer[layer]:
            per_image = scalar.view(-1, *[1] * (output.dim() - 2))
            extra = extra + (per_image if name == "bias" else per_image * first_weight_input)
        # into output channel (or feature) 0 only, where the first element acts
        return output + F.pad(extra.expand(output[:, 0].shape).unsqueeze(1),
                              (0, 0) * (output.dim() - 2) + (0, output.shape[1] - 1))

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def first_weight_input_of(layer: nn.Module, inputs: torch.Tensor, output_shape: torch.Size) -> torch.Tensor:
    """What the first weight of `layer` multiplies to give output channel 0, per image and output position."""
    if isinstance(layer, nn.Conv2d):  # weight[0, 0, 0, 0]: input channel 0 at kernel offset (0, 0)
        (pad_h, pad_w), (stride_h, stride_w) = layer.padding, layer.stride
        padded = F.pad(inputs[:, 0], (pad_w, pad_w, pad_h, pad_h))
        height, width = output_shape[2:]
        return padded[:, : stride_h * (height - 1) + 1: stride_h, : stride_w * (width - 1) + 1: stride_w]
    if isinstance(layer, nn.Linear):
        return inputs[..., 0]
    # BatchNorm in eval mode with fixed statistics: gamma_0 multiplies the normalised channel 0
    return (inputs[:, 0] - layer.running_mean[0]) / torch.sqrt(layer.running_var[0] + layer.eps)


def fisher_matrix(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """F over the first elements of `fisher_coordinates(model)`, float64, from `images` (BatchNorm statistics
    already frozen), labels drawn from the network's own class probabilities."""
    coordinates = fisher_coordinates(model)
    for parameter in model.parameters():
        parameter.requires_grad_(False)  # only the gradients of the perturbation scalars are needed
    perturbation = FirstElementPerturbation(coordinates, len(images), images.device)
    try:
        logits = model(images)
    finally:
        perturbation.remove()
    probabilities = torch.softmax(logits.detach().double(), dim=1)
    images_count, classes = probabilities.shape
    # Class c's cotangent for image n is row c of the factor of diag(p) - p p^T: sqrt(p_c) (e_c - p).
    identity = torch.eye(classes, dtype=probabilities.dtype, device=probabilities.device)
    factor_rows = probabilities.sqrt().unsqueeze(2) * (identity - probabilities.unsqueeze(1))  # (n, c, classes)
    cotangents = factor_rows.transpose(0, 1).to(logits.dtype)  # (c, n, classes): batched over classes

    def run(chunks):
        rows = []
        for chunk in chunks:
            gradients = torch.autograd.grad(logits, perturbation.scalars, cotangents[chunk], retain_graph=True,
                                            is_grads_batched=True, allow_unused=True)
            shape = cotangents[chunk].shape[:2]
            rows.append(torch.stack([torch.zeros(shape, device=images.device) if g is None else g
                                     for g in gradients], dim=2).reshape(-1, len(coordinates)))
        return torch.cat(rows).double()

    gradients = run_with_batch_splitting(run, classes)  # (classes x images, tensors)
    return gradients.t() @ gradients / images_count


@dataclass(frozen=True)
class VkdnwResult:
    entropy: float  # VKDNW: the entropy of the Fisher spectrum's deciles
    layers: int  # aleph: parameter tensors

    @property
    def single(self) -> float:
        return self.layers + self.entropy


def vkdnw_of(model: nn.Module, images: torch.Tensor, num_classes: int) -> VkdnwResult:
    """VKDNW of `model` (a private copy, which this takes over) on the first ceil(GRADIENTS_PER_FISHER / classes)
    of `images`, which also set BatchNorm's (then frozen) statistics."""
    layers = len(list(model.parameters()))
    images = images[: min(len(images), math.ceil(GRADIENTS_PER_FISHER / num_classes))]
    outputs = freeze_batch_statistics(model, images)
    features = torch.cat([o.features for o in outputs])
    if NetworkOutputs(features, features.mean(dim=(2, 3)), torch.cat([o.logits for o in outputs])).ignores_input():
        return VkdnwResult(-math.inf, layers)
    return VkdnwResult(decile_entropy(torch.linalg.eigvalsh(fisher_matrix(model, images))), layers)


def shared_vkdnw(candidate: CandidateContext) -> VkdnwResult:
    """One Fisher per candidate, read by `vkdnw` and `vkdnw_entropy`."""

    def compute() -> VkdnwResult:
        seed = candidate.scorer.seed
        model = candidate.build_network()
        kaiming_normal_fan_in(model, torch.Generator().manual_seed(derive_seed(seed, f"vkdnw:{candidate.network_key}")))
        draws = torch.Generator().manual_seed(derive_seed(seed, "vkdnw-inputs"))
        images = torch.empty_like(candidate.images).copy_(torch.randn(candidate.images.shape, generator=draws))
        return vkdnw_of(model, images, candidate.scorer.num_classes)

    return candidate.shared("vkdnw", compute)


def _vkdnw(candidate: CandidateContext) -> ProxyValue:
    result = shared_vkdnw(candidate)
    return ProxyValue(result.single, {"vkdnw_layers": float(result.layers), "vkdnw_decile_entropy": result.entropy})


def _vkdnw_entropy(candidate: CandidateContext) -> ProxyValue:
    return ProxyValue(shared_vkdnw(candidate).entropy)


for _name, _compute, _summary in (
    ("vkdnw", _vkdnw, "VKDNW_single: parameter tensors + entropy of the deciles of the Fisher information spectrum"),
    ("vkdnw_entropy", _vkdnw_entropy, "entropy of the deciles of the Fisher spectrum of 128 first weights (VKDNW "
                                      "without its size term)"),
):
    register_proxy(Proxy(name=_name, compute=_compute, direction="max", needs_teacher=False, needs_labels=False,
                         needs_grad=True, reference=REFERENCE, summary=_summary))
