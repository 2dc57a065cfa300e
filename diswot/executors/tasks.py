"""What travels between the search loop and its workers: a scoring task and its outcome (plain data, no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from diswot.candidate_score import CandidateScore


@dataclass(frozen=True)
class ScoringTask:
    """Score one candidate (a canonical architecture of `space`) as the mean of `inits` random inits
    (None: the setup's)."""

    space: str
    canonical: str
    inits: Optional[int] = None


@dataclass(frozen=True)
class ScoringOutcome:
    """A task's scores, or why the candidate could not be scored (`failure`); `device` is where it ran."""

    score: Optional[CandidateScore]
    failure: Optional[str] = None
    device: str = "cpu"
