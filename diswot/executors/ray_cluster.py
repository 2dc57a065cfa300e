"""Ray (`--executor ray`): a local Ray started for the search, or a running cluster at `--ray-address`.

Each task runs `score_function(setup_box, task)` in a Ray worker process. The default one takes the setup out
of Ray's object store (put there once per search), builds its scorer once per worker and keeps it for the next
tasks. The setup travels boxed (a one-element list holding its reference), so Ray does not fetch it before the
call: a stand-in scorer that ignores it (the scheduling benchmark's) runs without loading torch. Ray retries a
task whose worker process died (MAX_RETRIES times) on a fresh worker; a task still failing after that is handed
back as failed. On a cluster, every node needs diswot installed (the same version) and the teacher and data
files at the same paths. With `gpus_per_worker` (fractions allowed, e.g. 0.25: four workers share a GPU) each
task reserves that share of a GPU and scores on the GPU Ray gives it.

This module imports neither torch nor Ray until they are needed.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Optional

from diswot.executors.base import Executor
from diswot.executors.tasks import ScoringOutcome, ScoringTask

MAX_RETRIES = 3


def import_ray():
    try:
        import ray
    except ImportError:
        from diswot.errors import DiswotError

        raise DiswotError("the ray executor needs Ray: pip install 'diswot[ray]'") from None
    return ray


def score_on_ray_worker(setup_box: list, task: ScoringTask) -> ScoringOutcome:
    """The default task: one thread (a task reserves one CPU), on the GPU Ray assigned, if any."""
    from diswot.executors.worker import configure_worker, score_with_setup

    ray = import_ray()
    configure_worker(1, "cuda" if ray.get_gpu_ids() else None)
    return score_with_setup(ray.get(setup_box[0]), task)


def _run_on_ray_worker(score_function, setup_box: list, task: ScoringTask) -> ScoringOutcome:
    return score_function(setup_box, task)


class RayExecutor(Executor):
    kind = "ray"

    def __init__(self, workers: int = 2, address: Optional[str] = None, gpus_per_worker: float = 0.0,
                 score_function: Callable[[list, ScoringTask], ScoringOutcome] = score_on_ray_worker):
        super().__init__(workers)
        self.address = address
        self.gpus_per_worker = gpus_per_worker
        self.score_function = score_function
        self.in_flight: deque[Any] = deque()

    def start(self, setup, scorer) -> None:
        ray = import_ray()
        if not ray.is_initialized():
            local = {} if self.address else {"num_cpus": self.workers}
            # A local Ray's workers inherit this process's environment (PYTHONPATH included).
            # Ray stays up for the next search of this process (a batch, the service's jobs) and stops at its exit.
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, **local)
        self.setup_box = [ray.put(setup)]
        self.function_ref = ray.put(self.score_function)
        self.remote = ray.remote(_run_on_ray_worker).options(
            num_cpus=1, num_gpus=self.gpus_per_worker, max_retries=MAX_RETRIES,
        )

    def submit(self, task: ScoringTask) -> None:
        self.in_flight.append(self.remote.remote(self.function_ref, self.setup_box, task))

    def next_outcome(self) -> ScoringOutcome:
        ray = import_ray()
        reference = self.in_flight.popleft()
        try:
            outcome = ray.get(reference)
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as error:
            outcome = ScoringOutcome(None, f"its Ray worker died {MAX_RETRIES + 1} times ({type(error).__name__})",
                                     "unknown")
        return self.handed_back(outcome)

    def cancel(self) -> None:
        ray = import_ray()
        for reference in self.in_flight:
            ray.cancel(reference, force=True)
        self.in_flight.clear()

    def close(self) -> None:
        self.in_flight.clear()
