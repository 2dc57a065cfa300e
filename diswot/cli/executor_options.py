"""Where `search` and `batch` score their candidates (`--executor`, `--workers`, ...), defined once; they are
parsed into an `ExecutorSpec`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from diswot.executors.kinds import EXECUTORS

ExecutorOption = Annotated[str, typer.Option(
    help=f"Where candidates are scored: {', '.join(EXECUTORS.names())} (results do not depend on it).")]
WorkersOption = Annotated[Optional[int], typer.Option(
    help="Worker processes (process, ray; default: one per CPU core, or per visible GPU on cuda).")]
ConcurrencyOption = Annotated[Optional[int], typer.Option(
    help="Candidates in flight at once (default: 1 in-process, else twice --workers). The result depends on it (and "
    "the seeds), never on the executor or the number of workers.")]
RayAddressOption = Annotated[Optional[str], typer.Option(
    help="A running Ray cluster (e.g. ray://head:10001); none: a local Ray.")]
GpusPerWorkerOption = Annotated[Optional[float], typer.Option(
    help="Ray: the share of a GPU each worker reserves (e.g. 0.5; default 1 on cuda, 0 on cpu).")]
