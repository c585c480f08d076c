"""How the HTTP app answers a request it cannot validate."""

from __future__ import annotations

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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
