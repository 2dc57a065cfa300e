"""What the routers of every job kind share: a job's view (a search's, a distillation's), its lookup, the 409 of a
job without a result, the paged listing of searches and the change of a job's labels.

No `from __future__ import annotations` (see searches.py): the listing's query bounds come from the settings.
"""

from datetime import datetime, timezone
from typing import Annotated, Any, Callable, Optional, Union

from fastapi import APIRouter, HTTPException, Path, Query

from api.db import JobRow, utc_now
from api.dependencies import JobsDep
from api.distill_jobs import is_distillation
from api.jobs import tags_of
from api.schemas.labels import JobLabels, Tag
from api.schemas.responses import (
    NOT_FOUND, UNREADABLE, DistillationJob, DistillationProgress, JobStatus, SearchJob, SearchJobPage,
    SearchJobProgress,
)
from api.settings import Settings

JobId = Annotated[str, Path(max_length=64, description="The id returned when the job was submitted.")]
# Listing offsets stay far below what SQL integers hold.
MAX_OFFSET = 10**9


def as_utc(moment: Optional[datetime]) -> Optional[datetime]:
    # SQLite hands datetimes back without their zone; they were written in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def elapsed_of(job: JobRow) -> Optional[float]:
    started, finished = as_utc(job.started_at), as_utc(job.finished_at)
    return ((finished or utc_now()) - started).total_seconds() if started is not None else None


def common_fields(job: JobRow) -> dict:
    """What a job's view says whatever its kind: status, times, labels, config."""
    return dict(
        id=job.id, status=job.status, created_at=as_utc(job.created_at), started_at=as_utc(job.started_at),
        finished_at=as_utc(job.finished_at), error=job.error, cancel_requested=job.cancel_requested, runs=job.runs,
        config=job.config, name=job.name, tags=tags_of(job), note=job.note,
    )


def search_view(job: JobRow) -> SearchJob:
    progress = SearchJobProgress(
        evaluations=job.evaluations_done,
        total=job.evaluations_total,
        best_score=job.best_score,
        elapsed=elapsed_of(job),
        eta=job.eta_seconds,
        stage=job.stage,
        stage_done=job.stage_done,
        stage_total=job.stage_total,
    )
    return SearchJob(progress=progress, stop_reason=job.stop_reason, **common_fields(job))


def distillation_view(job: JobRow) -> DistillationJob:
    """A distillation's counters, named for what they hold: epochs and top-1."""
    progress = DistillationProgress(
        epochs_done=job.evaluations_done,
        epochs=job.evaluations_total if job.evaluations_total is not None else job.config["recipe"]["epochs"],
        best_top1=job.best_score,
        elapsed=elapsed_of(job),
        eta=job.eta_seconds,
        stage=job.stage,
    )
    return DistillationJob(progress=progress, **common_fields(job))


# What /v1/searches/{id} answers: it serves every kind of job (a distillation's cancel and delete go there too).
AnyJob = Union[SearchJob, DistillationJob]


def job_view(job: JobRow) -> AnyJob:
    """The job as its kind describes it."""
    return distillation_view(job) if is_distillation(job.config) else search_view(job)


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


def add_search_listing(router: APIRouter, settings: Settings) -> None:
    """`GET ""` on `router`: the search jobs, newest first, one page at a time."""

    def list_jobs(
        jobs: JobsDep,
        status: Annotated[Optional[JobStatus], Query(description="Only jobs in this status.")] = None,
        tag: Annotated[Optional[Tag], Query(description="Only jobs with this tag.")] = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_list_length)] = min(20, settings.max_list_length),
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ):
        """Jobs, newest first, one page at a time."""
        rows, total = jobs.page(status, limit, offset, kind="search", tag=tag)
        return SearchJobPage(items=[search_view(row) for row in rows], total=total, limit=limit, offset=offset)

    router.add_api_route("", list_jobs, methods=["GET"], response_model=SearchJobPage, name="list_searches")


def add_job_labelling(router: APIRouter, lookup: Callable[[JobsDep, str], JobRow],
                      view: Callable[[JobRow], Any], model: Any) -> None:
    """`PATCH /{job_id}` on `router`: change a job's name, tags or note (in any status); `lookup` finds the job
    (a 404 for none, or for one of another kind) and `view` describes it as `model`."""

    def label_job(job_id: JobId, labels: JobLabels, jobs: JobsDep):
        """Change the job's name, tags or note: the fields given change, the others stay."""
        lookup(jobs, job_id)
        return view(jobs.relabel(job_id, labels.model_dump(exclude_unset=True)))

    router.add_api_route("/{job_id}", label_job, methods=["PATCH"], response_model=model,
                         responses={**NOT_FOUND, **UNREADABLE}, name=f"label_{router.tags[0]}")
