"""MeCo (`meco`): how far from collinear the channels of each layer's feature map are, for one image.

Reference: Jiang, Wang, Bie, "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum Eigenvalue
of Correlation", NeurIPS 2023, Definition 3 (Eq. 12). For one input image X and each layer i of the network,
f_i(X) is its C_i x H_i x W_i feature map read as C_i channels observed at H_i * W_i positions, P(f_i) the
C_i x C_i Pearson correlation matrix of the channels, and
    meco = sum over layers i of the smallest eigenvalue of P(f_i(X)).
Higher is better: channels that are far from linear dependence train faster and generalise better (the
paper's Theorems 2 and 3). This is the plain MeCo of the paper's Table 1 (NATS-Bench-TSS = NAS-Bench-201);
MeCo_opt (Eq. 13, sampled channels re-weighted by width) was proposed for the width-only space (SSS), where
MeCo anti-correlates, and is not implemented. On 1,000 NB201 cells (real CIFAR probe image, `diswot
correlate`), Spearman with test accuracy 0.935 on CIFAR-10 and 0.906 on CIFAR-100, beside the paper's 0.894
and 0.883 (Table 1).

How this implementation reads the definition, and why:
- The image is the first of the probe batch, forwarded alone (one data, one forward pass, as in the paper);
  BatchNorm uses that image's own statistics, as for every randomly initialised network here.
- The layers are every convolution, BatchNorm, ReLU (module or functional) and pooling of the network's
  feature extractor, caught as torch functions so that networks calling `torch.relu` count fully. The
  paper's code hooks every module instead, containers included, so it counts some maps twice (a Sequential's
  output is its last layer's); element-wise sums (cell nodes, residual additions) are not layers here. At
  initialisation a BatchNorm repeats its convolution's eigenvalue (Pearson correlation ignores a per-channel
  positive rescaling), as in the paper's code.
- A channel that is constant over the positions has no correlation: its row and column are zero, as in the
  paper's code, so the layer contributes 0 (a 1 x 1 map always does).
- A network whose features (the map the classifier reads) are one constant for the image tells nothing about
  it and scores -inf, the worst, like the other proxies here: so does an NB201 cell that does not connect
  input to output, whose stem alone would otherwise score a little. (Read from the same single forward pass:
  comparing several images' outputs would cost a second, larger one.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from diswot.candidate import CandidateContext
from diswot.network_outputs import batch_statistics_norm
from diswot.proxies import register_proxy
from diswot.proxies.base import Proxy, ProxyValue
from diswot.proxies.naswot import RELU_FUNCTIONS

LAYER_FUNCTIONS = RELU_FUNCTIONS | {
    F.conv2d, F.batch_norm, F.avg_pool2d, F.max_pool2d, F.adaptive_avg_pool2d, F.adaptive_max_pool2d,
}


def smallest_correlation_eigenvalue(feature_map: torch.Tensor) -> float:
    """Smallest eigenvalue of the channel x channel Pearson correlation of a (C, H, W) map, in float64."""
    channels = feature_map.reshape(feature_map.shape[0], -1).double()
    centred = channels - channels.mean(dim=1, keepdim=True)
    norms = centred.norm(dim=1, keepdim=True)
    # A constant channel has no correlation with anything: its row is left at zero (NaN -> 0 in the paper's code).
    standardised = torch.where(norms > 0, centred / norms.clamp_min(torch.finfo(torch.float64).tiny), 0.0)
    correlation = standardised @ standardised.t()
    return float(torch.linalg.eigvalsh(correlation)[0])


class LayerEigenvalueRecorder(TorchFunctionMode):
    """Collects the smallest correlation eigenvalue of the first image's map at every layer call."""

    def __init__(self):
        super().__init__()
        self.eigenvalues: list[float] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        if func in LAYER_FUNCTIONS and isinstance(result, torch.Tensor) and result.dim() == 4:
            self.eigenvalues.append(smallest_correlation_eigenvalue(result[0]))
        return result


def is_constant(features: torch.Tensor, relative_tolerance: float = 1e-6) -> bool:
    spread = (features - features.flatten()[0]).abs().max()
    return bool(spread <= relative_tolerance * features.abs().max())


def meco_score(model: torch.nn.Module, image: torch.Tensor) -> float:
    """MeCo of `model` on one (C, H, W) image."""
    with torch.inference_mode(), batch_statistics_norm(model), LayerEigenvalueRecorder() as recorder:
        features = model.forward_features(image.unsqueeze(0))
    if is_constant(features):
        return float("-inf")
    return sum(recorder.eigenvalues)


def _meco(candidate: CandidateContext) -> ProxyValue:
    return ProxyValue(meco_score(candidate.network, candidate.images[0]))


register_proxy(
    Proxy(
        name="meco",
        compute=_meco,
        direction="max",
        needs_teacher=False,
        needs_labels=False,
        needs_grad=False,
        reference="Jiang et al., MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum Eigenvalue "
                  "of Correlation, NeurIPS 2023",
        summary="sum over layers of the smallest eigenvalue of the channel correlation of one image's feature map",
    )
)
