"""/v1/searches/{id}/evaluations (in order, for live plots; as a sorted, filtered table; as CSV) and
/v1/searches/{id}/students/{rank}/torchscript: what a job has scored so far (also while it runs) and a found
student as the TorchScript file `diswot export` writes."""

import io
from typing import Annotated, Optional

import torch
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response

from api.dependencies import DatabaseDep, JobsDep
from api.distill_jobs import is_distillation
from api.evaluation_table import EvaluationFilter, SortColumn, Stage
from api.routers.job_routes import MAX_OFFSET, JobId, existing_job
from api.schemas.responses import CONFLICT, NOT_FOUND, EvaluationPage, EvaluationTable, NumberedEvaluation
from api.settings import Settings
from api.store import SqlEvaluationStore
from diswot.student_search import script_student
from diswot.student_search.run_folder import write_history_csv

CSV = {200: {"content": {"text/csv": {}}, "description": "The evaluations as CSV, with a header row."}}


def evaluation_filter(
    feasible: Annotated[Optional[bool], Query(description="Only feasible (true) or infeasible (false) ones.")] = None,
    stage: Annotated[Optional[Stage], Query(description="Only the search's or the confirm stage's records.")] = None,
    sort: Annotated[SortColumn, Query(description="Column to sort by (number: evaluation order).")] = "number",
    descending: Annotated[bool, Query(description="Largest first. Rows without a value come last.")] = False,
) -> EvaluationFilter:
    return EvaluationFilter(feasible, stage, sort, descending)


FilterDep = Annotated[EvaluationFilter, Depends(evaluation_filter)]

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

    @router.get("/{job_id}/evaluations/table", response_model=EvaluationTable, responses=NOT_FOUND)
    def evaluation_table(
        job_id: JobId,
        jobs: JobsDep,
        database: DatabaseDep,
        chosen: FilterDep,
        limit: Annotated[int, Query(ge=1, le=settings.max_list_length)] = min(50, settings.max_list_length),
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ):
        """One page of a job's evaluations, numbered in evaluation order, filtered and sorted."""
        existing_job(jobs, job_id)
        rows = chosen.apply(SqlEvaluationStore(database, job_id).load())
        items = [NumberedEvaluation(number=number, evaluation=e) for number, e in rows[offset:offset + limit]]
        return EvaluationTable(items=items, total=len(rows), limit=limit, offset=offset)

    @router.get("/{job_id}/evaluations.csv", response_class=Response, responses={**CSV, **NOT_FOUND})
    def evaluations_csv(job_id: JobId, jobs: JobsDep, database: DatabaseDep, chosen: FilterDep):
        """Every evaluation that passes the filters, in the chosen order, as CSV (a run folder's history.csv:
        `index` counts from 1 in evaluation order)."""
        existing_job(jobs, job_id)
        text = io.StringIO()
        write_history_csv(chosen.apply(SqlEvaluationStore(database, job_id).load()), text)
        filename = f"diswot-{job_id[:8]}-evaluations.csv"
        return Response(text.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

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
