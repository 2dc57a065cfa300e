"""The worker pool: jobs run on a few threads outside the request path (torch releases the GIL), each by its kind
(`api.job_kinds`: searches, distillations); a cancelled job stops the work it has in flight.

The pool takes its jobs from the database, not from the requests it received: while it has a free thread it
claims the oldest job that is queued, or whose lease expired (`api.jobs`), whichever replica accepted it. A
submission here wakes it at once; otherwise it looks every `claim_interval_seconds`. One thread (the lease
keeper) claims and renews the leases of this replica's running jobs every `lease_renewal_seconds`; a job whose
lease was taken over by another replica stops at its next check. A job resumed after a takeover or a restart
replays its stored evaluations (a search) or its last checkpoint (a distillation) and ends with the result of an
uninterrupted run. A shutdown stops running jobs at their next check and gives them back, queued, to any replica.
On SQLite the server is alone on its database (`api.sqlite_lock`): at start, jobs a crash left running are queued
again at once instead of waiting for their leases to expire.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

from api.db import Database
from api.job_kinds import JOB_KINDS, kind_of
from api.jobs import JobRepository
from api.settings import Settings
from diswot.executors import Executor, ExecutorSpec

logger = logging.getLogger(__name__)


class SearchWorkerPool:
    def __init__(self, database: Database, jobs: JobRepository, settings: Settings):
        self.database = database
        self.jobs = jobs
        self.settings = settings
        self.concurrent_jobs = settings.concurrent_jobs
        self.stopping = threading.Event()
        self.executor: Optional[ThreadPoolExecutor] = None
        # Requests parsed at submission, by job id, until the job starts here (it runs them as they are) or is seen
        # claimed by another replica.
        self.parsed: dict[str, Any] = {}
        self.active: set[str] = set()  # jobs this replica runs now, under its leases
        self.lost: set[str] = set()  # of those, the ones another replica took over: they stop at their next check
        self.active_lock = threading.Lock()
        self.claim_lock = threading.Lock()  # a claim and the hand-over of its job to a thread, as one step
        self.wake = threading.Event()
        self.lease_keeper: Optional[threading.Thread] = None
        self.keeper_done = threading.Event()
        # Each job thread's executor, kept from one job to the next (its workers warm); the pool owns and closes them.
        self.thread_executors = threading.local()
        self.executors: list[Executor] = []
        self.executors_lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.executor is not None and not self.stopping.is_set()

    def start(self) -> None:
        self.stopping.clear()
        self.keeper_done.clear()
        self.executor = ThreadPoolExecutor(self.concurrent_jobs, thread_name_prefix="diswot-search")
        if self.database.is_sqlite:
            self.jobs.recover_interrupted()
        self.lease_keeper = threading.Thread(target=self._keep_leases, name="diswot-leases", daemon=True)
        self.lease_keeper.start()

    def enqueue(self, job_id: str, parsed: Any = None) -> None:
        """A job was queued here: look for work now; `parsed`: its request as parsed at submission (None, or the
        job claimed by another replica: the stored one is parsed when it starts)."""
        if parsed is not None:
            self.parsed[job_id] = parsed
        self.wake.set()

    def should_stop(self, job_id: str) -> bool:
        """Whether a running job stops at this check: a shutdown, its lease taken over, or a cancel (a query)."""
        return self.stopping.is_set() or job_id in self.lost or self.jobs.cancel_requested(job_id)

    def stop(self) -> None:
        """Stop claiming, let running jobs stop at their next check and give their leases back (renewed meanwhile)."""
        self.stopping.set()
        with self.claim_lock:  # a claim in flight has handed its job to a thread
            pass
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
        for job_id in list(self.active):  # claimed in the instant before the shutdown, never started
            self.jobs.requeue(job_id)
        self.active.clear()
        self.keeper_done.set()
        self.wake.set()
        if self.lease_keeper is not None:
            self.lease_keeper.join()
            self.lease_keeper = None
        with self.executors_lock:
            for scoring in self.executors:
                scoring.close()
            self.executors.clear()

    def warm_executor(self, spec: ExecutorSpec) -> Executor:
        """This job thread's executor for `spec`: the one its last job used (workers started, torch imported, the
        teacher's statistics kept for the same setup), or a new one when the spec differs."""
        kept = getattr(self.thread_executors, "kept", None)
        if kept is not None and kept[0] == spec:
            return kept[1]
        scoring = spec.build()
        with self.executors_lock:
            if kept is not None:
                kept[1].close()
                self.executors.remove(kept[1])
            self.executors.append(scoring)
        self.thread_executors.kept = (spec, scoring)
        return scoring

    def _keep_leases(self) -> None:
        """The lease keeper's loop until shutdown: claim while a thread is free, renew leases when due. The leases
        of jobs still stopping after a shutdown began are renewed until they have given them back."""
        renewed_at = time.monotonic()
        while not self.keeper_done.is_set():
            try:
                if time.monotonic() - renewed_at >= self.settings.lease_renewal_seconds:
                    renewed_at = time.monotonic()
                    self._renew()
                self._claim_while_free()
            except Exception:  # a database that is down for a while: log, and try again at the next turn
                logger.exception("the lease keeper could not reach the database")
            self.wake.wait(min(self.settings.claim_interval_seconds, self.settings.lease_renewal_seconds))
            self.wake.clear()

    def _renew(self) -> None:
        with self.active_lock:
            active = list(self.active)
        held = self.jobs.renew_leases(active, self.settings.lease_seconds)
        with self.active_lock:
            for job_id in set(active) - held:
                if job_id in self.active and job_id not in self.lost:
                    logger.warning("job %s: its lease was taken over by another replica; stopping it here", job_id)
                    self.lost.add(job_id)

    def _claim_while_free(self) -> None:
        while len(self.active) < self.concurrent_jobs:
            with self.claim_lock:
                if self.stopping.is_set():
                    return
                claimed = self.jobs.claim_next(self.settings.lease_seconds, self.settings.max_takeovers)
                if claimed is None:
                    break
                job_id, config = claimed
                with self.active_lock:
                    self.active.add(job_id)
                self.executor.submit(self._run_logged, job_id, config)
        if self.parsed:  # requests accepted here whose jobs another replica took
            waiting = set(self.parsed)
            for job_id in waiting - self.jobs.queued(list(waiting)) - self.active:
                self.parsed.pop(job_id, None)

    def _run_logged(self, job_id: str, config: dict[str, Any]) -> None:
        try:
            JOB_KINDS.get(kind_of(config)).run(self, job_id, config, self.parsed.pop(job_id, None))
        except Exception:  # an executor keeps exceptions in futures nobody reads: log them instead
            logger.exception("job %s: the worker failed outside the search", job_id)
        finally:
            with self.active_lock:
                self.active.discard(job_id)
                self.lost.discard(job_id)
            self.wake.set()  # a thread is free: claim the next job now
