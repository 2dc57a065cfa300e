"""What travels between the search loop and its workers: a task and its outcome (plain data, no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Union

from diswot.candidate_score import CandidateScore


@dataclass(frozen=True)
class ScoringTask:
    """Score one candidate (a canonical architecture of `space`) as the mean of `inits` random inits (None: the
    setup's), its `first_init`-th and those after it (the confirm stage sends each init as a task of its own)."""

    space: str
    canonical: str
    inits: Optional[int] = None
    first_init: int = 0


@dataclass(frozen=True)
class CalibrationTask:
    """Measure the raw terms that proxy `proxy` standardises on one cell of its calibration's reference sample
    (`diswot.calibration`): a search sends the whole sample to its workers before its first candidate."""

    space: str
    canonical: str
    proxy: str


Task = Union[ScoringTask, CalibrationTask]


@dataclass(frozen=True)
class ScoringOutcome:
    """A task's scores (a CalibrationTask's: its `calibration_terms`), or why the candidate could not be scored
    (`failure`); `device` is where it ran."""

    score: Optional[CandidateScore]
    failure: Optional[str] = None
    device: str = "cpu"
    calibration_terms: Optional[Mapping[str, float]] = None
