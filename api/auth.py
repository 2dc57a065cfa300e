"""The optional API key: when the settings hold one, every endpoint but health requires it in `X-API-Key`."""

import secrets
from typing import Annotated, Optional

from fastapi import HTTPException, Security
from fastapi.security import APIKeyHeader

from api.dependencies import SettingsDep

API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="Required when the server has a key set.")


def require_api_key(settings: SettingsDep, key: Annotated[Optional[str], Security(API_KEY_HEADER)]) -> None:
    if settings.api_key is None:
        return
    expected = settings.api_key.get_secret_value().encode()
    # compare_digest: the time taken does not tell how much of a guessed key was right.
    if key is None or not secrets.compare_digest(key.encode(), expected):
        raise HTTPException(
            401, "a valid API key is required in the X-API-Key header", headers={"WWW-Authenticate": "APIKey"}
        )
