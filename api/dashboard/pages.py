"""The dashboard's pages: server-rendered shells whose scripts read and change jobs through the /v1 API.

The pages hold no job data and nothing about the server (the new-job forms, with their limits and names, are
fetched from /new/form and /distillations/new/form, which need the key like /v1; the API reference page reads
/openapi.json with the key), so a page needs no key to be served; its scripts send
the key the person types (kept in the tab's sessionStorage) with every call, and show nothing until the server
accepts it.
Everything the pages load is served from this package: nothing is fetched from elsewhere at run time.
"""

from __future__ import annotations

from pathlib import Path as FilePath

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api.auth import require_api_key
from api.dashboard.forms import distill_form, search_form
from api.routers.job_routes import JobId
from api.settings import Settings

HERE = FilePath(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
STATIC_PATH = "/static/dashboard"
# Scripts, styles and fetches only from this server: a job field that held markup could not run a script.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def pages_router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    shared = {"key_required": settings.api_key is not None, "static": STATIC_PATH}
    page_size = min(20, settings.max_list_length)
    search_sections, distill_sections = search_form(settings), distill_form(settings)

    def page(request: Request, template: str, **context) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, template, {**shared, **context}, headers=SECURITY_HEADERS)

    @router.get("/", response_class=HTMLResponse)
    def jobs_page(request: Request):
        return page(request, "jobs.html", page_size=page_size)

    @router.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(request: Request, job_id: JobId):
        return page(request, "job.html", job_id=job_id, page_size=min(50, settings.max_list_length))

    @router.get("/new", response_class=HTMLResponse)
    def new_search_page(request: Request):
        """The form; `?from=<job id>` fills it with that job's request (a re-run with changes)."""
        return page(request, "new_job.html", title="New search", form_path="/new/form", kind="search")

    @router.get("/new/form", response_class=HTMLResponse, dependencies=[Depends(require_api_key)])
    def new_search_form(request: Request):
        """The form's HTML, which new_job.js puts into the page."""
        return page(request, "form.html", sections=search_sections, submit_to="/v1/searches",
                    submit_label="Start search")

    @router.get("/compare", response_class=HTMLResponse)
    def compare_page(request: Request):
        return page(request, "compare.html", page_size=settings.max_list_length)

    @router.get("/distillations", response_class=HTMLResponse)
    def distillations_page(request: Request):
        return page(request, "distillations.html", page_size=page_size)

    @router.get("/distillations/new", response_class=HTMLResponse)
    def new_distillation_page(request: Request):
        """The form for `?search=<job id>&rank=<n>`: that search's ranked student, distilled."""
        return page(request, "new_job.html", title="Distil a student", form_path="/distillations/new/form",
                    kind="distillation")

    @router.get("/distillations/new/form", response_class=HTMLResponse, dependencies=[Depends(require_api_key)])
    def new_distillation_form(request: Request):
        return page(request, "form.html", sections=distill_sections, submit_to="/v1/distillations",
                    submit_label="Start distillation")

    @router.get("/distillations/{job_id}", response_class=HTMLResponse)
    def distillation_page(request: Request, job_id: JobId):
        return page(request, "distillation.html", job_id=job_id)

    @router.get("/api-reference", response_class=HTMLResponse)
    def api_reference_page(request: Request):
        """Every endpoint of the API, read from /openapi.json with the key the person gave."""
        return page(request, "api_reference.html")

    return router


def install_dashboard(app: FastAPI, settings: Settings) -> None:
    app.mount(STATIC_PATH, StaticFiles(directory=HERE / "static"), name="dashboard-static")
    app.include_router(pages_router(settings))
