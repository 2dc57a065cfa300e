"""Where a search's evaluations live as they happen, so that a stopped run resumes.

A store is append-only: `load()` returns what earlier runs of the same request evaluated, `append()` records one
evaluation durably before the search moves on. The CLI's run folder uses `JsonlStore`; the service has an
SQL store with the same two methods.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

from diswot.student_search.evaluation import Evaluation


class EvaluationStore(Protocol):
    def load(self) -> list[Evaluation]: ...

    def append(self, evaluation: Evaluation) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self.evaluations: list[Evaluation] = []

    def load(self) -> list[Evaluation]:
        return list(self.evaluations)

    def append(self, evaluation: Evaluation) -> None:
        self.evaluations.append(evaluation)


class JsonlStore:
    """One JSON line per evaluation, flushed and fsynced; a line cut short by a kill is ignored on load."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def load(self) -> list[Evaluation]:
        if not self.path.exists():
            return []
        evaluations, good_bytes = [], 0
        with open(self.path, "rb") as handle:
            for line in handle:
                try:
                    evaluations.append(Evaluation.from_dict(json.loads(line)))
                except (json.JSONDecodeError, UnicodeDecodeError, TypeError):
                    break  # the torn last line of a killed run
                good_bytes += len(line)
        if good_bytes < self.path.stat().st_size:
            os.truncate(self.path, good_bytes)  # so that later appends do not follow a torn line
        return evaluations

    def append(self, evaluation: Evaluation) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(evaluation.to_dict()) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
