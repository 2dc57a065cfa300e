"""The executor kinds by name, registered like spaces and proxies: `inprocess` (the default), `process` (a local
process pool) and `ray`. An entry names its class by module, imported when an executor of that kind is built (a
Ray worker that unpickles a task imports `diswot.executors`, and should not have to load Ray or a pool for it)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from search_spaces.registry import Registry


@dataclass(frozen=True)
class ExecutorKind:
    name: str
    module: str
    class_name: str
    summary: str
    parallel: bool = True  # several workers; False: the calling process alone
    ray_options: bool = False  # takes --ray-address and --gpus-per-worker

    def executor_class(self) -> type:
        return getattr(importlib.import_module(self.module), self.class_name)


EXECUTORS: Registry[ExecutorKind] = Registry("executor")


def register_executor(kind: ExecutorKind) -> ExecutorKind:
    EXECUTORS.add(kind.name, kind)
    return kind


register_executor(ExecutorKind("inprocess", "diswot.executors.in_process", "InProcessExecutor",
                               "every candidate in the calling process, one after another", parallel=False))
register_executor(ExecutorKind("process", "diswot.executors.process_pool", "ProcessPoolScoringExecutor",
                               "a local pool of worker processes"))
register_executor(ExecutorKind("ray", "diswot.executors.ray_cluster", "RayExecutor",
                               "one actor per worker on a local Ray or a cluster", ray_options=True))
