"""What a proxy is: a named, directed score of one candidate, with a statement of what it needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Literal, Mapping, Optional

if TYPE_CHECKING:
    from diswot.candidate import CandidateContext


@dataclass(frozen=True)
class ProxyValue:
    score: float
    terms: dict[str, float] = field(default_factory=dict)


ProxyCompute = Callable[["CandidateContext"], ProxyValue]


def worst_when_input_ignored(compute: ProxyCompute) -> ProxyCompute:
    """Wraps a teacher-aware proxy: a student whose output does not depend on its input scores -inf.

    Such a student (an NB201 cell with no path from input to output) cannot learn, yet its constant output can
    look close to a random teacher's: its classifier gradient is zero, which makes DisWOT's semantic distance
    exactly 1 where real random students sit between 1 and 2, and its uniform-ish logits are near, in KL, to a
    random teacher's. Without this rule those students rank above most real ones.
    """

    def guarded(candidate: "CandidateContext") -> ProxyValue:
        if candidate.outputs.ignores_input():
            return ProxyValue(float("-inf"))
        return compute(candidate)

    return guarded


@dataclass(frozen=True)
class Proxy:
    """`compute(ctx)` scores one candidate. Every score is reported so that higher is better; `direction` records
    which way the underlying quantity goes ("max": larger raw value is better, "min": the score is the negated
    raw value, e.g. a distance)."""

    name: str
    compute: ProxyCompute
    direction: Literal["max", "min"]
    needs_teacher: bool
    needs_labels: bool
    needs_grad: bool
    reference: str
    summary: str
    # For a proxy that standardises its terms against a calibration (`diswot.calibration`): the raw terms of one
    # candidate, measured on each cell of the reference sample. A search sends those cells to its workers and ships
    # the calibration to all of them (`diswot.calibration_on_workers.measured_calibrations`).
    calibration_terms: Optional[Callable[["CandidateContext"], Mapping[str, float]]] = None

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
