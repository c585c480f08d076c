"""A customer writing in: simulator webhook bodies and posting them, signed when the channel has a secret."""

from __future__ import annotations

import json
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
