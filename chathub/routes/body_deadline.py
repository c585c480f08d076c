"""A deadline for request bodies, for every route the server answers (webhooks, API, pages).

A client that sends its headers and then trickles the body a byte at a time would otherwise hold its
connection (and a file descriptor) for as long as it likes; a few hundred of them starved /healthz. The body
must arrive within CHATHUB_BODY_TIMEOUT_SECONDS, plus one second for every MIN_BYTES_PER_SECOND that came,
so a large attachment on a slow line still gets through while a trickle does not. Late, the route's read
raises `BodyTimeout`: a 408 that closes the connection, with a log line (webhook routes also log a row).
"""

from __future__ import annotations

import asyncio
import logging

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
MIN_BYTES_PER_SECOND = 64 * 1024


class BodyTimeout(HTTPException):
    """The request body did not arrive in time. An HTTPException, so FastAPI's body parsing passes it on and
    Starlette answers it (408, connection closed) wherever no route catches it first."""

    def __init__(self, received: int) -> None:
        super().__init__(
            408, f"The request body did not arrive in time ({received} bytes came).", headers={"connection": "close"}
        )
        self.received = received


class BodyDeadline:
    """ASGI middleware: each `receive` of a request's body waits only until the body's deadline."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        started, received, complete = loop.time(), 0, False

        async def receive_in_time() -> Message:
            nonlocal received, complete
            if complete:  # after the body, a receive waits for the disconnect: no deadline for that
                return await receive()
            remaining = started + self.seconds + received / MIN_BYTES_PER_SECOND - loop.time()
            try:
                async with asyncio.timeout(max(remaining, 0)):
                    message = await receive()
            except TimeoutError:
                log.warning(
                    "%s %r from %s: the body did not arrive in time (%d bytes came); answered 408",
                    scope["method"],
                    scope["path"],
                    _client(scope),
                    received,
                )
                raise BodyTimeout(received) from None
            received += len(message.get("body", b""))
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, receive_in_time, send)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "an unknown client"
