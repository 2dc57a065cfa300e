"""The default executor: every candidate scored in the calling process, one after another, when it is needed."""

from __future__ import annotations

from collections import deque

from diswot.executors.base import Executor
from diswot.executors.tasks import ScoringOutcome, Task
from diswot.executors.worker import run_task


class InProcessExecutor(Executor):
    kind = "inprocess"

    def __init__(self, workers: int = 1):
        super().__init__(workers=1)  # one process: `workers` is accepted for a uniform interface
        self.scorer = None
        self.queued: deque[Task] = deque()

    def start(self, setup, scorer) -> None:
        self.scorer = scorer
        self.queued.clear()

    def submit(self, task: Task) -> None:
        self.queued.append(task)

    def next_outcome(self) -> ScoringOutcome:
        return self.handed_back(run_task(self.scorer, self.queued.popleft()))

    def cancel(self) -> None:
        self.queued.clear()
