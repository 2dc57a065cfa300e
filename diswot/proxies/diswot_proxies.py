"""The DisWOT proxies: semantic and relation similarity between a random-init teacher and student.

Reference: Dong, Liu, Yang, Zhang, Gu, Shao, Li, Xu, "DisWOT: Student Architecture Search for Distillation
WithOut Training", CVPR 2023. Scores are negated distances, so higher is better. Unlike the official code,
teacher statistics are computed once on one fixed probe batch (no per-candidate batch, no accumulated
teacher gradients), the teacher has the student's class count, and the `diswot` proxy really uses the teacher.
A student whose output does not depend on its input (an NB201 cell with no path from input to output) scores
-inf; the paper's formula would rank it above most real students (see `worst_when_input_ignored`).
"""

from __future__ import annotations

from diswot.candidate import CandidateContext
from diswot.proxies import register_proxy
from diswot.proxies.base import Proxy, ProxyValue, worst_when_input_ignored
from diswot.proxies.diswot_similarity import (
    class_correlation,
    classifier_gradient,
    mean_squared_distance,
    pool_channels,
    relation_matrix,
    semantic_distance,
    semantic_factors,
)

PAPER = "Dong et al., DisWOT: Student Architecture Search for Distillation WithOut Training, CVPR 2023"
SEMANTIC_WEIGHT = 1.0
RELATION_WEIGHT = 1.0


def _gradient(outputs, labels):
    return classifier_gradient(outputs.logits, outputs.pooled, labels)


def semantic_distance_of(candidate: CandidateContext) -> float:
    """M_sem; when widths differ the wider side's gradient is average-pooled over channels to the narrower width."""
    labels = candidate.labels
    student_gradient = _gradient(candidate.outputs, labels)
    teacher_width = candidate.teacher.outputs.pooled.shape[1]
    width = min(teacher_width, student_gradient.shape[1])
    teacher_factors = candidate.teacher.derived(
        ("semantic_factors", width), lambda out: semantic_factors(pool_channels(_gradient(out, labels), width))
    )
    return float(semantic_distance(teacher_factors, semantic_factors(pool_channels(student_gradient, width))))


def relation_distance_of(candidate: CandidateContext) -> float:
    teacher_relation = candidate.teacher.derived("relation", lambda out: relation_matrix(out.features))
    return float(mean_squared_distance(teacher_relation, relation_matrix(candidate.outputs.features)))


def class_correlation_distance_of(candidate: CandidateContext) -> float:
    labels = candidate.labels
    teacher_corr = candidate.teacher.derived("class_correlation", lambda out: class_correlation(_gradient(out, labels)))
    return float(mean_squared_distance(teacher_corr, class_correlation(_gradient(candidate.outputs, labels))))


def _diswot(candidate: CandidateContext) -> ProxyValue:
    semantic = semantic_distance_of(candidate)
    relation = relation_distance_of(candidate)
    return ProxyValue(
        -(SEMANTIC_WEIGHT * semantic + RELATION_WEIGHT * relation),
        {"semantic_distance": semantic, "relation_distance": relation},
    )


def _semantic(candidate: CandidateContext) -> ProxyValue:
    semantic = semantic_distance_of(candidate)
    return ProxyValue(-semantic, {"semantic_distance": semantic})


def _relation(candidate: CandidateContext) -> ProxyValue:
    relation = relation_distance_of(candidate)
    return ProxyValue(-relation, {"relation_distance": relation})


def _classcorr(candidate: CandidateContext) -> ProxyValue:
    distance = class_correlation_distance_of(candidate)
    return ProxyValue(-distance, {"class_correlation_distance": distance})


def _diswot_proxy(name, compute, summary):
    return register_proxy(
        Proxy(
            name=name,
            compute=worst_when_input_ignored(compute),
            direction="min",
            needs_teacher=True,
            needs_labels=True,
            needs_grad=False,
            reference=PAPER,
            summary=summary,
        )
    )


_diswot_proxy("diswot", _diswot, "-(M_sem + M_rel): semantic (per-class C x C) plus sample-relation distance to the teacher")
_diswot_proxy("diswot_semantic", _semantic, "-M_sem: the paper's per-class C x C classifier-gradient similarity alone")
_diswot_proxy("diswot_relation", _relation, "-M_rel: similarity-preserving sample relations (B x B) alone")
_diswot_proxy("diswot_classcorr", _classcorr, "-M: channel-free K x K class correlation of classifier gradients")
