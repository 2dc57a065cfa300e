"""Ray (`--executor ray`): a local Ray started for the search, or a running cluster at `--ray-address`.

Each task runs `score_function(setup, task)` in a Ray worker process, which builds its scorer once from the
setup (put into Ray's object store once per search) and keeps it for the next tasks. Ray retries a task whose
worker process died (MAX_RETRIES times) on a fresh worker; a task still failing after that is handed back as
failed. On a cluster, every node needs diswot installed (the same version) and the teacher and data files at
the same paths. With `gpus_per_worker` (fractions allowed, e.g. 0.25: four workers share a GPU) each task
reserves that share of a GPU and scores on the GPU Ray gives it.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Optional

from diswot.errors import DiswotError
from diswot.executors.base import Executor, ScoringOutcome, ScoringTask
from diswot.executors.worker import score_with_setup

MAX_RETRIES = 3


def import_ray():
    try:
        import ray
    except ImportError:
        raise DiswotError("the ray executor needs Ray: pip install 'diswot[ray]'") from None
    return ray


def _on_ray_worker(score_function, threads: int, setup, task: ScoringTask) -> ScoringOutcome:
    from diswot.executors.worker import configure_worker

    ray = import_ray()
    configure_worker(threads, "cuda" if ray.get_gpu_ids() else None)
    return score_function(setup, task)


class RayExecutor(Executor):
    kind = "ray"

    def __init__(self, workers: int = 2, address: Optional[str] = None, gpus_per_worker: float = 0.0,
                 threads_per_worker: int = 1, score_function: Callable[..., ScoringOutcome] = score_with_setup):
        super().__init__(workers)
        self.address = address
        self.gpus_per_worker = gpus_per_worker
        self.threads_per_worker = threads_per_worker
        self.score_function = score_function
        self.started_ray = False
        self.in_flight: deque[Any] = deque()

    def start(self, setup, scorer) -> None:
        ray = import_ray()
        if not ray.is_initialized():
            local = {} if self.address else {"num_cpus": self.workers}
            # A local Ray's workers inherit this process's environment (PYTHONPATH included).
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, **local)
            self.started_ray = True
        self.setup_ref = ray.put(setup)
        self.remote = ray.remote(_on_ray_worker).options(
            num_cpus=self.threads_per_worker, num_gpus=self.gpus_per_worker, max_retries=MAX_RETRIES,
        )
        self.function_ref = ray.put(self.score_function)

    def submit(self, task: ScoringTask) -> None:
        self.in_flight.append(self.remote.remote(self.function_ref, self.threads_per_worker, self.setup_ref, task))

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
        if self.started_ray:
            import_ray().shutdown()
            self.started_ray = False
