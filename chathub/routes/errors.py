"""How the HTTP app answers a request it cannot validate, or one that lost a race in the database."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from chathub import db

log = logging.getLogger("chathub")
WHERE = {"body", "query", "path", "header", "cookie"}


async def validation_error_response(_: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 (`detail`: a list of {loc, msg, type}), with each `msg` a sentence that names its field:
    "enabled: Input should be a valid boolean" rather than a bare "Input should be a valid boolean"."""
    return JSONResponse({"detail": jsonable_encoder([_naming_its_field(e) for e in error.errors()])}, status_code=422)


def _naming_its_field(error: dict) -> dict:
    field = ".".join(str(part) for part in error.get("loc", ()) if part not in WHERE)
    if not field or field in error.get("msg", ""):
        return error
    return {**error, "msg": f"{field}: {error['msg']}"}


async def database_conflict_response(request: Request, error: DBAPIError) -> JSONResponse:
    """A write that lost a deadlock or a serialization check to another transaction (PostgreSQL, several
    instances) was rolled back whole: 503 and Retry-After, so the client sends it again, rather than a 500. Any
    other database error is a fault, answered 500 with its traceback in the log."""
    if not db.is_retryable(error):
        raise error
    log.warning(
        "%s %s met another change to the same rows (SQLSTATE %s); rolled back, answered 503 to be sent again",
        request.method,
        request.url.path,
        error.orig.sqlstate,
    )
    return JSONResponse(
        {"detail": "Another change to the same data got there first; nothing was saved. Send the request again."},
        status_code=503,
        headers={"Retry-After": "1"},
    )
