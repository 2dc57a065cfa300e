"""What runs inside a worker (a process-pool worker, a Ray worker, or the search's own process): run a task,
with one scorer per process built from the first setup it is sent and reused while the setups stay the same."""

from __future__ import annotations

import gc
from typing import Optional

import torch

from diswot.executors.tasks import CalibrationTask, ScoringOutcome, Task
from diswot.proxies import get_proxy
from diswot.proxies.batch_splitting import is_out_of_memory
from diswot.scorer import Scorer
from diswot.scoring_setup import ScoringSetup
from search_spaces import get_space

_built: Optional[tuple[ScoringSetup, Scorer]] = None
_device: Optional[str] = None  # this worker's own GPU, when the pool hands each worker one


def run_task(scorer: Scorer, task: Task) -> ScoringOutcome:
    """The task run on `scorer`: a candidate scored, or a calibration's reference cell measured. A candidate that
    runs out of memory even at the smallest batch split (`diswot.proxies.batch_splitting`) fails for its own
    reasons: that is its outcome, and the search goes on."""
    space = get_space(task.space)
    candidate = scorer.candidate(space, task.canonical)
    try:
        if isinstance(task, CalibrationTask):
            terms = get_proxy(task.proxy).calibration_terms(candidate)
            return ScoringOutcome(None, None, str(scorer.device), calibration_terms=dict(terms))
        record = scorer.score_candidate(candidate, inits=task.inits, first_init=task.first_init)
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return ScoringOutcome(None, f"out of memory at every batch size: {error}", str(scorer.device))
    return ScoringOutcome(record, None, str(scorer.device))


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
    # The same setup may come from another search (another space): its shipped calibrations are the ones to use.
    _built[1].calibrations.update(setup.calibrations)
    return _built[1]


def run_with_setup(setup: ScoringSetup, task: Task) -> ScoringOutcome:
    return run_task(scorer_for(setup), task)
