"""Progress on stderr, one stage at a time (a search's calibration, search and confirm stages; a distillation's
epochs): a tqdm bar per stage on a terminal, and in a log file or CI, where a bar would write a line per update,
one plain line per interval, at each change of stage and at each stage's end."""

from __future__ import annotations

import sys
import time
from typing import Callable, Optional, TextIO

from tqdm import tqdm

from diswot.student_search import SearchProgress

# Seconds between two plain lines within a stage.
PLAIN_INTERVAL_S = 10.0
SEARCH_UNITS = {"calibration": "cell", "search": "cand", "confirm": "finalist"}


def duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class TerminalProgress:
    """A tqdm bar per stage: a new stage closes the last bar (left on screen) and opens its own."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.stage: Optional[str] = None
        self.bar: Optional[tqdm] = None

    def show(self, stage: str, done: int, total: Optional[int], unit: str, figures: dict[str, str]) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, unit=unit, file=self.stream, dynamic_ncols=True)
        self.bar.total = total
        self.bar.n = done
        self.bar.set_postfix(figures, refresh=False)
        self.bar.refresh()

    def note(self, line: str) -> None:
        (self.bar.write if self.bar is not None else print)(line, file=self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class PlainProgress:
    """`stage done/total key=value ... elapsed` as one line: at a stage's first and last update and at most every
    `interval` seconds between."""

    def __init__(self, stream: TextIO, interval: float = PLAIN_INTERVAL_S, clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.stage: Optional[str] = None
        self.stage_started = 0.0
        self.written_at = float("-inf")
        self.pending: Optional[str] = None  # the last line not written yet: written when the stage changes

    def show(self, stage: str, done: int, total: Optional[int], unit: str, figures: dict[str, str]) -> None:
        now = self.clock()
        if stage != self.stage:
            self.close()
            self.stage, self.stage_started = stage, now
            self.written_at = float("-inf")
        counted = f"{done}/{total}" if total is not None else f"{done}"
        shown = "".join(f" {name} {value}" for name, value in figures.items())
        line = f"{stage} {counted} {unit}{shown} ({duration(now - self.stage_started)})"
        if now - self.written_at >= self.interval or (total is not None and done >= total):
            self.write(line)
            self.written_at = now
        else:
            self.pending = line

    def write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
        self.pending = None

    def note(self, line: str) -> None:
        self.write(line)

    def close(self) -> None:
        if self.pending is not None:
            self.write(self.pending)


def progress_display(stream: TextIO = sys.stderr) -> TerminalProgress | PlainProgress:
    """A bar per stage on a terminal, plain lines otherwise."""
    return TerminalProgress(stream) if stream.isatty() else PlainProgress(stream)


class SearchProgressDisplay:
    """`on_progress` for a search: each stage with its own count, the best score so far, and one line saying the
    run resumed from its stored evaluations. `last` is the latest progress (what an interrupted run had done);
    `label` goes before each stage's name (a batch's "[2/5] name")."""

    def __init__(self, display: TerminalProgress | PlainProgress, label: str = ""):
        self.display = display
        self.label = label
        self.last: Optional[SearchProgress] = None
        self.announced_resume = False

    def __call__(self, progress: SearchProgress) -> None:
        if progress.resumed and not self.announced_resume:
            self.display.note(f"{self.label} resumed from {progress.resumed} stored evaluations".lstrip())
            self.announced_resume = True
        self.last = progress
        figures = {} if progress.best_score is None else {"best": f"{progress.best_score:.5g}"}
        self.display.show(f"{self.label} {progress.stage}".lstrip(), progress.evaluations, progress.total,
                          SEARCH_UNITS.get(progress.stage, "step"), figures)

    def close(self) -> None:
        self.display.close()

    def __enter__(self) -> "SearchProgressDisplay":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
