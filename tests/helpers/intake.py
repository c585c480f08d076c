"""Helpers for the webhook-intake and inbound tests: read what a user sees through the REST API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook


async def get_json(client: httpx.AsyncClient, auth: dict[str, str], path: str, **params: Any) -> Any:
    response = await client.get(path, headers=auth, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def items(client: httpx.AsyncClient, auth: dict[str, str], path: str, **params: Any) -> list[dict]:
    return (await get_json(client, auth, path, **{"limit": 100, **params}))["items"]


async def all_messages(client: httpx.AsyncClient, auth: dict[str, str]) -> list[dict]:
    messages = []
    for conversation in await items(client, auth, "/api/v1/conversations"):
        messages += await items(client, auth, f"/api/v1/conversations/{conversation['id']}/messages")
    return messages


async def inbox_sizes(client: httpx.AsyncClient, auth: dict[str, str]) -> tuple[int, int, int]:
    """(customers, conversations, messages) as the REST API shows them."""
    return (
        len(await items(client, auth, "/api/v1/customers")),
        len(await items(client, auth, "/api/v1/conversations")),
        len(await all_messages(client, auth)),
    )


async def webhook_log(client: httpx.AsyncClient, auth: dict[str, str], log_id: int) -> dict:
    return await get_json(client, auth, f"/api/v1/webhook-logs/{log_id}")


async def settled_log(client: httpx.AsyncClient, auth: dict[str, str], log_id: int, status: str) -> dict:
    """The log once the webhook worker has brought it to `status`."""

    async def check():
        entry = await webhook_log(client, auth, log_id)
        return entry if entry["status"] == status else None

    return await eventually(check)


async def accepted(client: httpx.AsyncClient, payload: Any, **kwargs: Any) -> int:
    """Post a webhook that must be accepted; returns its webhook log id."""
    response = await post_webhook(client, payload, **kwargs)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    return response.json()["webhook_log_id"]


async def processed(client: httpx.AsyncClient, auth: dict[str, str], payload: Any, **kwargs: Any) -> dict:
    """Post a webhook and wait until the worker has processed it; returns its log."""
    return await settled_log(client, auth, await accepted(client, payload, **kwargs), "processed")


async def default_channel_id(client: httpx.AsyncClient, auth: dict[str, str]) -> int:
    channels = (await get_json(client, auth, "/api/v1/channels"))["items"]
    return min(c["id"] for c in channels if c["type"] == "simulator")


async def create_channel(client: httpx.AsyncClient, auth: dict[str, str], **fields: Any) -> dict:
    body = {"type": "simulator", "name": "Second simulator", "config": {}, **fields}
    response = await client.post("/api/v1/channels", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()
