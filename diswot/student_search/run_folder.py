"""A search's run folder: request.json, evaluations.jsonl (the store), result.json, history.csv and plots.

Running the same request with the same folder resumes it; a different request is refused, so a folder never
mixes two searches.
"""

from __future__ import annotations

import csv
import json
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Callable, Optional

from diswot.errors import DiswotError
from diswot.executors import Executor
from diswot.student_search.config import SearchConfig
from diswot.student_search.plots import plotting_available, write_plots
from diswot.student_search.result import SearchResult
from diswot.student_search.runner import SearchProgress, search
from diswot.student_search.store import JsonlStore

HISTORY_COLUMNS = ("index", "arch", "canonical", "feasible", "score", "params", "flops", "seconds")


def open_run_folder(folder: Path, config: SearchConfig) -> JsonlStore:
    """Create `folder` for `config`, or reopen it if it holds the same request."""
    folder.mkdir(parents=True, exist_ok=True)
    request_path = folder / "request.json"
    request = config.to_dict()
    if request_path.exists():
        # A field added since the folder was written has its default there (e.g. `concurrency`: 1).
        defaults = {f.name: f.default for f in fields(SearchConfig) if f.default is not MISSING}
        stored = {**defaults, **json.loads(request_path.read_text())}
        differing = sorted(key for key in set(stored) | set(request) if stored.get(key) != request.get(key))
        if differing:
            name = differing[0]
            raise DiswotError(
                f"run folder {folder} holds a different search ({name}: {stored.get(name)!r} there, "
                f"{request.get(name)!r} now); use another --out"
            )
    else:
        request_path.write_text(json.dumps(request, indent=2))
    return JsonlStore(folder / "evaluations.jsonl")


def write_run_folder(result: SearchResult, folder: Path) -> list[Path]:
    paths = [folder / "result.json", folder / "history.csv"]
    paths[0].write_text(json.dumps(result.to_dict(), indent=2))
    extra_columns = sorted({name for e in result.history for name in e.scores})
    with open(paths[1], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*HISTORY_COLUMNS, *extra_columns])
        for index, e in enumerate(result.history):
            writer.writerow(
                [index, e.arch, e.canonical, e.feasible, e.score, e.params, e.flops, f"{e.seconds:.4f}"]
                + [e.scores.get(name) for name in extra_columns]
            )
    if plotting_available():
        paths += write_plots(result, folder)
    return paths


def search_in_folder(
    config: SearchConfig, folder: Path, on_progress: Optional[Callable[[SearchProgress], None]] = None,
    executor: Optional[Executor] = None,
) -> SearchResult:
    """Run (or resume) `config` with its store in `folder`, then write the result files there."""
    config.validate()
    store = open_run_folder(folder, config)
    result = search(config, store=store, on_progress=on_progress, executor=executor)
    write_run_folder(result, folder)
    return result
