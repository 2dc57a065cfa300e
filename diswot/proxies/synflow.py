"""SynFlow (`synflow`): the synaptic saliency of a network made linear by taking absolute weights.

References: Tanaka, Kunin, Yamins, Ganguli, "Pruning neural networks without any data by iteratively
conserving synaptic flow", NeurIPS 2020; as a NAS proxy, Abdelfattah et al., "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021. R = sum of the network's outputs for an all-ones image, with every parameter
replaced by its absolute value; the score is sum over conv and linear weights of |w * dR/dw|. Higher is better.

As the reference does: float64 (the products overflow float32 in deep networks), BatchNorm
removed (it would re-centre the all-ones signal and undo the linearisation), one image, no labels. The
reference flips the signs of the network it is given and restores them afterwards; here the absolute weights
go into a private copy that is discarded, so the candidate's network never changes. NAS-Bench-Suite-Zero
publishes log(score), which ranks identically; the raw sum is reported here (0 for a cell that does not
connect input to output).

One exception to float64: a network with grouped convolutions (MobileNets' depthwise ones) runs in float32 first,
and in float64 only if that overflows. PyTorch's CPU float64 grouped convolution loops over the groups one by one
(`_slow_conv2d`, thousands of calls per network): a 64-px mobilenet candidate took 1-50 s in float64 against 0.1 s
in float32, whose relative error (1e-7) does not move a ranking. Networks without grouped convolutions (NB201,
the ResNets) stay in float64 as before.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from diswot.candidate import CandidateContext
from diswot.proxies import register_proxy
from diswot.proxies.base import Proxy, ProxyValue
from diswot.proxies.weight_layers import weight_layers


def without_batch_norm(model: nn.Module) -> nn.Module:
    """Replace every BatchNorm module of `model` (in place) by the identity."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
    return model


def synflow_score(model: nn.Module, image_shape: tuple[int, ...]) -> float:
    """SynFlow of `model`, which this function takes over: it is linearised in place."""
    model = without_batch_norm(model)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.abs_()
    if has_grouped_convolutions(model):
        score = _saliency(model.float(), image_shape, torch.float32)
        if math.isfinite(score):
            return score
    return _saliency(model.double(), image_shape, torch.float64)


def has_grouped_convolutions(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) and m.groups > 1 for m in model.modules())


def _saliency(model: nn.Module, image_shape: tuple[int, ...], dtype: torch.dtype) -> float:
    """sum |w * dR/dw| over the conv and linear weights of the linearised `model`, in `dtype`."""
    device = next(model.parameters()).device
    ones = torch.ones((1, *image_shape), dtype=dtype, device=device)
    model.zero_grad()
    model(ones).sum().backward()
    with torch.no_grad():
        return float(sum((layer.weight * layer.weight.grad).abs().sum(dtype=torch.float64)
                         for layer in weight_layers(model) if layer.weight.grad is not None))


def _synflow(candidate: CandidateContext) -> ProxyValue:
    return ProxyValue(synflow_score(candidate.take_network(), tuple(candidate.images.shape[1:])))


register_proxy(
    Proxy(
        name="synflow",
        compute=_synflow,
        direction="max",
        needs_teacher=False,
        needs_labels=False,
        needs_grad=True,
        reference="Tanaka et al., SynFlow, NeurIPS 2020; Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021",
        summary="sum |w * dR/dw| of the abs-weight, BN-free network on an all-ones image, float64 (data-free)",
    )
)
