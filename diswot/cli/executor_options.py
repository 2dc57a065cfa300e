"""Where `search` and `batch` score their candidates (`--executor`, `--workers`, ...), defined once."""

from __future__ import annotations

from typing import Optional

import typer

from diswot.executors import EXECUTOR_KINDS, Executor, default_concurrency

EXECUTOR_OPTION = typer.Option(
    "inprocess", help=f"Where candidates are scored: {', '.join(EXECUTOR_KINDS)} (results do not depend on it)."
)
WORKERS_OPTION = typer.Option(
    None, help="Worker processes (process, ray; default: one per CPU core, or per visible GPU on cuda)."
)
CONCURRENCY_OPTION = typer.Option(
    None, help="Candidates in flight at once (default: 1 in-process, else twice --workers). The result depends on "
    "it (and the seeds), "
    "never on the executor or the number of workers.",
)
RAY_ADDRESS_OPTION = typer.Option(None, help="A running Ray cluster (e.g. ray://head:10001); none: a local Ray.")
GPUS_PER_WORKER_OPTION = typer.Option(
    None, help="Ray: the share of a GPU each worker reserves (e.g. 0.5; default 1 on cuda, 0 on cpu)."
)


def optional_concurrency(concurrency: Optional[int], executor: Executor) -> int:
    return default_concurrency(executor.kind, executor.workers) if concurrency is None else concurrency
