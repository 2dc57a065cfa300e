"""The DisWOT similarity terms (Dong et al., "DisWOT: Student Architecture Search for Distillation WithOut
Training", CVPR 2023), as pure tensor functions. `../shared/DESIGN.md` defines each one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# F.normalize's default: rows whose norm is below it are divided by it instead (so zero rows stay zero).
NORM_EPS = 1e-12


def classifier_gradient(logits: torch.Tensor, pooled: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """d(mean cross-entropy)/d(classifier weight), (K, C), in closed form: (softmax(z) - onehot(y))^T h / B.

    The logits depend on the weight W only through z = h W^T + b, so no backward pass is needed. Out of place,
    so that distillation can back-propagate through it (softmax's backward reads its own output).
    """
    residual = torch.softmax(logits.float(), dim=1) - F.one_hot(labels, logits.shape[1]).float()
    return residual.t() @ pooled.float() / len(labels)


def pool_channels(gradient: torch.Tensor, width: int) -> torch.Tensor:
    """Average-pool the channel axis of a (K, C) gradient down to `width` channels (DisWOT's rule for unequal widths)."""
    if gradient.shape[1] == width:
        return gradient
    return F.adaptive_avg_pool1d(gradient.unsqueeze(0), width).squeeze(0)


def semantic_factors(gradient: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-class matrices g_k g_k^T with L2-normalised rows, as rank-one factors a_k (x) g_k.

    Row i of g g^T is g_i g, whose norm is |g_i| |g|; so the normalised matrix is a g^T with
    a_i = g_i / max(|g_i| |g|, eps). Keeping the factors makes the C x C distance O(C) instead of O(C^2).
    """
    row_norms = gradient.abs() * gradient.norm(dim=1, keepdim=True)
    return gradient / row_norms.clamp_min(NORM_EPS), gradient


def semantic_matrices(gradient: torch.Tensor) -> torch.Tensor:
    """The explicit (K, C, C) row-normalised matrices; the reference that `semantic_factors` must agree with."""
    outer = gradient.unsqueeze(2) * gradient.unsqueeze(1)
    return F.normalize(outer, dim=2, eps=NORM_EPS)


def semantic_distance(teacher: tuple[torch.Tensor, torch.Tensor], student: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """M_sem = sum over classes of ||a_T g_T^T - a_S g_S^T||_F^2 / (C K), from rank-one factors of equal width."""
    a_t, g_t = teacher
    a_s, g_s = student
    num_classes, channels = g_t.shape
    per_class = (
        a_t.pow(2).sum(1) * g_t.pow(2).sum(1)
        + a_s.pow(2).sum(1) * g_s.pow(2).sum(1)
        - 2.0 * (a_t * a_s).sum(1) * (g_t * g_s).sum(1)
    )
    return per_class.sum() / (channels * num_classes)


def relation_matrix(features: torch.Tensor) -> torch.Tensor:
    """Similarity-preserving KD's sample relations: row-normalise(F' F'^T) with F' = F.reshape(B, -1), (B, B)."""
    flat = features.float().reshape(features.shape[0], -1)
    return F.normalize(flat @ flat.t(), dim=1, eps=NORM_EPS)


def class_correlation(gradient: torch.Tensor) -> torch.Tensor:
    """The channel-free semantic variant: row-normalise(G G^T), (K, K)."""
    return F.normalize(gradient @ gradient.t(), dim=1, eps=NORM_EPS)


def mean_squared_distance(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """||A - B||_F^2 / (n m) for two (n, m) matrices: M_rel with B x B, the class-correlation term with K x K."""
    return (first - second).pow(2).mean()
