"""What runs inside a worker process (a process-pool worker or a Ray worker): one scorer per process, built from
the first setup it is sent and reused while the setups it is sent stay the same."""

from __future__ import annotations

from typing import Optional

import torch

from diswot.executors.base import ScoringOutcome, ScoringTask, score_task
from diswot.scorer import Scorer
from diswot.scoring_setup import ScoringSetup

_built: Optional[tuple[ScoringSetup, Scorer]] = None
_device: Optional[str] = None  # this worker's own GPU, when the pool hands each worker one


def configure_worker(threads: int, device: Optional[str] = None) -> None:
    """Threads per worker (1 by default: workers, not threads, share the cores) and the worker's device."""
    global _device
    torch.set_num_threads(threads)
    _device = device


def scorer_for(setup: ScoringSetup) -> Scorer:
    global _built
    if _built is None or _built[0] != setup:
        scoring = setup if _device is None else setup.on_device(_device)
        _built = (setup, scoring.build_scorer())
    return _built[1]


def score_with_setup(setup: ScoringSetup, task: ScoringTask) -> ScoringOutcome:
    return score_task(scorer_for(setup), task)
