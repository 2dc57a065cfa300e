"""The worker pool: jobs run on a few threads outside the request path (torch releases the GIL), each by its kind
(`api.job_kinds`: searches, distillations); a cancelled job stops the work it has in flight.

At start, jobs a crash left running are queued again and every queued job is started in creation order; a job
resumed this way replays its stored evaluations (a search) or its last checkpoint (a distillation) and ends with
the result of an uninterrupted run. A shutdown stops running jobs at their next check and leaves them queued, to
resume at the next start.
"""

from __future__ import annotations

import logging
import threading
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
        # Requests parsed at submission, by job id, until the job starts: it runs them as they are.
        self.parsed: dict[str, Any] = {}
        # Each job thread's executor, kept from one job to the next (its workers warm); the pool owns and closes them.
        self.thread_executors = threading.local()
        self.executors: list[Executor] = []
        self.executors_lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.executor is not None and not self.stopping.is_set()

    def start(self) -> None:
        self.stopping.clear()
        self.executor = ThreadPoolExecutor(self.concurrent_jobs, thread_name_prefix="diswot-search")
        for job_id in self.jobs.recover_interrupted():
            self.enqueue(job_id)

    def enqueue(self, job_id: str, parsed: Any = None) -> None:
        """Run the job when a thread is free; `parsed`: its request as parsed at submission (None: the stored one
        is parsed when it starts)."""
        if parsed is not None:
            self.parsed[job_id] = parsed
        self.executor.submit(self._run_logged, job_id)

    def stop(self) -> None:
        self.stopping.set()
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
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

    def _run_logged(self, job_id: str) -> None:
        try:
            self.run(job_id)
        except Exception:  # an executor keeps exceptions in futures nobody reads: log them instead
            logger.exception("job %s: the worker failed outside the search", job_id)

    def run(self, job_id: str) -> None:
        parsed = self.parsed.pop(job_id, None)
        config = self.jobs.claim(job_id)
        if config is None:
            return  # cancelled or deleted while it waited
        JOB_KINDS.get(kind_of(config)).run(self, job_id, config, parsed)
