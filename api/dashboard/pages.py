"""The dashboard's pages: server-rendered shells whose scripts read and change jobs through the /v1 API.

The pages hold no job data and nothing about the server (the new-search form, with its limits and names, is
fetched from /new/form, which needs the key like /v1), so a page needs no key to be served; its scripts send
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
from api.dashboard.search_form import search_form
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
    form = search_form(settings)

    def page(request: Request, template: str, **context) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, template, {**shared, **context}, headers=SECURITY_HEADERS)

    @router.get("/", response_class=HTMLResponse)
    def jobs_page(request: Request):
        return page(request, "jobs.html", page_size=min(20, settings.max_list_length))

    @router.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(request: Request, job_id: JobId):
        return page(request, "job.html", job_id=job_id)

    @router.get("/new", response_class=HTMLResponse)
    def new_search_page(request: Request):
        return page(request, "new_search.html")

    @router.get("/new/form", response_class=HTMLResponse, dependencies=[Depends(require_api_key)])
    def new_search_form(request: Request):
        """The form's HTML, which new_search.js puts into the page."""
        return page(request, "search_form.html", sections=form)

    @router.get("/compare", response_class=HTMLResponse)
    def compare_page(request: Request):
        return page(request, "compare.html", page_size=settings.max_list_length)

    return router


def install_dashboard(app: FastAPI, settings: Settings) -> None:
    app.mount(STATIC_PATH, StaticFiles(directory=HERE / "static"), name="dashboard-static")
    app.include_router(pages_router(settings))
