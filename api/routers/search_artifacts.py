"""/v1/searches/{id}/evaluations and /v1/searches/{id}/students/{rank}/torchscript: what a job has scored so far
(also while it runs, for live plots) and a found student as the TorchScript file `diswot export` writes."""

import io
from typing import Annotated

import torch
from fastapi import APIRouter, HTTPException, Path, Query, Response

from api.dependencies import DatabaseDep, JobsDep
from api.distill_jobs import is_distillation
from api.routers.job_routes import MAX_OFFSET, JobId, existing_job
from api.schemas.responses import CONFLICT, NOT_FOUND, EvaluationPage
from api.settings import Settings
from api.store import SqlEvaluationStore
from diswot.student_search import script_student

TORCHSCRIPT = {200: {"content": {"application/octet-stream": {}}, "description": "The student as TorchScript."}}


def search_artifacts_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/searches", tags=["searches"])

    @router.get("/{job_id}/evaluations", response_model=EvaluationPage, responses=NOT_FOUND)
    def list_evaluations(
        job_id: JobId,
        jobs: JobsDep,
        database: DatabaseDep,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Skip the first `offset` evaluations.")] = 0,
    ):
        """Every candidate a job has evaluated (infeasible ones unscored), in evaluation order, whatever its status;
        poll with `offset` = the number already read to get only the new ones."""
        existing_job(jobs, job_id)
        return EvaluationPage(items=SqlEvaluationStore(database, job_id).load(offset), offset=offset)

    @router.get(
        "/{job_id}/students/{rank}/torchscript",
        response_class=Response,
        responses={**TORCHSCRIPT, **NOT_FOUND, **CONFLICT},
    )
    def student_torchscript(
        job_id: JobId,
        jobs: JobsDep,
        rank: Annotated[int, Path(ge=1, le=settings.max_top_k, description="1 = the best student.")],
    ):
        """A ranked student of a succeeded job, built and saved as `diswot export` does (load it with
        `torch.jit.load`; it needs no diswot)."""
        job = existing_job(jobs, job_id)
        if is_distillation(job.config):
            raise HTTPException(409, f"job {job_id} is a distillation: see /v1/distillations/{job_id}/student")
        if job.status != "succeeded":
            raise HTTPException(409, f"search job {job_id} has no students: it is {job.status}")
        students = jobs.result(job_id)["students"]
        if rank > len(students):
            raise HTTPException(404, f"search job {job_id} has {len(students)} students; rank {rank} is not one")
        buffer = io.BytesIO()
        torch.jit.save(script_student(students[rank - 1]), buffer)
        filename = f"diswot-{job_id[:8]}-rank{rank}.pt"
        return Response(
            buffer.getvalue(),
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    return router
