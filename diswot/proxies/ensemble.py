"""Rank aggregates of proxies, which exist only over a set of scored candidates.

A rank says where a candidate stands among others, so it cannot be a per-candidate registry proxy: one
candidate alone has no rank. Aggregates are therefore not in the proxy registry. Wherever a set of candidates
has been scored (`diswot correlate` and anything else holding a table of scores), each member proxy ranks the
set (1 = worst, ties share their mean rank, a score that is NaN or -inf ranks last) and:
- `ensemble:a+b+c` is the mean rank over the proxies a, b, c;
- `logrank:a+b+c` is the sum over them of log(rank / N), N the size of the set: AZ-NAS's non-linear
  aggregation (Lee & Ham, CVPR 2024), in which one bad rank costs more than a good one gains, so the top is
  held by candidates that every member ranks high;
- `aznas` is `logrank` over AZ-NAS's four proxies (expressivity, progressivity, trainability, FLOPs), the
  paper's ranking;
- `vkdnw_agg` is `logrank` over `vkdnw`, `jacob_cov`, AZ-NAS's expressivity and trainability, and `flops`:
  VKDNW_agg of Tybl & Neumann (CVPR 2025), the variant behind their Table 1's Spearman 0.919 on NB201.
Plain `ensemble` or `logrank` combines every other listed proxy. Higher is better, like every score; adding a
candidate to the set can change the others' aggregate scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

from diswot.errors import DiswotError
from diswot.proxies import get_proxy, resolve_proxy_name

ENSEMBLE = "ensemble"
LOG_RANK = "logrank"
AGGREGATIONS = {ENSEMBLE: "mean_rank", LOG_RANK: "log_rank"}
NAMED_AGGREGATES = {
    "aznas": ("aznas_expressivity", "aznas_progressivity", "aznas_trainability", "flops"),
    "vkdnw_agg": ("vkdnw", "jacob_cov", "aznas_expressivity", "aznas_trainability", "flops"),
}
SPEC_FORM = ("'ensemble' or 'logrank' (every other listed proxy), 'ensemble:a+b+c', 'logrank:a+b+c', "
             f"or one of {', '.join(NAMED_AGGREGATES)}")


@dataclass(frozen=True)
class RankEnsemble:
    name: str  # as the user wrote it, e.g. "ensemble:nwot+synflow"
    members: tuple[str, ...]
    aggregation: Literal["mean_rank", "log_rank"] = "mean_rank"

    def scores(self, scores_by_proxy: Mapping[str, Sequence[float]]) -> np.ndarray:
        """Each candidate's aggregate over the member proxies' score columns (all of one candidate set)."""
        ranks = np.array([ranks_within_set(scores_by_proxy[member]) for member in self.members])
        if self.aggregation == "log_rank":
            return np.log(ranks / ranks.shape[1]).sum(axis=0)
        return ranks.mean(axis=0)


def nan_as_worst(scores: Sequence[float]) -> np.ndarray:
    """The scores as floats, NaN (a proxy that failed) replaced by -inf: the worst score."""
    values = np.asarray(scores, dtype=float)
    return np.where(np.isnan(values), -np.inf, values)


def ranks_within_set(scores: Sequence[float]) -> np.ndarray:
    """Ranks 1..n, higher for higher scores; ties get their mean rank; NaN ranks last, like -inf."""
    return rankdata(nan_as_worst(scores), method="average")


def is_ensemble(name: str) -> bool:
    """Whether `name` asks for a rank aggregate rather than a registry proxy."""
    return name in NAMED_AGGREGATES or name.partition(":")[0] in AGGREGATIONS


def split_proxy_list(names: Sequence[str]) -> tuple[list[str], list[RankEnsemble]]:
    """The per-candidate proxies to score (every aggregate member included, in order) and the aggregates to form."""
    listed = [resolve_proxy_name(name) for name in names if not is_ensemble(name)]
    for name in listed:
        get_proxy(name)
    ensembles = []
    for name in names:
        if not is_ensemble(name):
            continue
        if name in NAMED_AGGREGATES:
            ensembles.append(RankEnsemble(name, NAMED_AGGREGATES[name], "log_rank"))
            continue
        kind, _, spec = name.partition(":")
        members = tuple(resolve_proxy_name(m.strip()) for m in spec.split("+") if m.strip()) if spec else tuple(listed)
        if len(set(members)) < 2:
            raise DiswotError(f"{name!r} needs at least two different proxies to combine; write {SPEC_FORM}")
        for member in members:
            if is_ensemble(member):
                raise DiswotError(f"{name!r}: an aggregate cannot contain another aggregate")
            get_proxy(member)
        ensembles.append(RankEnsemble(name, members, AGGREGATIONS[kind]))
    to_score = list(dict.fromkeys(listed + [m for ensemble in ensembles for m in ensemble.members]))
    return to_score, ensembles
