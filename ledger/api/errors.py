"""Every error answers ``{"error": "one line"}``: the handlers, and the errors the API documents.

A ``LedgerError`` answers with the status its class has in ledger/api/statuses.py (the error
itself carries none); the database being unreachable (``DatabaseUnavailableError``: no
connection, or the server gave up) is 503 with a line that says to try again, its details going
to the server log.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.api.access import MAX_BODY, BodyTooLargeError
from ledger.api.models import ErrorBody
from ledger.api.params import recordable_name
from ledger.api.statuses import http_status_of
from ledger.errors import LedgerError
from ledger.store import DatabaseUnavailableError

log = logging.getLogger(__name__)


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("No token, or an unknown, expired or revoked one"),
    403: _error("The token's role may not use this endpoint"),
    413: _error(f"Request body over {MAX_BODY} bytes"),
    422: _error("A bad, unknown or repeated parameter"),
    503: _error("The access record could not be made (Kafka) or the database is unreachable"),
}


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # One line, naming the parameter; never echo the input (it could be a TIN).
    first = exc.errors()[0] if exc.errors() else {}
    loc = tuple(first.get("loc", ()))
    where = ".".join(str(p) for p in loc if p not in ("query", "body", "path"))
    message = f"{recordable_name(where) if where else 'request'}: {first.get('msg', 'invalid')}"
    if loc == ("body",):
        message = "body: must be a JSON object (Content-Type: application/json)"
    return JSONResponse({"error": message}, status_code=422)


async def body_too_large(request: Request, exc: BodyTooLargeError) -> JSONResponse:
    return JSONResponse({"error": f"request body over {MAX_BODY} bytes (16 KiB)"}, status_code=413)


async def database_unavailable(request: Request, exc: DatabaseUnavailableError) -> JSONResponse:
    log.error("database unavailable: %s", exc)
    return JSONResponse({"error": "the database is unreachable; try again shortly"}, 503)


async def ledger_error(request: Request, exc: LedgerError) -> JSONResponse:
    return JSONResponse({"error": exc.diagnostics()}, status_code=http_status_of(exc))


HANDLERS: list[tuple[type[Exception], Any]] = [
    (StarletteHTTPException, http_error),
    (RequestValidationError, validation_error),
    (BodyTooLargeError, body_too_large),
    (DatabaseUnavailableError, database_unavailable),
    (LedgerError, ledger_error),
]


def install_error_handlers(app: FastAPI) -> None:
    for error, handler in HANDLERS:
        app.exception_handler(error)(handler)
