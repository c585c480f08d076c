"""Webhook intake routes: read the body (bounded), hand it to the intake service, answer what it says."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from chathub.services import runtime
from chathub.services.webhooks import receive_webhook

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


async def _read_body(request: Request, limit: int) -> tuple[bytes, bool]:
    """The body, or its first `limit`+ bytes and True when it is larger than `limit`."""
    declared = request.headers.get("content-length", "")
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks), True
    too_large = declared.isdigit() and int(declared) > limit
    return b"".join(chunks), too_large


async def _intake(request: Request, channel_type: str, channel_id: int | None) -> JSONResponse:
    body, too_large = await _read_body(request, runtime.settings().max_webhook_bytes)
    result = await receive_webhook(channel_type=channel_type, channel_id=channel_id, body=body,
                                   headers=dict(request.headers), too_large=too_large)
    return JSONResponse(result.response_body(), status_code=result.http_status)


@router.post("/simulator", summary="Webhook of the default simulator channel")
async def simulator_webhook(request: Request) -> JSONResponse:
    return await _intake(request, "simulator", None)


@router.post("/{channel_type}/{channel_id}", summary="Webhook of one channel")
async def channel_webhook(request: Request, channel_type: str, channel_id: str) -> JSONResponse:
    return await _intake(request, channel_type, int(channel_id) if channel_id.isdecimal() else -1)
