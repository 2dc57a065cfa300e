"""/v1/searches: submit a search job, follow it, fetch its ranked students, list, cancel and delete jobs.

No `from __future__ import annotations` here: the request model is built per app (its bounds come from the
settings), and FastAPI must see the endpoint annotations as objects, not names.
"""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response

from api.dependencies import JobsDep, PoolDep
from api.distill_jobs import is_distillation
from api.routers.job_routes import (
    AnyJob, JobId, add_job_labelling, add_search_listing, existing_job, job_view, search_view, succeeded,
)
from api.schemas.labels import split_labels
from api.schemas.requests import search_request_model
from api.schemas.responses import CONFLICT, NOT_FOUND, UNREADABLE, SearchJob, SearchResultBody
from api.settings import Settings
from api.validation import search_request

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
        """Queue a search (with a name, tags and a note if given). Everything is validated first: a job that is
        accepted starts with a valid configuration."""
        fields, labels = split_labels(body.model_dump())
        parsed = search_request(fields, settings)
        job = jobs.create(parsed.to_dict(), labels)
        pool.enqueue(job.id, parsed)
        response.headers["Location"] = str(request.url_for("get_search", job_id=job.id))
        return search_view(job)

    add_search_listing(router, settings)
    add_job_labelling(router, existing_job, job_view, AnyJob)

    @router.get("/{job_id}", response_model=AnyJob, responses=NOT_FOUND, name="get_search")
    def get_search(job_id: JobId, jobs: JobsDep):
        """A job's status, progress (a search's: its stage and the stage's count; evaluations done of total, best
        score, elapsed, the stage's ETA; a distillation's: epochs), why it stopped or why it failed."""
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
        response_model=AnyJob,
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
