"""/v1/score: score a short list of given architectures against a teacher, synchronously.

No `from __future__ import annotations`: the request model is built per app (see searches.py).
"""

from fastapi import APIRouter

from api.schemas.requests import score_request_model
from api.schemas.responses import UNREADABLE, ScoreResponse
from api.settings import Settings
from api.validation import allowed_dirs, server_files
from diswot.probe_data import ProbeDataSpec
from diswot.scoring import score


def score_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["score"])
    ScoreRequest = score_request_model(settings)

    @router.post("/score", response_model=ScoreResponse, responses=UNREADABLE)
    def score_architectures(body: ScoreRequest):
        """Scores of the given architectures, in the order given (for users who bring their own candidates).

        The list is bounded by the server's `max_score_archs`: the call holds its connection while it scores.
        """
        values = body.model_dump()
        files = server_files(values, settings)
        probe = ProbeDataSpec(
            source=files["data"], batch_size=body.batch_size, image_size=body.image_size, seed=body.seed
        )
        records = score(
            files["teacher"],
            body.space,
            body.archs,
            num_classes=body.num_classes,
            data=probe,
            proxies=body.proxies,
            seed=body.seed,
            init=body.init,
            inits=body.inits,
            shared_init=body.shared_init,
            device=body.device,
            checkpoint=files["checkpoint"],
            **allowed_dirs(values, settings),
        )
        return ScoreResponse(records=records)

    return router
