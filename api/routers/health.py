"""/healthz (the process answers) and /readyz (the database answers and the workers run); never behind the API key."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.dependencies import DatabaseDep, PoolDep
from api.schemas.responses import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz():
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness, "description": "Not ready."}})
def readyz(database: DatabaseDep, pool: PoolDep):
    database_up, workers_up = database.ping(), pool.running
    ready = database_up and workers_up
    body = Readiness(status="ready" if ready else "not ready", database=database_up, workers=workers_up)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
