"""Where a search's candidates are scored, as one frozen value parsed at the edge (CLI options, the service's
settings) and built into an executor by the registry of executor kinds (`diswot.executors.kinds`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from diswot.executors.base import Executor


@dataclass(frozen=True)
class ExecutorSpec:
    """`kind` with `workers` workers; `ray_address`: a running Ray cluster (none: a local Ray); `gpus_per_worker`:
    the GPU share of each Ray actor. Build it with `parse`, which checks every field once."""

    kind: str = "inprocess"
    workers: int = 1
    ray_address: Optional[str] = None
    gpus_per_worker: Optional[float] = None

    @classmethod
    def parse(cls, kind: str = "inprocess", workers: Optional[int] = None, ray_address: Optional[str] = None,
              gpus_per_worker: Optional[float] = None, device: str = "auto") -> "ExecutorSpec":
        """The spec of a `kind` executor, defaults filled in: one worker per CPU core this process may use, or per
        visible GPU when scoring on CUDA (in-process: 1); Ray actors take one GPU each on CUDA."""
        from diswot.errors import DiswotError
        from diswot.executors.kinds import EXECUTORS

        executor_kind = EXECUTORS.get(kind)
        if not executor_kind.ray_options and (ray_address is not None or gpus_per_worker is not None):
            raise DiswotError("--ray-address and --gpus-per-worker are options of the ray executor (--executor ray)")
        if not executor_kind.parallel:
            workers = 1  # one process: `workers` is accepted for a uniform interface
        elif workers is None:
            workers = _default_workers(device)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise DiswotError(f"workers must be an integer >= 1, got {workers!r}")
        if executor_kind.ray_options:
            if gpus_per_worker is None:
                gpus_per_worker = 1.0 if _on_cuda(device) else 0.0
            if not 0 <= gpus_per_worker:
                raise DiswotError(f"gpus per worker must be >= 0, got {gpus_per_worker!r}")
        return cls(kind, workers, ray_address, gpus_per_worker)

    @property
    def default_concurrency(self) -> int:
        """Candidates in flight when a search does not say: 1 in-process; twice the workers on a pool or Ray, so
        that a worker that finishes finds the next candidate waiting instead of idling while the search takes the
        oldest outcome, tells it and asks again (benchmarks/executor_scaling.py measures both)."""
        from diswot.executors.kinds import EXECUTORS

        return 2 * self.workers if EXECUTORS.get(self.kind).parallel else 1

    def build(self) -> "Executor":
        from diswot.executors.kinds import EXECUTORS

        return EXECUTORS.get(self.kind).executor_class().from_spec(self)


def _on_cuda(device: str) -> bool:
    from diswot.devices import resolve_device

    return resolve_device(device).type == "cuda"


def _default_workers(device: str) -> int:
    if _on_cuda(device):
        import torch

        return torch.cuda.device_count()
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
