"""Executors by name: `inprocess` (the default), `process` (a local process pool) and `ray`."""

from __future__ import annotations

from typing import Optional

from diswot.errors import DiswotError
from diswot.executors.base import Executor, ScoringOutcome, ScoringTask, score_task
from diswot.executors.in_process import InProcessExecutor
from diswot.executors.process_pool import ProcessPoolScoringExecutor
from diswot.executors.ray_cluster import RayExecutor

EXECUTOR_KINDS = ("inprocess", "process", "ray")


def make_executor(kind: str = "inprocess", workers: int = 1, ray_address: Optional[str] = None,
                  gpus_per_worker: float = 0.0) -> Executor:
    """An executor of `kind` with `workers` workers (`ray_address`: a running Ray cluster; none: a local Ray)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise DiswotError(f"workers must be an integer >= 1, got {workers!r}")
    if kind == "inprocess":
        return InProcessExecutor()
    if kind == "process":
        return ProcessPoolScoringExecutor(workers)
    if kind == "ray":
        return RayExecutor(workers, address=ray_address, gpus_per_worker=gpus_per_worker)
    raise DiswotError(f"unknown executor {kind!r}; valid: {', '.join(EXECUTOR_KINDS)}")


__all__ = [
    "EXECUTOR_KINDS", "Executor", "InProcessExecutor", "ProcessPoolScoringExecutor", "RayExecutor", "ScoringOutcome",
    "ScoringTask", "make_executor", "score_task",
]
