"""Where candidates are scored: one small interface over the current process, a local process pool and Ray.

The search loop submits tasks (candidates to score, calibration cells to measure) and takes their outcomes back
in the order it submitted them, so what a search decides does not depend on which worker finished first. A
worker builds its scorer once from the search's `ScoringSetup` (the teacher's statistics once per worker) and
runs each task it is sent.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

from diswot.executors.tasks import ScoringOutcome, Task

if TYPE_CHECKING:
    from diswot.executors.spec import ExecutorSpec
    from diswot.scorer import Scorer
    from diswot.scoring_setup import ScoringSetup


class Executor(abc.ABC):
    """Runs tasks in parallel and hands their outcomes back in submission order."""

    kind: str

    def __init__(self, workers: int = 1):
        self.workers = workers
        self.setup: "ScoringSetup | None" = None
        self.devices: set[str] = set()  # where the outcomes handed back so far were scored

    @classmethod
    def from_spec(cls, spec: "ExecutorSpec") -> "Executor":
        return cls(spec.workers)

    @abc.abstractmethod
    def start(self, setup: "ScoringSetup", scorer: "Scorer") -> None:
        """Get ready to score with `setup` (calibrations included); `scorer` is the caller's, built from it. An
        executor started again for the next search keeps its workers (warm: torch imported, and the teacher's
        statistics kept while the setup stays the same)."""

    def update_setup(self, setup: "ScoringSetup") -> None:
        """Run the tasks submitted from now on with `setup`: the started one with its calibrations measured."""
        self.setup = setup

    @abc.abstractmethod
    def submit(self, task: Task) -> None: ...

    @abc.abstractmethod
    def next_outcome(self) -> ScoringOutcome:
        """The outcome of the oldest task submitted and not yet handed back (waits for it)."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Drop every task in flight and stop the work on them (a cancelled search)."""

    def close(self) -> None:
        """Release the workers; the executor can be started again. Whoever built the executor closes it: `search`
        closes the one it builds from the request, never one it was given (a batch run or the service keeps
        theirs warm from search to search)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exception) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self.workers, "devices": sorted(self.devices)}

    def handed_back(self, outcome: ScoringOutcome) -> ScoringOutcome:
        self.devices.add(outcome.device)
        return outcome
