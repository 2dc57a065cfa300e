"""Every evaluation of a search as a table: numbered in evaluation order, filtered by feasibility and stage,
sorted by a column (those without a value last, either way), for a page of the API or its CSV export."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional

from diswot.student_search import Evaluation

SortColumn = Literal["number", "score", "params", "flops", "seconds", "arch"]
Stage = Literal["search", "confirm"]


def finite_score(evaluation: Evaluation) -> Optional[float]:
    """A score to sort by: none for an unscored candidate, and none for a failed one (-inf)."""
    score = evaluation.score
    return score if score is not None and math.isfinite(score) else None


COLUMN_VALUES: dict[str, Callable[[int, Evaluation], Any]] = {
    "number": lambda number, _e: number,
    "score": lambda _n, e: finite_score(e),
    "params": lambda _n, e: e.params,
    "flops": lambda _n, e: e.flops,
    "seconds": lambda _n, e: e.seconds if e.feasible else None,
    "arch": lambda _n, e: e.arch,
}


@dataclass(frozen=True)
class EvaluationFilter:
    feasible: Optional[bool] = None
    stage: Optional[Stage] = None
    sort: SortColumn = "number"
    descending: bool = False

    def apply(self, evaluations: list[Evaluation]) -> list[tuple[int, Evaluation]]:
        """(number from 1, evaluation) of those that pass, in the chosen order (ties in evaluation order)."""
        rows = [(number, e) for number, e in enumerate(evaluations, start=1)
                if (self.feasible is None or e.feasible == self.feasible)
                and (self.stage is None or e.stage == self.stage)]
        value = COLUMN_VALUES[self.sort]
        valued = [row for row in rows if value(*row) is not None]
        valueless = [row for row in rows if value(*row) is None]
        valued.sort(key=lambda row: value(*row), reverse=self.descending)
        return valued + valueless
