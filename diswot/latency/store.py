"""A key -> seconds map kept in memory and, given a path, in a JSON file (so a timing is made once per machine)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from diswot.errors import DiswotError

# The name of a cache folder's latency file (beside its `calibrations` folder, `diswot.calibration_cache`).
LATENCY_CACHE_FILE = "latency.json"


class LatencyStore:
    def __init__(self, path: str | Path | None = None):
        self.path = None if path is None else Path(path).expanduser()
        self._seconds: dict[str, float] = {}
        if self.path is not None and self.path.exists():
            try:
                self._seconds = {str(k): float(v) for k, v in json.loads(self.path.read_text()).items()}
            except (ValueError, AttributeError) as error:
                raise DiswotError(f"latency cache {self.path} is not a JSON object of seconds: {error}") from None

    def get(self, key: str) -> float | None:
        return self._seconds.get(key)

    def put(self, key: str, seconds: float) -> None:
        self._seconds[key] = seconds
        if self.path is not None:
            self._save()

    def __len__(self) -> int:
        return len(self._seconds)

    def _save(self) -> None:
        """Written whole to a temporary file, then renamed over the old one: a reader never sees half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(handle, "w") as file:
            json.dump(self._seconds, file, indent=0, sort_keys=True)
        os.replace(temporary, self.path)
