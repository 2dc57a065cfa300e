"""`diswot_capacity`: DisWOT's two similarities and the student's capacity, each standardised, then summed.

DisWOT's similarities to the teacher (semantic and sample-relation, Dong et al., CVPR 2023) tell apart students
of similar size, but over a whole space the plain parameter count ranks distillation accuracy better (see
DESIGN.md and the README's ranking section). This proxy takes both kinds of evidence per candidate:

    fitness = sum over components c of weight_c * (value_c - median_c) / spread_c

with components semantic similarity (-M_sem), relation similarity (-log M_rel: the relation distance spans an
order of magnitude), log parameter count and log SynFlow (Tanaka et al., NeurIPS 2020: trainability as signal
flow, data-free). Medians and spreads come from a calibration on a fixed reference sample of the space, scored
once per scorer (`diswot.calibration`), so every component counts on a common scale and the score of one
candidate needs no other candidate (no set-relative ranks: a search can use it as it goes). The raw values of
every component are kept as terms. The weights were chosen by the rule in `benchmarks/default_fitness.py`,
fitted on NB201 CIFAR-10 and reported on CIFAR-100 (README, "Ranking quality").

A student whose output ignores its input scores -inf, as on every teacher-aware proxy.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

from diswot.calibration import Calibration
from diswot.candidate import CandidateContext
from diswot.proxies import get_proxy, register_proxy
from diswot.proxies.base import Proxy, ProxyValue
from diswot.proxies.diswot_proxies import PAPER, relation_distance_of, semantic_distance_of
from diswot.proxies.synflow import synflow_score

NAME = "diswot_capacity"
SYNFLOW_REFERENCE = "Tanaka et al., SynFlow, NeurIPS 2020"


def _log(value: float) -> float:
    return math.log(value) if value > 0 else -math.inf


# Each component is higher-is-better, on a scale where a difference means the same anywhere in its range.
COMPONENTS: dict[str, Callable[[CandidateContext], float]] = {
    "semantic_similarity": lambda c: -semantic_distance_of(c),
    "relation_similarity": lambda c: -_log(relation_distance_of(c)),
    "log_params": lambda c: _log(c.cost.params),
    "log_synflow": lambda c: _log(synflow_score(c.take_network(), tuple(c.images.shape[1:]))),
}

# Chosen by benchmarks/default_fitness.py's rule on NB201 CIFAR-10 ("diswot + 2 (params + synflow)"; fitted on
# CIFAR-100 the rule picks the same); benchmarks/results/default_fitness.md has every candidate's figures.
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "semantic_similarity": 0.5,
    "relation_similarity": 0.5,
    "log_params": 2.0,
    "log_synflow": 2.0,
}


def component_values(candidate: CandidateContext, names=None) -> dict[str, float]:
    """The raw (unstandardised) components of one candidate; -inf throughout when its output ignores its input."""
    names = list(COMPONENTS) if names is None else names
    if candidate.outputs.ignores_input():
        return {name: -math.inf for name in names}
    return {name: COMPONENTS[name](candidate) for name in names}


def fitness(calibration: Calibration, values: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """The weighted sum of standardised components (-inf if any weighted component is -inf or NaN)."""
    total = 0.0
    for name, weight in weights.items():
        if weight == 0:
            continue
        standardised = calibration.standardise(name, values[name])
        if not math.isfinite(standardised):
            return -math.inf
        total += weight * standardised
    return total


def calibration_for(candidate: CandidateContext) -> Calibration:
    """The scorer's calibration of every component on the reference sample of the candidate's space."""
    return candidate.scorer.calibration(candidate.space, get_proxy(NAME))


def _diswot_capacity(candidate: CandidateContext) -> ProxyValue:
    values = component_values(candidate)
    return ProxyValue(fitness(calibration_for(candidate), values, DEFAULT_WEIGHTS), values)


register_proxy(
    Proxy(
        name=NAME,
        compute=_diswot_capacity,
        direction="max",
        needs_teacher=True,
        needs_labels=True,
        needs_grad=True,
        reference=f"{PAPER}; {SYNFLOW_REFERENCE}",
        summary="calibrated sum of DisWOT semantic and relation similarity, log params and log SynFlow (the default)",
        calibration_terms=component_values,
    )
)
