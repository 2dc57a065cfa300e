"""`diswot batch FILE.yaml`: many searches from one file, one line of progress each, and a summary table."""

from __future__ import annotations

import csv
from pathlib import Path

import typer

from diswot.cli.app import app
from diswot.cli.progress import search_progress_bar
from diswot.student_search.batch import load_batch
from diswot.student_search.run_folder import search_in_folder

SUMMARY_COLUMNS = ("search", "teacher", "space", "strategy", "budget", "evaluations", "seconds", "best_score", "best_arch",
                   "best_params", "best_flops")


@app.command("batch")
def batch_command(
    file: Path = typer.Argument(..., help="YAML batch file (see the README)."),
    out: Path = typer.Option(Path("runs/batch"), help="Folder for one run folder per search and summary.csv."),
) -> None:
    """Run every search of a batch file (all are validated before the first starts)."""
    entries = load_batch(file)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for position, entry in enumerate(entries, start=1):
        config = entry.config
        total = config.evaluation_limit
        bar, update = search_progress_bar(total, f"[{position}/{len(entries)}] {entry.name}")
        with bar:
            result = search_in_folder(config, out / entry.name, on_progress=update)
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
