"""Errors as JSON with a one-line `detail`: bad input is a 4xx that says what was wrong and what is valid."""

import logging
import re

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from diswot.errors import DiswotError

logger = logging.getLogger(__name__)

REQUEST_PARTS = ("body", "query", "path", "header")


def describe_validation_error(error: dict) -> str:
    if error["type"] == "json_invalid":
        return f"the request body is not valid JSON: {error.get('ctx', {}).get('error', error['msg'])}"
    location = [str(part) for part in error["loc"]]
    if location and location[0] in REQUEST_PARTS:
        location = location[1:]
    where = f"field {'.'.join(location)!r}" if location else f"the request {error['loc'][0]}"
    return f"{where}: {error['msg']}"


async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
    errors = error.errors()
    detail = "; ".join(describe_validation_error(e) for e in errors)
    # Only where and what for each error: echoing the input back could return a large body.
    summary = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
    return JSONResponse({"detail": detail, "errors": jsonable_encoder(summary)}, 422)


async def diswot_error(request: Request, error: DiswotError) -> JSONResponse:
    # The library's messages name files by their absolute paths: the client sees them inside the server's folders.
    return JSONResponse({"detail": request.app.state.server_folders.relative(str(error))}, 422)


def documented_methods(app: FastAPI, path: str) -> set[str]:
    """The methods the OpenAPI document lists for the path template that `path` fills in."""
    methods = set()
    for template, operations in app.openapi()["paths"].items():
        parts = ("[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/"))
        if re.fullmatch("/".join(parts), path):
            methods |= {method.upper() for method in operations}
    return methods


async def method_not_allowed(request: Request, error: HTTPException) -> JSONResponse:
    # Starlette's Allow lists only the methods of the first route that matched the path; list every route's.
    allowed = documented_methods(request.app, request.url.path)
    headers = {"Allow": ", ".join(sorted(allowed))} if allowed else error.headers
    return JSONResponse({"detail": error.detail}, 405, headers=headers)


async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    logger.exception("%s %s failed", request.method, request.url.path, exc_info=error)
    return JSONResponse({"detail": "internal server error (logged on the server)"}, 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DiswotError, diswot_error)
    app.add_exception_handler(405, method_not_allowed)
    app.add_exception_handler(Exception, unexpected_error)
