"""`diswot batch FILE.yaml`: many searches from one file, one line of progress each, and a summary table."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from diswot.cli.app import app
from diswot.cli.executor_options import (
    EXECUTOR_OPTION,
    GPUS_PER_WORKER_OPTION,
    RAY_ADDRESS_OPTION,
    WORKERS_OPTION,
    optional_concurrency,
)
from diswot.cli.progress import search_progress_bar
from diswot.executors import make_executor
from diswot.student_search.batch import load_batch
from diswot.student_search.run_folder import search_in_folder

SUMMARY_COLUMNS = ("search", "teacher", "space", "strategy", "budget", "evaluations", "seconds", "best_score", "best_arch",
                   "best_params", "best_flops")


@app.command("batch")
def batch_command(
    file: Path = typer.Argument(..., help="YAML batch file (see the README)."),
    out: Path = typer.Option(Path("runs/batch"), help="Folder for one run folder per search and summary.csv."),
    executor: str = EXECUTOR_OPTION,
    workers: Optional[int] = WORKERS_OPTION,
    concurrency: Optional[int] = typer.Option(
        None, help="Candidates in flight in every search (default: 1 in-process, else twice --workers; it replaces "
        "the file's `concurrency`)."
    ),
    ray_address: Optional[str] = RAY_ADDRESS_OPTION,
    gpus_per_worker: Optional[float] = GPUS_PER_WORKER_OPTION,
) -> None:
    """Run every search of a batch file (all are validated before the first starts)."""
    entries = load_batch(file)
    devices = {entry.config.device for entry in entries}
    scoring = make_executor(executor, workers, ray_address, gpus_per_worker, "cuda" if "cuda" in devices else "auto")
    in_flight = optional_concurrency(concurrency, scoring)
    if concurrency is not None or in_flight > 1:
        entries = [replace(entry, config=replace(entry.config, concurrency=in_flight)) for entry in entries]
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for position, entry in enumerate(entries, start=1):
        config = entry.config
        total = config.evaluation_limit
        bar, update = search_progress_bar(total, f"[{position}/{len(entries)}] {entry.name}")
        with bar:
            result = search_in_folder(config, out / entry.name, on_progress=update, executor=scoring)
        best = result.students[0]
        rows.append([entry.name, config.teacher, config.space, config.strategy, config.budget.describe(),
                     result.evaluations, f"{result.seconds:.1f}", f"{best.score:.6g}", best.arch, best.params, best.flops])
    with open(out / "summary.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        writer.writerows(rows)
    widths = [max(len(str(row[i])) for row in [SUMMARY_COLUMNS, *rows]) for i in range(len(SUMMARY_COLUMNS))]
    for row in [SUMMARY_COLUMNS, *rows]:
        typer.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
    typer.echo(f"summary: {out / 'summary.csv'}")
