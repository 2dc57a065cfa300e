"""`ensemble`: rank aggregation of proxies, which exists only over a set of scored candidates.

A mean rank says where a candidate stands among others, so it cannot be a per-candidate registry proxy: one
candidate alone has no rank. It is therefore not in the proxy registry. Wherever a set of candidates has
been scored (`diswot correlate` and anything else holding a table of scores), `ensemble:a+b+c` is the mean,
over the proxies a, b, c, of each candidate's rank within that set (1 = worst, ties share their mean rank,
a score that is NaN or -inf ranks last); plain `ensemble` combines every other proxy listed beside it. Higher
is better, like every score; adding a candidate to the set can change the others' ensemble scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

from diswot.errors import DiswotError
from diswot.proxies import get_proxy, resolve_proxy_name

ENSEMBLE = "ensemble"
SPEC_FORM = "'ensemble' (every other listed proxy) or 'ensemble:a+b+c'"


@dataclass(frozen=True)
class RankEnsemble:
    name: str  # as the user wrote it, e.g. "ensemble:nwot+synflow"
    members: tuple[str, ...]

    def scores(self, scores_by_proxy: Mapping[str, Sequence[float]]) -> np.ndarray:
        """Mean rank of each candidate over the member proxies' score columns (all of one candidate set)."""
        return np.mean([ranks_within_set(scores_by_proxy[member]) for member in self.members], axis=0)


def nan_as_worst(scores: Sequence[float]) -> np.ndarray:
    """The scores as floats, NaN (a proxy that failed) replaced by -inf: the worst score."""
    values = np.asarray(scores, dtype=float)
    return np.where(np.isnan(values), -np.inf, values)


def ranks_within_set(scores: Sequence[float]) -> np.ndarray:
    """Ranks 1..n, higher for higher scores; ties get their mean rank; NaN ranks last, like -inf."""
    return rankdata(nan_as_worst(scores), method="average")


def is_ensemble(name: str) -> bool:
    return name == ENSEMBLE or name.startswith(ENSEMBLE + ":")


def split_proxy_list(names: Sequence[str]) -> tuple[list[str], list[RankEnsemble]]:
    """The per-candidate proxies to score (every ensemble member included, in order) and the ensembles to form."""
    listed = [resolve_proxy_name(name) for name in names if not is_ensemble(name)]
    for name in listed:
        get_proxy(name)
    ensembles = []
    for name in names:
        if not is_ensemble(name):
            continue
        _, _, spec = name.partition(":")
        members = tuple(resolve_proxy_name(m.strip()) for m in spec.split("+") if m.strip()) if spec else tuple(listed)
        if len(set(members)) < 2:
            raise DiswotError(f"{name!r} needs at least two different proxies to combine; write {SPEC_FORM}")
        for member in members:
            if is_ensemble(member):
                raise DiswotError(f"{name!r}: an ensemble cannot contain another ensemble")
            get_proxy(member)
        ensembles.append(RankEnsemble(name, members))
    to_score = list(dict.fromkeys(listed + [m for ensemble in ensembles for m in ensemble.members]))
    return to_score, ensembles
