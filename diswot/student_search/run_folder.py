"""A search's run folder: request.json, evaluations.jsonl (the store), result.json, history.csv and plots.

Running the same request with the same folder resumes it; a different request is refused, so a folder never
mixes two searches. A search refused before it found a feasible candidate (a budget nothing meets, probe data that
cannot be read) leaves a folder it created as it found it, so the corrected command can use the same `--out`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Callable, Iterable, Optional, TextIO

from diswot.calibration_cache import CalibrationCache
from diswot.errors import DiswotError
from diswot.executors import Executor
from diswot.student_search.evaluation import Evaluation
from diswot.student_search.plots import plotting_available, write_plots
from diswot.student_search.request import FLAT_DEFAULTS, SearchRequest
from diswot.student_search.result import SearchResult
from diswot.student_search.runner import SearchProgress, search
from diswot.student_search.store import JsonlStore

HISTORY_COLUMNS = ("index", "stage", "arch", "canonical", "feasible", "score", "params", "flops", "seconds")
REQUEST_FILE = "request.json"
EVALUATIONS_FILE = "evaluations.jsonl"


# Folders written before a field existed ran with this value of it.
PREDATING_VALUES = {"concurrency": 1}


def open_run_folder(folder: Path, search_request: SearchRequest) -> JsonlStore:
    """Create `folder` for `search_request`, or reopen it if it holds the same search. The stored request.json is
    compared field by field with the request's flat form; a field the request does not use (another strategy's
    setting) is not compared, and a field added since the folder was written has the value it ran with there."""
    folder.mkdir(parents=True, exist_ok=True)
    request_path = folder / REQUEST_FILE
    request = search_request.to_dict()
    if request_path.exists():
        stored = {**FLAT_DEFAULTS, **PREDATING_VALUES, **json.loads(request_path.read_text())}
        differing = sorted(key for key in request if stored.get(key) != request[key])
        if differing:
            name = differing[0]
            raise DiswotError(
                f"run folder {folder} holds a different search ({name}: {stored.get(name)!r} there, "
                f"{request.get(name)!r} now); use another --out"
            )
    else:
        request_path.write_text(json.dumps(request, indent=2))
    return JsonlStore(folder / EVALUATIONS_FILE)


def write_history_csv(numbered: Iterable[tuple[int, Evaluation]], handle: TextIO) -> None:
    """Evaluations as CSV rows (`numbered`: (index from 1 in evaluation order, evaluation) pairs), one column per
    proxy after the fixed ones: the run folder's history.csv and the service's CSV export."""
    numbered = list(numbered)
    extra_columns = sorted({name for _, e in numbered for name in e.scores})
    writer = csv.writer(handle)
    writer.writerow([*HISTORY_COLUMNS, *extra_columns])
    for index, e in numbered:
        writer.writerow(
            [index, e.stage, e.arch, e.canonical, e.feasible, e.score, e.params, e.flops, f"{e.seconds:.4f}"]
            + [e.scores.get(name) for name in extra_columns]
        )


def write_run_folder(result: SearchResult, folder: Path) -> list[Path]:
    paths = [folder / "result.json", folder / "history.csv"]
    paths[0].write_text(json.dumps(result.to_dict(), indent=2))
    with open(paths[1], "w", newline="") as handle:
        write_history_csv(enumerate(result.history, start=1), handle)
    if plotting_available():
        paths += write_plots(result, folder)
    return paths


def search_in_folder(
    request: SearchRequest, folder: Path, on_progress: Optional[Callable[[SearchProgress], None]] = None,
    executor: Optional[Executor] = None, calibration_cache: Optional[CalibrationCache] = None,
    latency_cache: Optional[Path] = None,
) -> SearchResult:
    """Run (or resume) the parsed `request` with its store in `folder`, then write the result files there."""
    created = {path for path in (folder, folder / REQUEST_FILE, folder / EVALUATIONS_FILE) if not path.exists()}
    store = open_run_folder(folder, request)
    try:
        result = search(request, store=store, on_progress=on_progress, executor=executor,
                        calibration_cache=calibration_cache, latency_cache=latency_cache)
    except DiswotError:
        if not any(evaluation.feasible for evaluation in store.load()):
            remove_created(created)
        raise
    write_run_folder(result, folder)
    return result


def remove_created(paths: set[Path]) -> None:
    """Remove what a refused run created (its files, then its folder if it made it and nothing else is there)."""
    for path in sorted(paths, key=lambda path: len(path.parts), reverse=True):
        if path.is_file():
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
