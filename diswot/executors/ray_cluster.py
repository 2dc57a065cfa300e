"""Ray (`--executor ray`): a local Ray started for the search, or a running cluster at `--ray-address`.

The executor starts one Ray actor per worker and sends each task to an idle actor; tasks wait in this process
until one is idle, so a slow candidate holds up no other. An actor is a worker process of its own, kept for the
whole search: a call to it goes straight to its process (no scheduling round through Ray's raylet per task, as
a plain Ray task needs). Every call carries the pickled setup (a few kB); the default task function unpickles it
once per actor and builds the scorer once from it. A stand-in task function that never asks for the setup (the
scheduling benchmark's) runs without loading torch.

An actor whose process dies is restarted by Ray and its task run again (MAX_RETRIES times); one that Ray cannot
reach (its node left the cluster, or it kept dying) is replaced by a new actor, on a node with room, which scores
the task again; a task whose actors failed under it more than MAX_RETRIES times is handed back as failed. The
actors are spread over the cluster's nodes (Ray's SPREAD scheduling). On a cluster, every node needs diswot
installed (the same version) and the teacher and data files at the same paths. With `gpus_per_worker` (fractions
allowed, e.g. 0.25: four workers share a GPU) each actor reserves that share of a GPU and scores on the GPU Ray
gives it.

This module imports neither torch nor Ray until they are needed.
"""

from __future__ import annotations

import pickle
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from diswot.executors.base import Executor
from diswot.executors.tasks import ScoringOutcome, Task

if TYPE_CHECKING:
    from diswot.scoring_setup import ScoringSetup

MAX_RETRIES = 3


def import_ray():
    try:
        import ray
    except ImportError:
        from diswot.errors import DiswotError

        raise DiswotError("the ray executor needs Ray: pip install 'diswot[ray]'") from None
    return ray


def score_on_ray_worker(setup: Callable[[], "ScoringSetup"], task: Task) -> ScoringOutcome:
    """The default task function: one thread (an actor reserves one CPU), on the GPU Ray assigned, if any."""
    from diswot.executors.worker import configure_worker, run_with_setup

    configure_worker(1, "cuda" if import_ray().get_gpu_ids() else None)
    return run_with_setup(setup(), task)


class ScoringActor:
    """One worker: runs `task_function(setup, task)` for each task it is sent, in its own process; `setup()`
    gives the search's setup, unpickled when a task function first asks for it."""

    def __init__(self, task_function: Callable[[Callable[[], "ScoringSetup"], Task], ScoringOutcome]):
        self.task_function = task_function
        self.setup_bytes: Optional[bytes] = None
        self.unpickled: Any = None

    def ready(self) -> bool:
        return True

    def setup(self) -> "ScoringSetup":
        if self.unpickled is None:
            self.unpickled = pickle.loads(self.setup_bytes)
        return self.unpickled

    def run(self, setup_bytes: bytes, task: Task) -> ScoringOutcome:
        # The setup comes with every task (a few kB, inside the call), so an actor Ray restarts has it too.
        if setup_bytes != self.setup_bytes:
            self.setup_bytes, self.unpickled = setup_bytes, None
        return self.task_function(self.setup, task)


@dataclass
class _Slot:
    """A task submitted, in submission order; `reference` once it is sent to an actor (`actor`: its index, `handle`:
    the actor it went to); `failures`: times its actor died or became unreachable under it."""

    task: Task
    reference: Any = None
    actor: int = -1
    handle: Any = None
    failures: int = 0


class RayExecutor(Executor):
    kind = "ray"

    @classmethod
    def from_spec(cls, spec):
        return cls(spec.workers, address=spec.ray_address, gpus_per_worker=spec.gpus_per_worker)

    def __init__(self, workers: int = 2, address: Optional[str] = None, gpus_per_worker: float = 0.0,
                 score_function: Callable[[Callable[[], "ScoringSetup"], Task], ScoringOutcome] = score_on_ray_worker):
        super().__init__(workers)
        self.address = address
        self.gpus_per_worker = gpus_per_worker
        self.score_function = score_function
        self.actors: list[Any] = []
        self.slots: deque[_Slot] = deque()  # every task not handed back yet, in submission order
        self.waiting: deque[_Slot] = deque()  # tasks not sent to an actor yet
        self.running: dict[Any, int] = {}  # reference of a task sent and not known to be done -> its actor
        self.idle: deque[int] = deque()

    def start(self, setup, scorer) -> None:
        ray = import_ray()
        if not ray.is_initialized():
            local = {} if self.address else {"num_cpus": self.workers}
            # A local Ray's workers inherit this process's environment (PYTHONPATH included).
            # Ray stays up for the next search of this process (a batch, the service's jobs) and stops at its exit.
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, **local)
        self.update_setup(setup)
        if self.actors:
            return  # the actors of the last search are warm
        self.actors = [self._new_actor() for _ in range(self.workers)]
        ray.get([each.ready.remote() for each in self.actors])  # every worker up before the first task
        self.idle = deque(range(self.workers))

    def _new_actor(self) -> Any:
        # SPREAD: the actors go to as many nodes as they can, not packed onto the first one.
        return import_ray().remote(ScoringActor).options(
            num_cpus=1, num_gpus=self.gpus_per_worker, max_restarts=-1, max_task_retries=MAX_RETRIES,
            scheduling_strategy="SPREAD",
        ).remote(self.score_function)

    def update_setup(self, setup) -> None:
        super().update_setup(setup)
        self.setup_bytes = pickle.dumps(setup)

    def submit(self, task: Task) -> None:
        slot = _Slot(task)
        self.slots.append(slot)
        self.waiting.append(slot)
        self._send_waiting()

    def _send_waiting(self) -> None:
        while self.waiting and self.idle:
            slot, actor = self.waiting.popleft(), self.idle.popleft()
            slot.actor, slot.handle = actor, self.actors[actor]
            slot.reference = slot.handle.run.remote(self.setup_bytes, slot.task)
            self.running[slot.reference] = actor

    def _wait_for_a_worker(self) -> None:
        """Wait until at least one running task is done; its actor takes the next waiting task."""
        ray = import_ray()
        done, _ = ray.wait(list(self.running), num_returns=1)
        for reference in done:
            self.idle.append(self.running.pop(reference))
        self._send_waiting()

    def next_outcome(self) -> ScoringOutcome:
        ray = import_ray()
        while True:
            oldest = self.slots[0]
            # With tasks waiting, every actor that finishes takes the next one; with none waiting (at most `workers`
            # in flight, the default) waiting for the oldest is enough: its actor is the one the next task goes to.
            while oldest.reference is None or (self.waiting and oldest.reference in self.running):
                self._wait_for_a_worker()
            if oldest.reference in self.running:
                self.idle.append(self.running.pop(oldest.reference))
            try:
                outcome = ray.get(oldest.reference)
            except ray.exceptions.RayActorError as error:
                # Ray restarts an actor whose process died and runs its task again; an actor whose node left the
                # cluster stays unreachable until the cluster notices: either way, a fresh actor scores it.
                oldest.failures += 1
                self._replace_actor(oldest)
                if oldest.failures <= MAX_RETRIES:
                    oldest.reference = None
                    self.waiting.appendleft(oldest)
                    self._send_waiting()
                    continue
                outcome = ScoringOutcome(None, f"its Ray worker died {oldest.failures} times ({type(error).__name__})",
                                         "unknown")
            self.slots.popleft()
            return self.handed_back(outcome)

    def _replace_actor(self, slot: _Slot) -> None:
        """A new actor in the place of the one `slot` failed on (unless a task that failed there earlier replaced it
        already); Ray puts it on a node with room."""
        if self.actors[slot.actor] is slot.handle:
            import_ray().kill(slot.handle, no_restart=True)
            self.actors[slot.actor] = self._new_actor()

    def cancel(self) -> None:
        """Drop the waiting tasks and stop the workers now: a cancelled search leaves no remote work running."""
        self.close()

    def close(self) -> None:
        ray = import_ray() if self.actors else None
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        self.actors = []
        self.slots.clear()
        self.waiting.clear()
        self.running.clear()
        self.idle.clear()
