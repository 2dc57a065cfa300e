"""The worker pool: searches run on a few threads outside the request path (torch releases the GIL), each
scoring its candidates on the executor the settings name (`DISWOT_EXECUTOR`, `DISWOT_WORKERS_PER_JOB`,
`DISWOT_RAY_ADDRESS`); a cancelled job stops the work it has in flight there.

At start, jobs a crash left running are queued again and every queued job is started in creation order; a job
resumed this way replays its stored evaluations and ends with the result of an uninterrupted run. A shutdown
stops running searches between two candidates and leaves them queued, to resume at the next start.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from api.db import Database
from api.distill_jobs import is_distillation, run_distill_job
from api.jobs import JobRepository
from api.settings import Settings
from api.store import SqlEvaluationStore
from api.validation import allowed_dirs
from diswot.errors import DiswotError
from diswot.executors import make_executor
from diswot.student_search import SearchCancelled, SearchConfig, SearchProgress, search

logger = logging.getLogger(__name__)

# Progress is written at most this often: pollers see it move, the database is not written per candidate.
PROGRESS_INTERVAL_S = 0.25


class SearchWorkerPool:
    def __init__(self, database: Database, jobs: JobRepository, settings: Settings):
        self.database = database
        self.jobs = jobs
        self.settings = settings
        self.concurrent_jobs = settings.concurrent_jobs
        self.stopping = threading.Event()
        self.executor: Optional[ThreadPoolExecutor] = None

    @property
    def running(self) -> bool:
        return self.executor is not None and not self.stopping.is_set()

    def start(self) -> None:
        self.stopping.clear()
        self.executor = ThreadPoolExecutor(self.concurrent_jobs, thread_name_prefix="diswot-search")
        for job_id in self.jobs.recover_interrupted():
            self.enqueue(job_id)

    def enqueue(self, job_id: str) -> None:
        self.executor.submit(self._run_logged, job_id)

    def stop(self) -> None:
        self.stopping.set()
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    def _run_logged(self, job_id: str) -> None:
        try:
            self.run(job_id)
        except Exception:  # an executor keeps exceptions in futures nobody reads: log them instead
            logger.exception("job %s: the worker failed outside the search", job_id)

    def run(self, job_id: str) -> None:
        config = self.jobs.claim(job_id)
        if config is None:
            return  # cancelled or deleted while it waited
        if is_distillation(config):
            run_distill_job(self, job_id, config)
            return
        progress = ProgressWriter(self.jobs, job_id)
        try:
            try:
                search_config = SearchConfig.from_dict(config)
                result = search(
                    search_config,
                    store=SqlEvaluationStore(self.database, job_id),
                    executor=make_executor(
                        self.settings.executor, self.settings.workers_per_job,
                        self.settings.ray_address if self.settings.executor == "ray" else None,
                        device=search_config.device,
                    ),
                    on_progress=progress,
                    should_stop=lambda: self.stopping.is_set() or self.jobs.cancel_requested(job_id),
                    **allowed_dirs(config, self.settings),  # this server's directories now, not at submission
                )
            finally:
                progress.flush()  # the last progress, however the run ends (written while the job is still running)
        except SearchCancelled:
            if self.jobs.cancel_requested(job_id):
                self.jobs.mark_cancelled(job_id)
            else:
                self.jobs.requeue(job_id)
            return
        except DiswotError as error:
            self.jobs.fail(job_id, str(error))
            return
        except Exception as error:
            logger.exception("job %s failed", job_id)
            self.jobs.fail(job_id, f"internal error: {type(error).__name__}: {error}")
            return
        self.jobs.succeed(job_id, result.to_dict())


class ProgressWriter:
    """`on_progress` for one job: keeps the latest SearchProgress and writes it at most every PROGRESS_INTERVAL_S."""

    def __init__(self, jobs: JobRepository, job_id: str):
        self.jobs = jobs
        self.job_id = job_id
        self.latest: Optional[SearchProgress] = None
        self.last_search: Optional[SearchProgress] = None
        self.confirm_started: Optional[float] = None
        self.written_at = float("-inf")

    def __call__(self, progress: SearchProgress) -> None:
        self.latest = progress
        if progress.stage == "search":
            self.last_search = progress
        elif self.confirm_started is None:
            self.confirm_started = progress.elapsed
        if time.monotonic() - self.written_at >= PROGRESS_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        """The job keeps the search's evaluation counts through the confirm stage; the ETA covers both stages."""
        progress = self.latest
        if progress is None:
            return
        eta, elapsed, done = None, progress.elapsed, progress.evaluations
        if progress.stage == "confirm":
            elapsed -= self.confirm_started or 0.0
        if progress.total is not None and done:
            eta = elapsed / done * max(progress.total - done, 0)
        counts = self.last_search or progress
        self.jobs.record_progress(self.job_id, counts.evaluations, counts.total, progress.best_score, eta)
        self.written_at = time.monotonic()
