"""Search jobs: a search request run on this server's executor (`DISWOT_EXECUTOR`, `DISWOT_WORKERS_PER_JOB`,
`DISWOT_RAY_ADDRESS`; each job thread keeps its workers warm for its next job), its evaluations stored as they
are told, its progress written to the job. A job this process accepted runs the request parsed at submission;
a job queued before a restart parses its stored config (with this server's settings now: its files are resolved
in today's directories)."""

from __future__ import annotations

import time
from typing import Any, Optional

from api.job_kinds import SEARCH_KIND, JobKind, register_job_kind, run_to_its_end
from api.jobs import JobRepository
from api.store import SqlCalibrationCache, SqlEvaluationStore
from api.validation import search_request
from diswot.student_search import SearchCancelled, SearchProgress, SearchRequest, search

# Progress is written at most this often: pollers see it move, the database is not written per candidate.
PROGRESS_INTERVAL_S = 0.25


def run_search_job(pool, job_id: str, config: dict[str, Any], parsed: Optional[SearchRequest]) -> None:
    progress = ProgressWriter(pool.jobs, job_id)

    def run() -> dict[str, Any]:
        try:
            request = parsed if parsed is not None else search_request(config, pool.settings)
            return search(
                request,
                store=SqlEvaluationStore(pool.database, job_id, lease_holder=pool.jobs),
                executor=pool.warm_executor(request.execution.executor),
                on_progress=progress,
                should_stop=lambda: pool.should_stop(job_id),
                calibration_cache=SqlCalibrationCache(pool.database),
                latency_cache=pool.settings.latency_cache,
            ).to_dict()
        finally:
            progress.flush()  # the last progress, however the run ends (written while the job is still running)

    run_to_its_end(pool.jobs, job_id, SEARCH_KIND, run, SearchCancelled)


class ProgressWriter:
    """`on_progress` for one job: keeps the latest SearchProgress and writes it at most every PROGRESS_INTERVAL_S,
    and at once when the stage changes (a poller sees every stage)."""

    def __init__(self, jobs: JobRepository, job_id: str):
        self.jobs = jobs
        self.job_id = job_id
        self.latest: Optional[SearchProgress] = None
        self.last_search: Optional[SearchProgress] = None
        self.confirm_started: Optional[float] = None
        self.written_at = float("-inf")
        self.written_stage: Optional[str] = None

    def __call__(self, progress: SearchProgress) -> None:
        self.latest = progress
        if progress.stage == "search":
            self.last_search = progress
        elif progress.stage == "confirm" and self.confirm_started is None:
            self.confirm_started = progress.elapsed
        if progress.stage != self.written_stage or time.monotonic() - self.written_at >= PROGRESS_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        """The job's evaluation counts are the search's (kept through the confirm stage; none during the
        calibration), the stage's own count beside them, and the current stage's ETA."""
        progress = self.latest
        if progress is None:
            return
        eta, elapsed, done = None, progress.elapsed, progress.evaluations
        if progress.stage == "confirm":
            elapsed -= self.confirm_started or 0.0
        if progress.total is not None and done:
            eta = elapsed / done * max(progress.total - done, 0)
        counts = self.last_search or SearchProgress(0, None, None, 0.0)
        self.jobs.record_progress(self.job_id, counts.evaluations, counts.total, progress.best_score, eta,
                                  progress.stage, progress.evaluations, progress.total)
        self.written_at = time.monotonic()
        self.written_stage = progress.stage


register_job_kind(JobKind(SEARCH_KIND, run_search_job))
