"""Teacher-aware proxies at initialisation beside DisWOT's: `kd_loss` (logits) and `cka` (features).

Both read the one inference forward the scorer makes of each student and the teacher's outputs on the same
probe batch, whose teacher-side statistics are computed once per scorer. A student whose output does not
depend on its input scores -inf on both. Similarity-preserving KD's relation term (Tung & Mori, ICCV 2019) is
DisWOT's relation term, registered as `diswot_relation`, not repeated here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from diswot.candidate import CandidateContext
from diswot.proxies import register_proxy
from diswot.proxies.base import Proxy, ProxyValue, worst_when_input_ignored

KD_TEMPERATURE = 4.0


def kd_divergence(teacher_log_probs: torch.Tensor, student_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton's KD loss: T^2 * KL(softmax(z_T / T) || softmax(z_S / T)), averaged over the batch."""
    student_log_probs = F.log_softmax(student_logits.float() / temperature, dim=1)
    return F.kl_div(student_log_probs, teacher_log_probs, log_target=True, reduction="batchmean") * temperature**2


def centred_gram(features: torch.Tensor) -> torch.Tensor:
    """H (X X^T) H for X = features.reshape(B, -1) and H the centring matrix: the Gram of column-centred X."""
    flat = features.float().reshape(features.shape[0], -1)
    gram = flat @ flat.t()
    gram = gram - gram.mean(dim=0, keepdim=True)
    return gram - gram.mean(dim=1, keepdim=True)


def linear_cka(teacher_gram: torch.Tensor, student_gram: torch.Tensor) -> torch.Tensor:
    """<K, L> / (|K| |L|) of centred Grams: linear CKA (Kornblith et al., ICML 2019), in [0, 1]."""
    denominator = teacher_gram.norm() * student_gram.norm()
    if denominator == 0:
        return torch.zeros(())
    return (teacher_gram * student_gram).sum() / denominator


def _kd_loss(candidate: CandidateContext) -> ProxyValue:
    teacher_log_probs = candidate.teacher.derived(
        ("kd_log_probs", KD_TEMPERATURE), lambda out: F.log_softmax(out.logits.float() / KD_TEMPERATURE, dim=1)
    )
    divergence = float(kd_divergence(teacher_log_probs, candidate.outputs.logits, KD_TEMPERATURE))
    return ProxyValue(-divergence, {"kd_divergence": divergence})


def _cka(candidate: CandidateContext) -> ProxyValue:
    teacher_gram = candidate.teacher.derived("centred_gram", lambda out: centred_gram(out.features))
    return ProxyValue(float(linear_cka(teacher_gram, centred_gram(candidate.outputs.features))))


register_proxy(
    Proxy(
        name="kd_loss",
        compute=worst_when_input_ignored(_kd_loss),
        direction="min",
        needs_teacher=True,
        needs_labels=False,
        needs_grad=False,
        reference="Hinton, Vinyals, Dean, Distilling the Knowledge in a Neural Network, 2015 (as a proxy at initialisation)",
        summary=f"-T^2 KL(teacher || student) of logits at T={KD_TEMPERATURE:g}, both at initialisation",
    )
)
register_proxy(
    Proxy(
        name="cka",
        compute=worst_when_input_ignored(_cka),
        direction="max",
        needs_teacher=True,
        needs_labels=False,
        needs_grad=False,
        reference="Kornblith, Norouzi, Lee, Hinton, Similarity of Neural Network Representations Revisited, ICML 2019",
        summary="linear CKA between teacher and student pre-pooling features on the probe batch",
    )
)
