"""Executors by name: `inprocess` (the default), `process` (a local process pool) and `ray`.

The executors are imported on first use (as `diswot`'s public names are): a Ray worker that unpickles a task
imports this package, and a stand-in scorer's worker should not have to load torch for it.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Optional

from diswot.executors.base import Executor
from diswot.executors.tasks import CalibrationTask, ScoringOutcome, ScoringTask, Task

_LAZY = {
    "InProcessExecutor": "diswot.executors.in_process",
    "ProcessPoolScoringExecutor": "diswot.executors.process_pool",
    "RayExecutor": "diswot.executors.ray_cluster",
    "run_task": "diswot.executors.worker",
}

EXECUTOR_KINDS = ("inprocess", "process", "ray")


def default_workers(kind: str, device: str = "auto") -> int:
    """One worker per CPU core this process may use, or per visible GPU when scoring on CUDA; in-process: 1."""
    import torch

    from diswot.devices import resolve_device

    if kind == "inprocess":
        return 1
    if resolve_device(device).type == "cuda":
        return torch.cuda.device_count()
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_concurrency(kind: str, workers: int) -> int:
    """Candidates in flight when a search does not say: 1 in-process; twice the workers on a pool or Ray, so that a
    worker that finishes finds the next candidate waiting instead of idling while the search takes the oldest
    outcome, tells it and asks again (benchmarks/executor_scaling.py measures both)."""
    return 1 if kind == "inprocess" else 2 * workers


def make_executor(kind: str = "inprocess", workers: Optional[int] = None, ray_address: Optional[str] = None,
                  gpus_per_worker: Optional[float] = None, device: str = "auto") -> Executor:
    """An executor of `kind` with `workers` workers (default: `default_workers`); `ray_address`: a running Ray
    cluster (none: a local Ray); `gpus_per_worker`: the GPU share of each Ray actor (default 1 on CUDA, else 0)."""
    from diswot.errors import DiswotError  # (with the search spaces, hence torch: not at import, see above)

    if kind not in EXECUTOR_KINDS:
        raise DiswotError(f"unknown executor {kind!r}; valid: {', '.join(EXECUTOR_KINDS)}")
    workers = default_workers(kind, device) if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise DiswotError(f"workers must be an integer >= 1, got {workers!r}")
    if kind != "ray" and (ray_address is not None or gpus_per_worker is not None):
        raise DiswotError("--ray-address and --gpus-per-worker are options of the ray executor (--executor ray)")
    if kind == "inprocess":
        return __getattr__("InProcessExecutor")()
    if kind == "process":
        return __getattr__("ProcessPoolScoringExecutor")(workers)
    if gpus_per_worker is None:
        from diswot.devices import resolve_device

        gpus_per_worker = 1.0 if resolve_device(device).type == "cuda" else 0.0
    if not 0 <= gpus_per_worker:
        raise DiswotError(f"gpus per worker must be >= 0, got {gpus_per_worker!r}")
    return __getattr__("RayExecutor")(workers, address=ray_address, gpus_per_worker=gpus_per_worker)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'diswot.executors' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "EXECUTOR_KINDS", "CalibrationTask", "Executor", "InProcessExecutor", "ProcessPoolScoringExecutor", "RayExecutor",
    "ScoringOutcome", "ScoringTask", "Task", "default_concurrency", "default_workers", "make_executor", "run_task",
]
