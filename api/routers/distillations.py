"""/v1/distillations: submit a distillation job, follow it, fetch its summary and the trained student.

The job is a row of the jobs table (`config.kind` = 'distill'): `/v1/searches/{id}` (status, progress) and its
cancel and delete answer for it too; the `/v1/searches` listing (and so the dashboard) shows searches only.
No `from __future__ import annotations` (see api/routers/searches.py).
"""

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse

from api.db import JobRow
from api.dependencies import JobsDep, PoolDep
from api.distill_jobs import DISTILL_KIND, distill_job_config, is_distillation, run_folder
from api.routers.search_artifacts import TORCHSCRIPT
from api.routers.job_routes import JobId, add_job_listing, existing_job, job_view, succeeded
from api.schemas.distill_requests import distill_request_model
from api.schemas.responses import CONFLICT, NOT_FOUND, UNREADABLE, SearchJob
from api.settings import Settings
from diswot.distillation.outputs import STUDENT_FILE


def existing_distillation(jobs: JobsDep, job_id: str) -> JobRow:
    job = existing_job(jobs, job_id)
    if not is_distillation(job.config):
        raise HTTPException(404, f"job {job_id} is a search, not a distillation (see /v1/searches/{job_id})")
    return job


def distillations_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/distillations", tags=["distillations"])
    DistillRequest = distill_request_model(settings)

    @router.post(
        "",
        status_code=202,
        response_model=SearchJob,
        responses=UNREADABLE,
        response_description="Accepted: the job is queued; follow it at the Location header.",
    )
    def submit_distillation(body: DistillRequest, request: Request, response: Response, jobs: JobsDep,
                            pool: PoolDep):
        """Queue a distillation. Everything is validated first (the teacher files are loaded once); progress
        counts epochs, and `best_score` is the best evaluation top-1 so far (%)."""
        job = jobs.create(distill_job_config(body.model_dump(), settings))
        pool.enqueue(job.id)
        response.headers["Location"] = str(request.url_for("get_distillation", job_id=job.id))
        return job_view(job)

    add_job_listing(router, settings, DISTILL_KIND,
                    "Distillation jobs, newest first, one page at a time (`/v1/searches` lists the searches).")

    @router.get("/{job_id}", response_model=SearchJob, responses=NOT_FOUND, name="get_distillation")
    def get_distillation(job_id: JobId, jobs: JobsDep):
        """A distillation job's status and progress (epochs done of total, best top-1, ETA)."""
        return job_view(existing_distillation(jobs, job_id))

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
