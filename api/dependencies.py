"""What endpoints get injected: the app's settings, job repository and worker pool (set up by `create_app`)."""

from typing import Annotated

from fastapi import Depends, Request

from api.db import Database
from api.jobs import JobRepository
from api.settings import Settings
from api.worker import SearchWorkerPool


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> Database:
    return request.app.state.database


def get_jobs(request: Request) -> JobRepository:
    return request.app.state.jobs


def get_pool(request: Request) -> SearchWorkerPool:
    return request.app.state.pool


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
JobsDep = Annotated[JobRepository, Depends(get_jobs)]
PoolDep = Annotated[SearchWorkerPool, Depends(get_pool)]
