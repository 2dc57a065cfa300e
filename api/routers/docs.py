"""/openapi.json, /docs (Swagger UI) and /redoc: FastAPI's own pages, served here so that they sit behind the API
key like every endpoint but health (the document lists every limit and file setting of the server)."""

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

router = APIRouter(include_in_schema=False)

OPENAPI_PATH = "/openapi.json"


def document_url(request: Request) -> str:
    return request.scope.get("root_path", "") + OPENAPI_PATH


@router.get(OPENAPI_PATH)
def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    # The page fetches the document itself: a browser sends no X-API-Key, so with a key set this page is for
    # clients that add the header (the document: curl -H 'X-API-Key: ...' .../openapi.json).
    return get_swagger_ui_html(
        openapi_url=document_url(request), title=f"{request.app.title} - Swagger UI", oauth2_redirect_url=None
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(openapi_url=document_url(request), title=f"{request.app.title} - ReDoc")
