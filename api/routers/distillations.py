"""/v1/distillations: submit a distillation job (a student spec, or a ranked student of a search here), follow
it, read its epochs as they are trained, fetch its summary and the trained student.

The job is a row of the jobs table (`config.kind` = 'distill'): `/v1/searches/{id}` (status, progress) and its
cancel and delete answer for it too; the `/v1/searches` listing shows searches only, `/v1/distillations` these.
`?search=ID` lists the distillations of one search's students.
No `from __future__ import annotations` (see api/routers/searches.py).
"""

from typing import Annotated, Any, Optional

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse

from api.db import JobRow
from api.dependencies import JobsDep, PoolDep
from api.distill_jobs import DISTILL_KIND, distill_job_config, epoch_records, is_distillation, run_folder
from api.routers.search_artifacts import TORCHSCRIPT
from api.routers.job_routes import (
    MAX_OFFSET, JobId, add_job_labelling, distillation_view, existing_job, succeeded,
)
from api.schemas.distill_requests import distill_request_model
from api.schemas.labels import Tag, split_labels
from api.schemas.responses import (
    CONFLICT, NOT_FOUND, UNREADABLE, DistillationJob, DistillationJobPage, EpochPage, JobStatus,
)
from api.settings import Settings
from diswot.distillation.outputs import STUDENT_FILE
from diswot.errors import FieldError


def existing_distillation(jobs: JobsDep, job_id: str) -> JobRow:
    job = existing_job(jobs, job_id)
    if not is_distillation(job.config):
        raise HTTPException(404, f"job {job_id} is a search, not a distillation (see /v1/searches/{job_id})")
    return job


def source_student(jobs: JobsDep, source: dict[str, Any]) -> dict[str, Any]:
    """The spec of a search's ranked student, for a distillation that names it as its source."""
    job = jobs.get(source["search"])
    if job is None or is_distillation(job.config):
        raise FieldError("source", f"no search job {source['search']!r} on this server")
    if job.status != "succeeded":
        raise FieldError("source", f"search job {job.id} is {job.status}: it has no ranked students yet")
    students = jobs.result(job.id)["students"]
    if source["rank"] > len(students):
        raise FieldError("source", f"search job {job.id} has {len(students)} students; rank {source['rank']} "
                                   "is not one")
    return students[source["rank"] - 1]


def distillations_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/distillations", tags=["distillations"])
    DistillRequest = distill_request_model(settings)

    @router.post(
        "",
        status_code=202,
        response_model=DistillationJob,
        responses=UNREADABLE,
        response_description="Accepted: the job is queued; follow it at the Location header.",
    )
    def submit_distillation(body: DistillRequest, request: Request, response: Response, jobs: JobsDep,
                            pool: PoolDep):
        """Queue a distillation (with a name, tags and a note if given). Everything is validated first (the
        teacher files are loaded once); progress counts epochs, with the best evaluation top-1 so far (%)."""
        fields, labels = split_labels(body.model_dump())
        if fields["source"] is not None and fields["student"] is None:
            fields["student"] = source_student(jobs, fields["source"])
        job = jobs.create(distill_job_config(fields, settings), labels)
        pool.enqueue(job.id)
        response.headers["Location"] = str(request.url_for("get_distillation", job_id=job.id))
        return distillation_view(job)

    @router.get("", response_model=DistillationJobPage, name="list_distillations")
    def list_distillations(
        jobs: JobsDep,
        status: Annotated[Optional[JobStatus], Query(description="Only jobs in this status.")] = None,
        tag: Annotated[Optional[Tag], Query(description="Only jobs with this tag.")] = None,
        search: Annotated[Optional[str], Query(max_length=64,
                                               description="Only distillations of this search's students.")] = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_list_length)] = min(20, settings.max_list_length),
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ):
        """Distillation jobs, newest first, one page at a time (`/v1/searches` lists the searches)."""
        rows, total = jobs.page(status, limit, offset, kind=DISTILL_KIND, tag=tag, source=search)
        return DistillationJobPage(items=[distillation_view(row) for row in rows], total=total, limit=limit,
                                   offset=offset)

    add_job_labelling(router, existing_distillation, distillation_view, DistillationJob)

    @router.get("/{job_id}", response_model=DistillationJob, responses=NOT_FOUND, name="get_distillation")
    def get_distillation(job_id: JobId, jobs: JobsDep):
        """A distillation job's status and progress (epochs done of all, best top-1, ETA)."""
        return distillation_view(existing_distillation(jobs, job_id))

    @router.get("/{job_id}/epochs", response_model=EpochPage, responses=NOT_FOUND)
    def get_distillation_epochs(job_id: JobId, jobs: JobsDep):
        """The epochs trained so far, each with its losses and accuracies (also while the job runs)."""
        existing_distillation(jobs, job_id)
        return EpochPage(items=epoch_records(settings, job_id))

    @router.get("/{job_id}/result", response_model=dict[str, Any], responses={**NOT_FOUND, **CONFLICT})
    def get_distillation_result(job_id: JobId, jobs: JobsDep):
        """The summary of a succeeded job (what `distill.json` holds: final and best accuracy, settings, time)."""
        succeeded(existing_distillation(jobs, job_id), "distillation")
        return jobs.result(job_id)

    @router.get("/{job_id}/student", response_class=FileResponse, responses={**TORCHSCRIPT, **NOT_FOUND, **CONFLICT})
    def get_distilled_student(job_id: JobId, jobs: JobsDep):
        """The trained student as TorchScript (load it with `torch.jit.load`; it needs no diswot)."""
        succeeded(existing_distillation(jobs, job_id), "distillation")
        path = run_folder(settings, job_id) / STUDENT_FILE
        if not path.is_file():
            raise HTTPException(404, f"distillation job {job_id}'s run folder is gone from this server")
        return FileResponse(path, media_type="application/octet-stream", filename=f"diswot-{job_id[:8]}-student.ts")

    return router
