"""One candidate's scores, as the scorer returns them: plain data (no torch), so that it crosses processes cheaply."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CandidateScore:
    """One scored candidate: `score` is the first proxy's value; every score is higher-is-better."""

    space: str
    arch: str
    canonical: str
    score: float
    scores: dict[str, float]
    terms: dict[str, float] = field(default_factory=dict)
    params: int = 0
    flops: int = 0
    seconds: float = 0.0
    score_spread: float = 0.0  # standard deviation of `score` over the inits it is the mean of

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
