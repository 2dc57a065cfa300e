"""Pruning-at-initialisation saliencies summed over a network: `snip`, `grad_norm`, `fisher`, `grasp`.

Reference for all four as NAS proxies: Abdelfattah, Mehrotra, Dudziak, Lane, "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021, whose definitions NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022
Datasets and Benchmarks) reuses. Each is computed on a private copy of the candidate with batch-statistics
BatchNorm, from the mean cross-entropy of the probe batch, over the weights of every conv and linear layer.
Higher is better for every one of them (GraSP's sign is flipped, as the reference does, so that it is).

snip, grad_norm and fisher read the same forward and backward pass, which is run once per candidate and
shared. When the batch is split after running out of memory, each chunk's loss is weighted by its share of
the batch, so the gradients are those of the whole batch (the reference sums per-chunk means instead, which
multiplies these scores by the number of chunks, and its GraSP keeps only the last chunk's gradient).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from diswot.candidate import CandidateContext
from diswot.network_outputs import batch_statistics_norm
from diswot.proxies import register_proxy
from diswot.proxies.base import Proxy, ProxyValue
from diswot.proxies.batch_splitting import run_with_batch_splitting
from diswot.proxies.weight_layers import weight_layers

REFERENCE = "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021"


def chunk_loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, chunk: slice) -> torch.Tensor:
    """This chunk's share of the whole batch's mean cross-entropy (so chunk losses sum to the batch's)."""
    logits = model(images[chunk])
    return F.cross_entropy(logits, labels[chunk], reduction="sum") / len(labels)


@dataclass(frozen=True)
class LayerGradient:
    weight: torch.Tensor
    gradient: torch.Tensor  # d(mean cross-entropy)/d(weight); zeros where the layer does not reach the loss
    fisher: torch.Tensor  # per output channel: 0.5 * mean over images of (sum over positions of a * dL/da)^2


class FisherRecorder:
    """Hooks on each layer's output a: accumulates sum over images of (sum over positions of a * dL/da)^2."""

    def __init__(self, layers: list[nn.Module]):
        self.sums = {layer: torch.zeros(layer.weight.shape[0], device=layer.weight.device) for layer in layers}
        self.handles = [layer.register_forward_hook(self._watch) for layer in layers]

    def _watch(self, layer, _inputs, output):
        # The hook must not hold `output` itself: a tensor reachable from its own hook is a reference cycle
        # through autograd that Python's collector cannot see, and would keep every activation alive.
        activation = output.detach()

        def accumulate(gradient):
            per_image = activation * gradient
            if per_image.dim() > 2:
                per_image = per_image.flatten(2).sum(2)
            self.sums[layer] += per_image.pow(2).sum(0)

        output.register_hook(accumulate)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def loss_gradients(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> list[LayerGradient]:
    layers = weight_layers(model)

    def run(chunks):
        model.zero_grad(set_to_none=True)
        recorder = FisherRecorder(layers)
        try:
            with batch_statistics_norm(model):
                for chunk in chunks:
                    chunk_loss(model, images, labels, chunk).backward()
        finally:
            recorder.remove()
        return [
            LayerGradient(
                layer.weight.detach(),
                torch.zeros_like(layer.weight) if layer.weight.grad is None else layer.weight.grad.detach(),
                0.5 * recorder.sums[layer] / len(labels),
            )
            for layer in layers
        ]

    return run_with_batch_splitting(run, len(labels))


def shared_loss_gradients(candidate: CandidateContext) -> list[LayerGradient]:
    """One forward and backward pass per candidate, read by snip, grad_norm and fisher."""
    return candidate.shared(
        "loss_gradients", lambda: loss_gradients(candidate.build_network(), candidate.images, candidate.labels))


def _snip(candidate: CandidateContext) -> ProxyValue:
    layers = shared_loss_gradients(candidate)
    return ProxyValue(float(sum((layer.weight * layer.gradient).abs().sum() for layer in layers)))


def _grad_norm(candidate: CandidateContext) -> ProxyValue:
    return ProxyValue(float(sum(layer.gradient.norm() for layer in shared_loss_gradients(candidate))))


def _fisher(candidate: CandidateContext) -> ProxyValue:
    # The reference broadcasts each channel's value to every weight of that channel before summing, so a
    # channel counts once per weight it owns (fan-in x kernel size); kept, so the scores are the same quantity.
    layers = shared_loss_gradients(candidate)
    return ProxyValue(float(sum(layer.fisher.sum() * layer.weight[0].numel() for layer in layers)))


def grasp_score(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """sum over weights of -w * (H g): H the Hessian of the loss, g its gradient (Wang et al., ICLR 2020, T=1)."""
    weights = [layer.weight for layer in weight_layers(model)]

    def gradients(loss, **options):
        found = torch.autograd.grad(loss, weights, allow_unused=True, **options)
        return [torch.zeros_like(w) if g is None else g for w, g in zip(weights, found)]

    def run(chunks):
        with batch_statistics_norm(model):
            gradient = [torch.zeros_like(w) for w in weights]
            for chunk in chunks:
                for total, part in zip(gradient, gradients(chunk_loss(model, images, labels, chunk))):
                    total += part
            hessian_gradient = [torch.zeros_like(w) for w in weights]
            for chunk in chunks:
                chunk_gradient = gradients(chunk_loss(model, images, labels, chunk), create_graph=True)
                inner = sum((g.detach() * f).sum() for g, f in zip(gradient, chunk_gradient) if f.requires_grad)
                if torch.is_tensor(inner):
                    for total, part in zip(hessian_gradient, gradients(inner)):
                        total += part
        return float(sum((-w.detach() * hg).sum() for w, hg in zip(weights, hessian_gradient)))

    return run_with_batch_splitting(run, len(labels))


def _grasp(candidate: CandidateContext) -> ProxyValue:
    return ProxyValue(grasp_score(candidate.build_network(), candidate.images, candidate.labels))


def _saliency_proxy(name: str, compute, summary: str, reference: str = REFERENCE) -> None:
    register_proxy(
        Proxy(
            name=name,
            compute=compute,
            direction="max",
            needs_teacher=False,
            needs_labels=True,
            needs_grad=True,
            reference=reference,
            summary=summary,
        )
    )


_saliency_proxy("snip", _snip, "sum |w * dL/dw| over conv and linear weights (SNIP saliency)",
                REFERENCE + "; Lee et al., SNIP, ICLR 2019")
_saliency_proxy("grad_norm", _grad_norm, "sum over conv and linear layers of ||dL/dw||_2")
_saliency_proxy("fisher", _fisher, "summed per-channel Fisher information of layer outputs, each channel x its weight count",
                REFERENCE + "; Turner et al., BlockSwap, ICLR 2020; Theis et al., 2018")
_saliency_proxy("grasp", _grasp, "sum -w * (H dL/dw): GraSP's gradient-flow saliency, sign flipped so higher is better",
                REFERENCE + "; Wang et al., GraSP, ICLR 2020")
