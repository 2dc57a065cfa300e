"""What the routers of every job kind share: a job's view, its lookup, the 409 of a job without a result, and the
paged listing of one kind's jobs.

No `from __future__ import annotations` (see searches.py): the listing's query bounds come from the settings.
"""

from datetime import datetime, timezone
from typing import Annotated, Optional

from fastapi import APIRouter, HTTPException, Path, Query

from api.db import JobRow, utc_now
from api.dependencies import JobsDep
from api.schemas.responses import JobStatus, SearchJob, SearchJobPage, SearchJobProgress
from api.settings import Settings

JobId = Annotated[str, Path(max_length=64, description="The id returned when the job was submitted.")]
# Listing offsets stay far below what SQL integers hold.
MAX_OFFSET = 10**9


def as_utc(moment: Optional[datetime]) -> Optional[datetime]:
    # SQLite hands datetimes back without their zone; they were written in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def job_view(job: JobRow) -> SearchJob:
    started, finished = as_utc(job.started_at), as_utc(job.finished_at)
    elapsed = ((finished or utc_now()) - started).total_seconds() if started is not None else None
    progress = SearchJobProgress(
        evaluations=job.evaluations_done,
        total=job.evaluations_total,
        best_score=job.best_score,
        elapsed=elapsed,
        eta=job.eta_seconds,
    )
    return SearchJob(
        id=job.id,
        status=job.status,
        created_at=as_utc(job.created_at),
        started_at=started,
        finished_at=finished,
        progress=progress,
        error=job.error,
        cancel_requested=job.cancel_requested,
        runs=job.runs,
        config=job.config,
    )


def existing_job(jobs: JobsDep, job_id: str) -> JobRow:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no search job {job_id!r}")
    return job


def succeeded(job: JobRow, kind: str) -> JobRow:
    """The job, if it has succeeded; else a 409 saying why the `kind` job ("search", "distillation") has no result."""
    if job.status != "succeeded":
        reason = {"failed": f"it failed: {job.error}", "cancelled": "it was cancelled"}.get(
            job.status, f"it is {job.status}"
        )
        raise HTTPException(409, f"{kind} job {job.id} has no result: {reason}")
    return job


def add_job_listing(router: APIRouter, settings: Settings, kind: str, description: str) -> None:
    """`GET ""` on `router`: the jobs of `kind`, newest first, one page at a time, as `list_<router's tag>`."""

    def list_jobs(
        jobs: JobsDep,
        status: Annotated[Optional[JobStatus], Query(description="Only jobs in this status.")] = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_list_length)] = min(20, settings.max_list_length),
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ):
        rows, total = jobs.page(status, limit, offset, kind=kind)
        return SearchJobPage(items=[job_view(row) for row in rows], total=total, limit=limit, offset=offset)

    router.add_api_route("", list_jobs, methods=["GET"], response_model=SearchJobPage,
                         name=f"list_{router.tags[0]}", description=description)
