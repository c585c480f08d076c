"""Webhook intake routes: read the body (bounded), hand it to the intake service, answer what it says.

A POST is answered by `WebhookIntake`, a plain ASGI endpoint: FastAPI's handling of a request (its dependency
solving, query parsing, Request and Response models) cost about a quarter of the server's CPU per webhook under
load, more than reading, checking and logging it. The served app sends these POSTs to it ahead of its middleware
(`is_intake`, see chathub.app.ServedApp). These two routes are therefore not in /openapi.json: the channel guides
(docs/channels/) say what each provider sends. The GET handshake is an ordinary FastAPI route.
"""

from __future__ import annotations

from typing import NamedTuple

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from chathub import process_state
from chathub.routes.body_deadline import BodyTimeout
from chathub.routes.errors import database_conflict_response
from chathub.services.webhooks import answer_handshake, receive_webhook


class _Body(NamedTuple):
    """A webhook's body as read: all of it, or its first part when it was too large or too slow."""

    data: bytes
    too_large: bool = False
    timed_out: bool = False


class ClientGone(Exception):
    """The sender disconnected before its body was in: nothing is logged or answered (it got no 2xx)."""


async def _read_body(receive: Receive, limit: int) -> _Body:
    """The body, stopping at the first chunk past `limit` bytes or at the body's deadline (see body_deadline)."""
    chunks, size = [], 0
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return _Body(b"".join(chunks), too_large=True)
            if not message.get("more_body", False):
                return _Body(b"".join(chunks))
    except BodyTimeout:
        return _Body(b"".join(chunks), timed_out=True)


def _headers(scope: Scope) -> dict[str, str]:
    """Names (lower case) and values as Starlette reads them: the first of a repeated header."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return headers


class WebhookIntake:
    """POST /webhooks/simulator and /webhooks/{channel_type}/{channel_id} (see the module's docstring)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self._answer(scope, receive)
        except ClientGone:
            return
        except DBAPIError as error:  # the app's exception handlers are not around it (see is_intake)
            response = await database_conflict_response(Request(scope), error)
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive) -> Response:
        limit = process_state.current().settings.max_webhook_bytes
        body = await _read_body(receive, limit)
        headers = _headers(scope)
        declared = headers.get("content-length", "")
        params = scope["path_params"]
        result = await receive_webhook(
            channel_type=params.get("channel_type", "simulator"),
            channel_id=_channel_number(params["channel_id"]) if "channel_id" in params else None,
            body=body.data,
            headers=headers,
            too_large=body.too_large or (declared.isdigit() and int(declared) > limit),
            timed_out=body.timed_out,
            query=scope["query_string"].decode(errors="replace"),
        )
        if result.acknowledgement is not None:
            content, media_type = result.acknowledgement
            return Response(content, media_type=media_type, headers={"x-chathub-webhook-log-id": str(result.log_id)})
        # a client too slow to send its body is not kept waiting on this connection for another request
        extra = {"connection": "close"} if body.timed_out else None
        return JSONResponse(result.response_body(), status_code=result.http_status, headers=extra)


INTAKE_ROUTES = [
    Route("/webhooks/simulator", WebhookIntake(), methods=["POST"], name="simulator_webhook"),
    Route("/webhooks/{channel_type}/{channel_id}", WebhookIntake(), methods=["POST"], name="channel_webhook"),
]
router = APIRouter(tags=["webhooks"])
router.routes += INTAKE_ROUTES  # as routes too: the app lists them, and answers other methods there with 405


def is_intake(scope: Scope) -> bool:
    """Whether a request is a webhook's POST; if so, its path parameters are put in the scope, as routing would."""
    if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/webhooks/"):
        return False
    for route in INTAKE_ROUTES:
        match, child_scope = route.matches(scope)
        if match is Match.FULL:
            scope.update(child_scope)
            return True
    return False


@router.get(
    "/webhooks/{channel_type}/{channel_id}",
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
