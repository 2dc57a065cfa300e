"""Jacobian covariance (`jacob_cov`): how decorrelated the input-gradients of different images are.

Reference: Mellor, Turner, Storkey, Crowley, "Neural Architecture Search without Training" (first version,
arXiv:2006.04647v1, 2020); as a zero-cost proxy, Abdelfattah et al., ICLR 2021 (`jacob_cov`) and
NAS-Bench-Suite-Zero (`jacov`). J holds, per image, the gradient of the sum of the logits with respect to the
image (batch-statistics BatchNorm, so images interact as in the reference). With sigma the eigenvalues of
the B x B correlation matrix of J's rows and k = 1e-5, the score is -sum(log(sigma + k) + 1/(sigma + k)).
Higher is better; it peaks at -B when the rows are uncorrelated. Where the correlation is undefined (the
output does not depend on some image: a cell that does not connect input to output) the score is -inf.
"""

from __future__ import annotations

import numpy as np
import torch

from diswot.candidate import CandidateContext
from diswot.network_outputs import batch_statistics_norm
from diswot.proxies import register_proxy
from diswot.proxies.base import Proxy, ProxyValue
from diswot.proxies.batch_splitting import run_with_batch_splitting

EIGENVALUE_OFFSET = 1e-5


def input_jacobians(model: torch.nn.Module, images: torch.Tensor) -> np.ndarray:
    """(B, pixels) in float64: row i is the gradient of the sum of all logits of i's chunk with respect to image i."""

    def run(chunks):
        rows = []
        with batch_statistics_norm(model):
            for chunk in chunks:
                inputs = images[chunk].detach().clone().requires_grad_(True)
                logits = model(inputs)
                (gradient,) = torch.autograd.grad(logits.sum(), inputs, allow_unused=True)
                if gradient is None:  # the output does not depend on the input at all
                    gradient = torch.zeros_like(inputs)
                rows.append(gradient.reshape(len(gradient), -1))
        return torch.cat(rows).double().cpu().numpy()

    return run_with_batch_splitting(run, images.shape[0])


def jacobian_covariance_score(jacobians: np.ndarray) -> float:
    if np.any(jacobians.std(axis=1) == 0):
        return float("-inf")
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(jacobians))
    shifted = eigenvalues + EIGENVALUE_OFFSET
    return float(-np.sum(np.log(shifted) + 1.0 / shifted))


def _jacob_cov(candidate: CandidateContext) -> ProxyValue:
    return ProxyValue(jacobian_covariance_score(input_jacobians(candidate.build_network(), candidate.images)))


register_proxy(
    Proxy(
        name="jacob_cov",
        compute=_jacob_cov,
        direction="max",
        needs_teacher=False,
        needs_labels=False,
        needs_grad=True,
        reference="Mellor et al., Neural Architecture Search without Training, arXiv:2006.04647v1; Abdelfattah et al., ICLR 2021",
        summary="-sum(log(s + k) + 1/(s + k)) over eigenvalues s of the correlation of per-image input-gradients",
    )
)
