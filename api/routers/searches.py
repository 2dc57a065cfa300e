"""/v1/searches: submit a search job, follow it, fetch its ranked students, list, cancel and delete jobs.

No `from __future__ import annotations` here: the request model is built per app (its bounds come from the
settings), and FastAPI must see the endpoint annotations as objects, not names.
"""

from datetime import datetime, timezone
from typing import Annotated, Optional

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from api.db import JobRow, utc_now
from api.dependencies import JobsDep, PoolDep
from api.distill_jobs import is_distillation
from api.schemas.requests import search_request_model
from api.schemas.responses import (
    CONFLICT,
    NOT_FOUND,
    UNREADABLE,
    JobStatus,
    SearchJob,
    SearchJobPage,
    SearchJobProgress,
    SearchResultBody,
)
from api.settings import Settings
from api.validation import search_config

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


def searches_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/searches", tags=["searches"])
    SearchRequest = search_request_model(settings)

    @router.post(
        "",
        status_code=202,
        response_model=SearchJob,
        responses=UNREADABLE,
        response_description="Accepted: the job is queued; follow it at the Location header.",
    )
    def submit_search(body: SearchRequest, request: Request, response: Response, jobs: JobsDep, pool: PoolDep):
        """Queue a search. Everything is validated first: a job that is accepted starts with a valid configuration."""
        config = search_config(body.model_dump(), settings)
        job = jobs.create(config.to_dict())
        pool.enqueue(job.id)
        response.headers["Location"] = str(request.url_for("get_search", job_id=job.id))
        return job_view(job)

    @router.get("", response_model=SearchJobPage)
    def list_searches(
        jobs: JobsDep,
        status: Annotated[Optional[JobStatus], Query(description="Only jobs in this status.")] = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_list_length)] = min(20, settings.max_list_length),
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ):
        """Jobs, newest first, one page at a time."""
        rows, total = jobs.page(status, limit, offset)
        return SearchJobPage(items=[job_view(row) for row in rows], total=total, limit=limit, offset=offset)

    @router.get("/{job_id}", response_model=SearchJob, responses=NOT_FOUND, name="get_search")
    def get_search(job_id: JobId, jobs: JobsDep):
        """A job's status, progress (evaluations done of total, best score so far, elapsed, ETA) or why it failed."""
        return job_view(existing_job(jobs, job_id))

    @router.get("/{job_id}/result", response_model=SearchResultBody, responses={**NOT_FOUND, **CONFLICT})
    def get_search_result(
        job_id: JobId,
        jobs: JobsDep,
        history: Annotated[bool, Query(description="Also return every evaluated candidate.")] = False,
    ):
        """The ranked students and the Pareto front of a succeeded job."""
        job = existing_job(jobs, job_id)
        if is_distillation(job.config):
            raise HTTPException(409, f"job {job_id} is a distillation: see /v1/distillations/{job_id}/result")
        succeeded(job, "search")
        result = jobs.result(job_id)
        if not history:
            result = {key: value for key, value in result.items() if key not in ("history", "best_scores")}
        return SearchResultBody(id=job_id, **result)

    @router.post(
        "/{job_id}/cancel",
        status_code=202,
        response_model=SearchJob,
        responses={**NOT_FOUND, **CONFLICT},
        response_description="Accepted: a queued job is cancelled; a running one stops after its current candidate.",
    )
    def cancel_search(job_id: JobId, jobs: JobsDep):
        """Cancel a queued or running job (cancelling a cancelled job again is harmless)."""
        job = jobs.request_cancel(job_id)
        if job is None:
            raise HTTPException(404, f"no search job {job_id!r}")
        if job.status in ("succeeded", "failed"):
            raise HTTPException(409, f"search job {job_id} has already {job.status}")
        return job_view(job)

    @router.delete("/{job_id}", status_code=204, responses={**NOT_FOUND, **CONFLICT})
    def delete_search(job_id: JobId, jobs: JobsDep):
        """Delete a finished job with its evaluations and result."""
        if not jobs.delete_finished(job_id):
            job = existing_job(jobs, job_id)
            raise HTTPException(
                409, f"search job {job_id} is {job.status}; cancel it and delete it once it has stopped"
            )
        return Response(status_code=204)

    return router
