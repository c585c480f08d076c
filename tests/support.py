"""Helpers tests share: post a simulator webhook, wait for the background workers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from chathub.drivers.simulator import sign


def seed_message(
    message_id: str = "msg_123", sender: str = "+1234567890", text: str = "Hello, I need support!", **extra: Any
) -> dict[str, Any]:
    return {
        "from": sender,
        "message": text,
        "type": "text",
        "message_id": message_id,
        "timestamp": "2024-02-14T10:00:00Z",
        **extra,
    }


async def post_webhook(
    http: httpx.AsyncClient,
    payload: Any,
    *,
    path: str = "/webhooks/simulator",
    secret: str | None = None,
    raw: bytes | None = None,
) -> httpx.Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"content-type": "application/json"}
    if secret:
        headers["x-chathub-signature"] = sign(secret, body)
    return await http.post(path, content=body, headers=headers)


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Await `check()` until it returns something truthy (background workers are asynchronous)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last result: {result!r}")
        await asyncio.sleep(interval)
