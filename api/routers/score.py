"""/v1/score: score a short list of given architectures against a teacher while the client waits.

A call is bounded twice: by the work it may ask for (`max_score_archs`, and `max_score_pixels` over archs x
inits x batch_size x image_size^2), and by its client: between two candidates it asks whether the client is
still connected, and stops when it is not (nobody would read the scores).

No `from __future__ import annotations`: the request model is built per app (see searches.py).
"""

from typing import Any, Callable

import anyio
from fastapi import APIRouter, Request, Response

from api.db import Database
from api.dependencies import DatabaseDep
from api.schemas.requests import score_request_model
from api.schemas.responses import UNREADABLE, ScoreResponse
from api.settings import Settings
from api.store import SqlCalibrationCache
from api.validation import allowed_dirs, check_score_work, server_files
from diswot.scoring import ScoringCancelled, score
from diswot.student_search.request import scoring_setup_of, with_space_resolution

# nginx's status for a request whose client left before the answer: only the server's access log sees it.
CLIENT_CLOSED_REQUEST = 499


def score_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["score"])
    ScoreRequest = score_request_model(settings)

    def score_request(values: dict[str, Any], client_left: Callable[[], bool], database: Database) -> ScoreResponse:
        """The blocking part, on a worker thread: files checked and loaded, then each candidate scored (a
        calibration the jobs' database keeps is reused, one measured here is kept there)."""
        setup = scoring_setup_of({**values, **server_files(values, settings)}, **allowed_dirs(values, settings))
        records = score(setup, values["space"], values["archs"], should_stop=client_left,
                        calibration_cache=SqlCalibrationCache(database))
        return ScoreResponse(records=records)

    @router.post("/score", response_model=ScoreResponse, responses=UNREADABLE)
    async def score_architectures(body: ScoreRequest, request: Request, database: DatabaseDep):
        """Scores of the given architectures, in the order given (for users who bring their own candidates).

        The call holds its connection while it scores, so its work is bounded: at most `max_score_archs`
        architectures, and archs x inits x batch_size x image_size^2 at most the server's `max_score_pixels`
        (a 422 names the limit). It stops between two candidates if the client disconnects.
        """
        values = with_space_resolution(body.model_dump())
        check_score_work(values, settings)

        def client_left() -> bool:  # asked on the worker thread, answered by the event loop
            return anyio.from_thread.run(request.is_disconnected)

        try:
            return await anyio.to_thread.run_sync(score_request, values, client_left, database)
        except ScoringCancelled:
            return Response(status_code=CLIENT_CLOSED_REQUEST)

    return router
