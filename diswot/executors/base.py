"""Where candidates are scored: one small interface over the current process, a local process pool and Ray.

The search loop submits scoring tasks and takes their outcomes back in the order it submitted them, so what a
search decides does not depend on which worker finished first. A worker builds its scorer once from the
search's `ScoringSetup` (the teacher's statistics once per worker) and scores each task it is sent.
"""

from __future__ import annotations

import abc
import gc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import torch

from diswot.proxies.batch_splitting import is_out_of_memory
from diswot.scorer import CandidateScore
from search_spaces import get_space

if TYPE_CHECKING:
    from diswot.scorer import Scorer
    from diswot.scoring_setup import ScoringSetup


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


def score_task(scorer: "Scorer", task: ScoringTask) -> ScoringOutcome:
    """The task scored on `scorer`. A candidate that runs out of memory even at the smallest batch split
    (`diswot.proxies.batch_splitting`) fails for its own reasons: that is its outcome, and the search goes on."""
    space = get_space(task.space)
    try:
        record = scorer.score_candidate(scorer.candidate(space, task.canonical), inits=task.inits)
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return ScoringOutcome(None, f"out of memory at every batch size: {error}", str(scorer.device))
    return ScoringOutcome(record, None, str(scorer.device))


class Executor(abc.ABC):
    """Scores tasks in parallel and hands their outcomes back in submission order."""

    kind: str

    def __init__(self, workers: int = 1):
        self.workers = workers
        self.devices: set[str] = set()  # where the outcomes handed back so far were scored

    @abc.abstractmethod
    def start(self, setup: "ScoringSetup", scorer: "Scorer") -> None:
        """Get ready to score with `setup` (calibrations included); `scorer` is the caller's, built from it."""

    @abc.abstractmethod
    def submit(self, task: ScoringTask) -> None: ...

    @abc.abstractmethod
    def next_outcome(self) -> ScoringOutcome:
        """The outcome of the oldest task submitted and not yet handed back (waits for it)."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Drop every task in flight and stop the work on them (a cancelled search)."""

    def close(self) -> None:
        """Release the workers; the executor can be started again."""

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self.workers, "devices": sorted(self.devices)}

    def handed_back(self, outcome: ScoringOutcome) -> ScoringOutcome:
        self.devices.add(outcome.device)
        return outcome
