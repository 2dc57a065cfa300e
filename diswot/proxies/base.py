"""What a proxy is: a named, directed score of one candidate, with a statement of what it needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Literal

if TYPE_CHECKING:
    from diswot.candidate import CandidateContext


@dataclass(frozen=True)
class ProxyValue:
    score: float
    terms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Proxy:
    """`compute(ctx)` scores one candidate. Every score is reported so that higher is better; `direction` records
    which way the underlying quantity goes ("max": larger raw value is better, "min": the score is the negated
    raw value, e.g. a distance)."""

    name: str
    compute: Callable[["CandidateContext"], ProxyValue]
    direction: Literal["max", "min"]
    needs_teacher: bool
    needs_labels: bool
    needs_grad: bool
    reference: str
    summary: str

    def describe(self) -> dict:
        return {
            "name": self.name,
            "higher_is_better": True,
            "raw_direction": self.direction,
            "needs_teacher": self.needs_teacher,
            "needs_labels": self.needs_labels,
            "needs_grad": self.needs_grad,
            "summary": self.summary,
            "reference": self.reference,
        }
