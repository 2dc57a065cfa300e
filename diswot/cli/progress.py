"""A terminal progress bar for searches: evaluations, best score, ETA."""

from __future__ import annotations

import sys
from typing import Callable, Optional

from tqdm import tqdm

from diswot.student_search import SearchProgress


def search_progress_bar(total: Optional[int], description: str) -> tuple[tqdm, Callable[[SearchProgress], None]]:
    bar = tqdm(total=total, desc=description, unit="cand", file=sys.stderr, dynamic_ncols=True)

    def update(progress: SearchProgress) -> None:
        if progress.stage != "search" and bar.desc != progress.stage:
            bar.reset(total=progress.total)  # the confirm stage counts the candidates it scores again
            bar.set_description(progress.stage)
        bar.n = progress.evaluations
        bar.set_postfix(best=f"{progress.best_score:.5g}", refresh=False)
        bar.refresh()

    return bar, update
