"""Helpers for tests that drive ChatHub through its REST API: customers write in through the simulator
webhook, agents answer through /api/v1, and the simulator outbox tells what the "provider" delivered."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx

from chathub.drivers.simulator import outbox
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message

_numbers = itertools.count(1)
DEFAULT_CHANNEL_ID = 1  # the simulator channel a fresh database starts with
WAIT_SECONDS = 20.0  # an upper bound for background work on a busy machine, not a timing assertion


def new_sender() -> str:
    """A phone number no other test uses, so outbox counts per recipient are this test's own."""
    return f"+1555{uuid.uuid4().int % 10**6:06d}{next(_numbers) % 1000:03d}"


async def customer_writes(
    http: httpx.AsyncClient,
    auth: dict[str, str],
    *,
    sender: str,
    text: str = "Hello",
    name: str | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """The customer sends a message through the simulator webhook; returns their conversation once the
    message is in it."""
    extra = {"name": name} if name else {}
    response = await post_webhook(
        http, seed_message(message_id=message_id or uuid.uuid4().hex, sender=sender, text=text, **extra)
    )
    assert response.status_code == 200, response.text

    async def conversation_with_text():
        customer = await customer_of(http, auth, sender)
        if customer is None:
            return None
        listed = await http.get("/api/v1/conversations", params={"customer_id": customer["id"]}, headers=auth)
        items = listed.json()["items"]
        if not items:
            return None
        messages = await list_messages(http, auth, items[0]["id"])
        return items[0] if any(m["content"] == text for m in messages) else None

    return await eventually(conversation_with_text, timeout=WAIT_SECONDS)


async def customer_of(http: httpx.AsyncClient, auth: dict[str, str], sender: str) -> dict[str, Any] | None:
    response = await http.get("/api/v1/customers", params={"q": sender, "limit": 100}, headers=auth)
    assert response.status_code == 200, response.text
    for customer in response.json()["items"]:
        if any(i["external_id"] == sender for i in customer["identities"]):
            return customer
    return None


async def list_messages(
    http: httpx.AsyncClient, auth: dict[str, str], conversation_id: int, **params: Any
) -> list[dict[str, Any]]:
    response = await http.get(
        f"/api/v1/conversations/{conversation_id}/messages", params={"limit": 100, **params}, headers=auth
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def message(
    http: httpx.AsyncClient, auth: dict[str, str], conversation_id: int, message_id: int
) -> dict[str, Any]:
    return next(m for m in await list_messages(http, auth, conversation_id) if m["id"] == message_id)


async def message_reaches(
    http: httpx.AsyncClient,
    auth: dict[str, str],
    conversation_id: int,
    message_id: int,
    *statuses: str,
    timeout: float = WAIT_SECONDS,
) -> dict[str, Any]:
    """Wait until the message has one of `statuses`; returns it."""

    async def check():
        found = await message(http, auth, conversation_id, message_id)
        return found if found["status"] in statuses else None

    return await eventually(check, timeout=timeout)


async def configure_simulator(
    http: httpx.AsyncClient, auth: dict[str, str], channel_id: int = DEFAULT_CHANNEL_ID, **config: Any
) -> dict[str, Any]:
    response = await http.patch(f"/api/v1/channels/{channel_id}", json={"config": config}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def delivered_to(sender: str, channel_id: int = DEFAULT_CHANNEL_ID) -> list:
    """What the simulated provider really delivered to this customer."""
    return outbox.for_recipient(channel_id, sender)
