"""Executors by name (`diswot.executors.kinds`): `inprocess` (the default), `process` (a local process pool) and
`ray`, built from an `ExecutorSpec`.

The executors are imported on first use (as `diswot`'s public names are): a Ray worker that unpickles a task
imports this package, and a stand-in scorer's worker should not have to load torch for it.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional

from diswot.executors.base import Executor
from diswot.executors.spec import ExecutorSpec
from diswot.executors.tasks import CalibrationTask, ScoringOutcome, ScoringTask, Task

_LAZY = {
    "InProcessExecutor": "diswot.executors.in_process",
    "ProcessPoolScoringExecutor": "diswot.executors.process_pool",
    "RayExecutor": "diswot.executors.ray_cluster",
    "run_task": "diswot.executors.worker",
}


def make_executor(kind: str = "inprocess", workers: Optional[int] = None, ray_address: Optional[str] = None,
                  gpus_per_worker: Optional[float] = None, device: str = "auto") -> Executor:
    """An executor of `kind` (see `ExecutorSpec.parse` for the defaults)."""
    return ExecutorSpec.parse(kind, workers, ray_address, gpus_per_worker, device).build()


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'diswot.executors' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "CalibrationTask", "Executor", "ExecutorSpec", "InProcessExecutor", "ProcessPoolScoringExecutor", "RayExecutor",
    "ScoringOutcome", "ScoringTask", "Task", "make_executor", "run_task",
]
