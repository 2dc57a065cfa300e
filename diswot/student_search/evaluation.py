"""One evaluated candidate of a search, as stored and as told to the strategy."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional


@dataclass
class Evaluation:
    """A candidate's canonical architecture, its cost and, if it fits the budget, its scores.

    An infeasible candidate is recorded (so a resumed run need not rebuild it) but not scored. The confirm stage
    stores its re-scoring of a finalist as a second record of the same candidate with `stage` "confirm": there
    `score` is the mean over the confirm stage's inits and `score_spread` their standard deviation. A candidate
    that could not be scored for its own reasons (out of memory at every batch size) keeps the reason in
    `failure` and scores -inf.
    """

    canonical: str
    arch: str
    params: int
    flops: int
    feasible: bool
    score: Optional[float] = None
    scores: dict[str, float] = field(default_factory=dict)
    terms: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    stage: str = "search"  # or "confirm"
    score_spread: float = 0.0
    failure: Optional[str] = None  # why it could not be scored (then `score` is -inf, the worst)
    latency: Optional[float] = None  # predicted seconds per forward pass, where the search times candidates

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Evaluation":
        return cls(**values)
