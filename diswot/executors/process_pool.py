"""A local pool of worker processes (`--executor process --workers N`), each single-threaded by default.

Workers are started with `spawn` (forking a process whose torch threads already run can deadlock them). A worker
that dies (killed, out of host memory) breaks the whole `ProcessPoolExecutor`; the pool is then replaced and
every task in flight is submitted again, so the search ends as it would have without the fault. A task whose
scoring has broken the pool MAX_ATTEMPTS times is handed back as failed, so a candidate that kills its worker
every time cannot stop the search.

A worker ends itself when the process that started it is gone (killed with SIGKILL, crashed): an idle worker
waits on a queue whose write end it holds itself, so nothing else would ever end it, and the multiprocessing
resource tracker, which lasts until every process holding its pipe has ended, would stay too.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Callable, Optional

from diswot.devices import resolve_device
from diswot.errors import DiswotError
from diswot.executors.base import Executor
from diswot.executors.tasks import ScoringOutcome, Task
from diswot.executors.worker import configure_worker, run_with_setup

MAX_ATTEMPTS = 3
# How often a worker checks that its parent still runs: an orphan outlives its parent by at most this.
PARENT_CHECK_INTERVAL_S = 1.0


@dataclass
class _Pending:
    task: Task
    future: Future
    attempts: int = 1


def _start_worker(threads: int, devices, parent_pid: int) -> None:
    _exit_with_parent(parent_pid)
    configure_worker(threads, None if devices is None else devices.get())


def _exit_with_parent(parent_pid: int) -> None:
    """A daemon thread that ends this worker once its parent is no longer `parent_pid` (an orphan is adopted by
    init or a subreaper). A thread that polls getppid, rather than Linux's PR_SET_PDEATHSIG: that signal comes
    when the parent *thread* that started the worker ends (the pool starts workers from whichever thread submits,
    a service job's thread), and exists on Linux only."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_INTERVAL_S)
        os._exit(1)  # no clean-up to run: nobody waits for this worker's results any more

    threading.Thread(target=watch, name="diswot-parent-watch", daemon=True).start()


class ProcessPoolScoringExecutor(Executor):
    kind = "process"

    def __init__(self, workers: int = 2, threads_per_worker: int = 1,
                 score_function: Callable[..., ScoringOutcome] = run_with_setup):
        super().__init__(workers)
        self.threads_per_worker = threads_per_worker
        self.score_function = score_function  # (setup, task) -> outcome, run in the worker
        self.pool: Optional[ProcessPoolExecutor] = None
        self.in_flight: deque[_Pending] = deque()
        self.restarts = 0  # pools replaced after a worker died
        self.breaks_in_a_row = 0  # pools broken with no outcome in between: workers that cannot even start
        self.gpus: list[str] = []

    def start(self, setup, scorer) -> None:
        self.setup = setup
        gpus = []
        # On CUDA, each worker gets a GPU of its own, round robin over the visible ones.
        if resolve_device(setup.device).type == "cuda":
            import torch

            gpus = [f"cuda:{index % torch.cuda.device_count()}" for index in range(self.workers)]
        if self.pool is None or gpus != self.gpus:  # else the workers of the last search are warm
            self.close()
            self.gpus = gpus
            self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        devices = None
        if self.gpus:
            devices = context.Queue()
            for device in self.gpus:
                devices.put(device)
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker,
                                   initargs=(self.threads_per_worker, devices, os.getpid()))

    def submit(self, task: Task) -> None:
        self.in_flight.append(_Pending(task, self._submitted(task)))

    def _submitted(self, task: Task) -> Future:
        try:
            return self.pool.submit(self.score_function, self.setup, task)
        except BrokenProcessPool as error:
            # A worker died since the last outcome: the task waits, like those in flight, for the new pool.
            broken: Future = Future()
            broken.set_exception(error)
            return broken

    def next_outcome(self) -> ScoringOutcome:
        while True:
            oldest = self.in_flight[0]
            if oldest.attempts > MAX_ATTEMPTS:
                self.in_flight.popleft()
                return self.handed_back(ScoringOutcome(
                    None, f"the worker process scoring it died {MAX_ATTEMPTS} times", "unknown"))
            try:
                outcome = oldest.future.result()
            except BrokenProcessPool:
                self.breaks_in_a_row += 1
                if self.breaks_in_a_row > MAX_ATTEMPTS:
                    raise DiswotError(
                        f"the scoring worker processes died {self.breaks_in_a_row} times in a row without scoring a "
                        "candidate (out of host memory? a program started with spawn must guard its entry point "
                        "with `if __name__ == '__main__':`)"
                    ) from None
                self._replace_pool()
                continue
            self.breaks_in_a_row = 0
            self.in_flight.popleft()
            return self.handed_back(outcome)

    def _replace_pool(self) -> None:
        """A new pool, and every task in flight submitted to it again (in order)."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.restarts += 1
        self.pool = self._new_pool()
        for pending in self.in_flight:
            pending.attempts += 1
            if pending.attempts <= MAX_ATTEMPTS:
                pending.future = self._submitted(pending.task)

    def cancel(self) -> None:
        """Drop the queued tasks and stop the workers now (a running candidate is not finished for nothing)."""
        self.in_flight.clear()
        if self.pool is not None:
            processes = list((self.pool._processes or {}).values())  # the standard pool offers no 'kill' of its own
            self.pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            self.pool = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        self.in_flight.clear()
