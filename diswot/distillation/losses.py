"""The distillation objective: cross-entropy, Hinton's KD and, optionally, DisWOT's two similarity terms used
as training losses (differentiable in the student; the teacher's side is computed without gradients).

total = w_ce * CE(z_S, y) + w_kd * T^2 KL(softmax(z_T/T) || softmax(z_S/T))
        + w_sem * M_sem(G_T, G_S) + w_rel * M_rel(F_T, F_S)

M_sem and M_rel are the score's terms (`../shared/DESIGN.md`, `diswot.proxies.diswot_similarity`) computed on
each training batch, as DisWOT's code ships the inter-channel (ICKD) and similarity-preserving (SP) losses its
score is built from as distillation losses. The SP paper weights its loss by 3000 on CIFAR (Tung & Mori, ICCV
2019; RepDistiller's `-b 3000`), a hint at the scale M_rel needs to matter beside CE.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from diswot.errors import DiswotError
from diswot.network_outputs import NetworkOutputs
from diswot.proxies.diswot_similarity import (
    classifier_gradient,
    mean_squared_distance,
    pool_channels,
    relation_matrix,
    semantic_distance,
    semantic_factors,
)
from diswot.proxies.teacher_similarity import kd_divergence

# Logits divided by a smaller temperature overflow (1e-300: every softmax is NaN); KD uses 1 to 20 in practice.
MIN_TEMPERATURE = 0.01


@dataclass(frozen=True)
class LossWeights:
    """Weights of the terms. The defaults are RepDistiller's KD recipe (CE 0.1, KD 0.9, T = 4), which DisWOT's
    training script inherits; the similarity terms are off unless given a weight."""

    cross_entropy: float = 0.1
    kd: float = 0.9
    temperature: float = 4.0
    semantic: float = 0.0
    relation: float = 0.0

    def __post_init__(self) -> None:
        for name in ("cross_entropy", "kd", "semantic", "relation"):
            value = getattr(self, name)
            if not value >= 0.0:  # also refuses NaN
                raise DiswotError(f"the {name} weight must be a number >= 0, got {value}")
        if not self.temperature >= MIN_TEMPERATURE:
            raise DiswotError(f"the KD temperature must be at least {MIN_TEMPERATURE}, got {self.temperature}")

    @property
    def needs_teacher(self) -> bool:
        return self.kd > 0 or self.semantic > 0 or self.relation > 0


def semantic_loss(student: NetworkOutputs, teacher: NetworkOutputs, labels: torch.Tensor) -> torch.Tensor:
    """M_sem between the classifier-gradient maps G = (softmax(z) - onehot(y))^T h / B of teacher and student;
    the wider one's channels are average-pooled to the narrower width, as in scoring."""
    student_gradient = classifier_gradient(student.logits, student.pooled, labels)
    teacher_gradient = classifier_gradient(teacher.logits, teacher.pooled, labels)
    width = min(student_gradient.shape[1], teacher_gradient.shape[1])
    return semantic_distance(
        semantic_factors(pool_channels(teacher_gradient, width)),
        semantic_factors(pool_channels(student_gradient, width)),
    )


def relation_loss(student: NetworkOutputs, teacher: NetworkOutputs) -> torch.Tensor:
    """M_rel: similarity-preserving KD's distance between the B x B sample-relation matrices of the features."""
    return mean_squared_distance(relation_matrix(teacher.features), relation_matrix(student.features))


def loss_terms(
    student: NetworkOutputs, teacher: NetworkOutputs | None, labels: torch.Tensor, weights: LossWeights
) -> dict[str, torch.Tensor]:
    """Each term with a non-zero weight (cross-entropy always), unweighted; teacher terms need `teacher`."""
    terms = {"cross_entropy": F.cross_entropy(student.logits.float(), labels)}
    if teacher is None:
        return terms
    if weights.kd > 0:
        teacher_log_probs = F.log_softmax(teacher.logits.float() / weights.temperature, dim=1)
        terms["kd"] = kd_divergence(teacher_log_probs, student.logits, weights.temperature)
    if weights.semantic > 0:
        terms["semantic"] = semantic_loss(student, teacher, labels)
    if weights.relation > 0:
        terms["relation"] = relation_loss(student, teacher)
    return terms


def total_loss(terms: dict[str, torch.Tensor], weights: LossWeights, distilling: bool) -> torch.Tensor:
    """The weighted sum; without a teacher (vanilla training) cross-entropy alone, at weight 1."""
    if not distilling:
        return terms["cross_entropy"]
    return sum(getattr(weights, name) * value for name, value in terms.items())
