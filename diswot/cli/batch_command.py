"""`diswot batch FILE.yaml`: many searches from one file, one line of progress each, and a summary table."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer

from diswot.cli.app import app
from diswot.cli.executor_options import ExecutorOption, GpusPerWorkerOption, RayAddressOption, WorkersOption
from diswot.cli.progress import SearchProgressDisplay, progress_display
from diswot.cli.scoring_options import CacheDirOption, NoCacheOption, calibration_cache_of, latency_cache_of
from diswot.errors import integer_field
from diswot.executors import ExecutorSpec
from diswot.student_search.batch import load_batch
from diswot.student_search.request import Execution
from diswot.student_search.run_folder import search_in_folder

SUMMARY_COLUMNS = ("search", "teacher", "space", "strategy", "budget", "evaluations", "seconds", "best_score", "best_arch",
                   "best_params", "best_flops")


@app.command("batch")
def batch_command(
    file: Path = typer.Argument(..., help="YAML batch file (see the README)."),
    out: Path = typer.Option(Path("runs/batch"), help="Folder for one run folder per search and summary.csv."),
    executor: ExecutorOption = "inprocess",
    workers: WorkersOption = None,
    concurrency: Annotated[Optional[int], typer.Option(
        help="Candidates in flight in every search (default: 1 in-process, else twice --workers; it replaces "
        "the file's `concurrency`).")] = None,
    ray_address: RayAddressOption = None,
    gpus_per_worker: GpusPerWorkerOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
) -> None:
    """Run every search of a batch file (all are validated before the first starts)."""
    entries = load_batch(file)
    devices = {entry.request.scoring.device for entry in entries}
    spec = ExecutorSpec.parse(executor, workers, ray_address, gpus_per_worker, "cuda" if "cuda" in devices else "auto")
    in_flight = spec.default_concurrency if concurrency is None else integer_field("concurrency", concurrency, 1)
    if concurrency is not None or in_flight > 1:
        entries = [replace(entry, request=entry.request.with_execution(Execution(in_flight, spec)))
                   for entry in entries]
    out.mkdir(parents=True, exist_ok=True)
    cache = calibration_cache_of(cache_dir, no_cache)  # the file's searches share calibrations
    rows = []
    with spec.build() as scoring:  # one pool for the whole file: its workers stay warm from search to search
        for position, entry in enumerate(entries, start=1):
            request = entry.request
            with SearchProgressDisplay(progress_display(), f"[{position}/{len(entries)}] {entry.name}") as display:
                result = search_in_folder(request, out / entry.name, on_progress=display, executor=scoring,
                                          calibration_cache=cache,
                                          latency_cache=latency_cache_of(cache_dir, no_cache))
            best = result.students[0]
            rows.append([entry.name, request.scoring.teacher, request.space, request.strategy.name,
                         request.describe_budget(), result.evaluations, f"{result.seconds:.1f}", f"{best.score:.6g}",
                         best.arch, best.params, best.flops])
    with open(out / "summary.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        writer.writerows(rows)
    widths = [max(len(str(row[i])) for row in [SUMMARY_COLUMNS, *rows]) for i in range(len(SUMMARY_COLUMNS))]
    for row in [SUMMARY_COLUMNS, *rows]:
        typer.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
    typer.echo(f"summary: {out / 'summary.csv'}")
