"""`create_app(settings)`: the FastAPI service, its database and worker pool, wired for one process (one replica:
on PostgreSQL, several share the database and its jobs; on SQLite, one owns the file)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Optional

import anyio
from fastapi import Depends, FastAPI

import diswot
from api.auth import require_api_key
from api.body_limit import BodySizeLimit
from api.cross_site import refuse_cross_site_forms
from api.dashboard import install_dashboard
from api.db import Database
from api.errors import install_error_handlers
from api.jobs import JobRepository
from api.routers import catalog, docs, health
from api.routers.distillations import distillations_router
from api.routers.score import score_router
from api.routers.search_artifacts import search_artifacts_router
from api.routers.searches import searches_router
from api.schemas.responses import INVALID, ErrorMessage
from api.server_paths import ServerFolders, relative_paths_response
from api.settings import Settings
from api.sqlite_lock import sqlite_server_lock
from api.worker import SearchWorkerPool

DESCRIPTION = """Training-free student-architecture search for knowledge distillation (DisWOT, CVPR 2023).

Submit a search for a teacher (`POST /v1/searches`), follow it (`GET /v1/searches/{id}`), and fetch the ranked
students and the Pareto front (`GET /v1/searches/{id}/result`); each student is a spec that builds the network
(`diswot.build_student`). Jobs and their evaluations are stored as they happen: a job interrupted by a restart
resumes and ends with the result an uninterrupted run gives. When the server has an API key, every endpoint but
`/healthz` and `/readyz` needs it in the `X-API-Key` header, this document and its `/docs` and `/redoc` pages too.
"""
UNAUTHORISED = {401: {"model": ErrorMessage, "description": "Missing or wrong API key."}}


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    settings = settings if settings is not None else Settings()
    database = Database(settings.sqlalchemy_url)
    jobs = JobRepository(database)
    pool = SearchWorkerPool(database, jobs, settings)
    sqlite_lock = sqlite_server_lock(settings.sqlalchemy_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if sqlite_lock is not None:
            sqlite_lock.acquire()
        try:
            database.upgrade_schema()
            pool.start()
            yield
            await anyio.to_thread.run_sync(pool.stop)  # running searches stop between candidates, stay queued
        finally:
            database.dispose()
            if sqlite_lock is not None:
                sqlite_lock.release()

    # FastAPI's own /openapi.json, /docs and /redoc would be public: api.routers.docs serves them behind the key.
    folders = ServerFolders(settings)
    app = FastAPI(
        title="diswot", version=diswot.__version__, description=DESCRIPTION, lifespan=lifespan,
        openapi_url=None, docs_url=None, redoc_url=None, default_response_class=relative_paths_response(folders),
    )
    app.state.settings, app.state.database, app.state.jobs, app.state.pool = settings, database, jobs, pool
    app.state.server_folders = folders
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Every /v1 route documents its 401 and the 422 this app answers with (FastAPI would document its own shape).
    secured = dict(
        prefix="/v1", dependencies=[Depends(require_api_key), Depends(refuse_cross_site_forms)],
        responses={**UNAUTHORISED, **INVALID},
    )
    app.include_router(searches_router(settings), **secured)
    app.include_router(score_router(settings), **secured)
    app.include_router(catalog.router, **secured)
    app.include_router(search_artifacts_router(settings), **secured)
    app.include_router(distillations_router(settings), **secured)
    app.include_router(docs.router, dependencies=[Depends(require_api_key)])
    app.include_router(health.router)
    install_dashboard(app, settings)  # the pages at /, /jobs/<id>, /new, /compare
    return app
