"""Webhook intake routes: read the body (bounded), hand it to the intake service, answer what it says."""

from __future__ import annotations

from typing import NamedTuple

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from chathub import process_state
from chathub.routes.body_deadline import BodyTimeout
from chathub.services.webhooks import answer_handshake, receive_webhook

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class _Body(NamedTuple):
    """A webhook's body as read: all of it, or its first part when it was too large or too slow."""

    data: bytes
    too_large: bool = False
    timed_out: bool = False


async def _read_body(request: Request, limit: int) -> _Body:
    """The body, stopping at the first chunk past `limit` bytes or at the body's deadline (see body_deadline)."""
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return _Body(b"".join(chunks), too_large=True)
    except BodyTimeout:
        return _Body(b"".join(chunks), timed_out=True)
    declared = request.headers.get("content-length", "")
    return _Body(b"".join(chunks), too_large=declared.isdigit() and int(declared) > limit)


async def _intake(request: Request, channel_type: str, channel_id: int | None) -> Response:
    body = await _read_body(request, process_state.current().settings.max_webhook_bytes)
    result = await receive_webhook(
        channel_type=channel_type,
        channel_id=channel_id,
        body=body.data,
        headers=dict(request.headers),
        too_large=body.too_large,
        timed_out=body.timed_out,
        query=request.scope["query_string"].decode(errors="replace"),  # request.url.query, without building a URL
    )
    if result.acknowledgement is not None:
        content, media_type = result.acknowledgement
        return Response(content, media_type=media_type, headers={"x-chathub-webhook-log-id": str(result.log_id)})
    # a client too slow to send its body is not kept waiting on this connection for another request
    headers = {"connection": "close"} if body.timed_out else None
    return JSONResponse(result.response_body(), status_code=result.http_status, headers=headers)


@router.post("/simulator", summary="Webhook of the default simulator channel")
async def simulator_webhook(request: Request) -> Response:
    return await _intake(request, "simulator", None)


@router.post("/{channel_type}/{channel_id}", summary="Webhook of one channel")
async def channel_webhook(request: Request, channel_type: str, channel_id: str) -> Response:
    return await _intake(request, channel_type, _channel_number(channel_id))


@router.get(
    "/{channel_type}/{channel_id}",
    summary="A provider's verification of the webhook URL",
    response_class=PlainTextResponse,
)
async def channel_webhook_handshake(request: Request, channel_type: str, channel_id: str) -> PlainTextResponse:
    """WhatsApp's subscription check: 200 with `hub.challenge` as the raw body when the verify token matches."""
    result = await answer_handshake(
        channel_type=channel_type, channel_id=_channel_number(channel_id), params=dict(request.query_params)
    )
    return PlainTextResponse(result.detail, status_code=result.http_status)


def _channel_number(channel_id: str) -> int:
    """The id in the path, or -1 (no such channel) for anything that is not a row id: -1, 1.0, ١, 10**5000."""
    return int(channel_id) if channel_id.isascii() and channel_id.isdecimal() and len(channel_id) <= 19 else -1
