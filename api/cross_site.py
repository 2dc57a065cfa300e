"""Refuse state-changing requests that another web site could make from a visitor's browser (CSRF).

A page elsewhere can make the browser send a form POST, or a `fetch` POST without a body, to this server
without asking it first (a "simple" request: no preflight), and on a server without an API key nothing else
stops it cancelling or submitting jobs. Such a request cannot carry a JSON content type or a header of its own
choosing, so every POST, PUT, PATCH and DELETE must have one of them: a JSON body, or an `X-Requested-With`
header (any value; the Python client and the dashboard send it) or the `X-API-Key` header.
"""

from fastapi import HTTPException, Request

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SCRIPT_HEADER = "X-Requested-With"
# Headers a cross-site form or simple request cannot send: their presence means a script of the caller's own.
NON_SIMPLE_HEADERS = (SCRIPT_HEADER.lower(), "x-api-key")


def is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def refuse_cross_site_forms(request: Request) -> None:
    if request.method not in STATE_CHANGING:
        return
    if is_json(request.headers.get("content-type", "")):
        return
    if any(name in request.headers for name in NON_SIMPLE_HEADERS):
        return
    raise HTTPException(
        403,
        f"a {request.method} needs a JSON body (Content-Type: application/json) or an {SCRIPT_HEADER} header: "
        "a cross-site form can send neither",
    )
