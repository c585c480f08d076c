"""A channel added in one place: a driver defined here, registered for the test, runs end to end through the real
app (its webhook, a customer, a conversation, an agent's threaded reply to a live visitor, its background job)
without any other file knowing of it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator, Mapping

import pytest

from chathub.drivers import register_driver, unregister_driver
from chathub.drivers.base import (
    BackgroundJob,
    Capabilities,
    ChannelDriver,
    InboundEvent,
    InboundMessage,
    InvalidPayload,
    OutboundMessage,
    RetryableError,
    SignatureError,
    StrictConfig,
)
from chathub.models import ContentType
from chathub.services import channels, live_visitors
from tests.helpers.waiting import eventually

TOKEN_HEADER = "x-toy-token"
WAIT_SECONDS = 20.0  # an upper bound for background work on a busy machine, not a timing assertion


class ToyConfig(StrictConfig):
    token: str
    greeting: str = "Hello"


async def poll_the_toy_provider(driver: ChannelDriver) -> None:
    """What an email poller does with new mail: hand it to the channel's own webhook intake."""
    body = json.dumps({"id": "polled-1", "visitor": "v-polled", "text": "Found by the poller"}).encode()
    await driver.context.post_webhook(body, {TOKEN_HEADER: driver.context.config["token"]})


class ToyDriver(ChannelDriver):
    """A website-chat-like channel: visitors post JSON, replies go to the visitor's open connection."""

    type = "toy"
    label = "Toy chat"
    icon = "toys"
    config_model = ToyConfig
    capabilities = Capabilities(
        content_types=frozenset({ContentType.text}), max_text_length=500, live_delivery=True, threads=True
    )
    jobs = (BackgroundJob("poll", every_seconds=3600, run=poll_the_toy_provider),)

    def verify(self, body: bytes, headers: Mapping[str, str], *, query: str = "") -> None:
        if headers.get(TOKEN_HEADER) != self.context.config["token"]:
            raise SignatureError(f"{TOKEN_HEADER} is not the channel's token")

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
        try:
            data = json.loads(body)
            return [
                InboundMessage(
                    external_id=data["id"],
                    sender_id=data["visitor"],
                    sender_name=data.get("name"),
                    content_type=ContentType.text,
                    content=data["text"],
                    thread_ref=data.get("thread"),
                    subject=data.get("subject"),
                    sender_address=data.get("email"),
                )
            ]
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidPayload(f"not a toy message: {error!r}") from None

    async def send(self, message: OutboundMessage) -> str:
        context = message.reply_context
        event = {
            "text": message.content,
            "in_reply_to": context.in_reply_to,
            "thread": context.thread_ref,
            "subject": context.subject,
        }
        if not await self.context.deliver_live(message.recipient_id, event):
            raise RetryableError("the visitor has no open connection")
        return f"toy-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def toy_channels() -> Iterator[None]:
    register_driver(ToyDriver)
    yield
    unregister_driver(ToyDriver.type)


async def create_toy_channel(client, auth) -> dict:
    response = await client.post(
        "/api/v1/channels", json={"type": "toy", "name": "Website", "config": {"token": "t0ken"}}, headers=auth
    )
    assert response.status_code == 201, response.text
    return response.json()


async def conversation_with(client, auth, text: str) -> tuple[dict, list[dict]] | None:
    """The toy channel's conversation holding a message with this text, and its messages."""
    listed = await client.get("/api/v1/conversations", params={"channel_type": "toy"}, headers=auth)
    for conversation in listed.json()["items"]:
        messages = (await client.get(f"/api/v1/conversations/{conversation['id']}/messages", headers=auth)).json()
        if any(m["content"] == text for m in messages["items"]):
            return conversation, messages["items"]
    return None


async def test_a_channel_defined_in_one_module_runs_a_webhook_a_threaded_reply_and_its_job(client, auth, toy_channels):
    channel = await create_toy_channel(client, auth)
    assert channel["webhook_url"].endswith(f"/webhooks/toy/{channel['id']}")
    kind = channels.channel_kind("toy")
    assert (kind.label, kind.icon, kind.capabilities.live_delivery) == ("Toy chat", "toys", True)

    body = {
        "id": "m-1",
        "visitor": "v-vera",
        "name": "Vera",
        "text": "Where is order 7?",
        "thread": "thread-7",
        "subject": "Order 7",
        "email": "vera@example.com",
    }
    answer = await client.post(f"/webhooks/toy/{channel['id']}", json=body, headers={TOKEN_HEADER: "t0ken"})
    assert answer.status_code == 200, answer.text
    conversation, [message] = await eventually(
        lambda: conversation_with(client, auth, "Where is order 7?"), timeout=WAIT_SECONDS
    )
    assert conversation["channel"]["type"] == "toy" and conversation["customer"]["name"] == "Vera"
    assert message["payload"] == {"thread_ref": "thread-7", "subject": "Order 7", "sender_address": "vera@example.com"}

    visitor = live_visitors.connect(channel["id"], "v-vera")  # as a widget's open connection would
    try:
        reply = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages", json={"content": "On its way"}, headers=auth
        )
        assert reply.status_code == 201, reply.text
        delivered = await asyncio.wait_for(visitor.get(), WAIT_SECONDS)
    finally:
        live_visitors.disconnect(channel["id"], "v-vera", visitor)
    assert delivered == {"text": "On its way", "in_reply_to": "m-1", "thread": "thread-7", "subject": "Order 7"}

    await eventually(lambda: conversation_with(client, auth, "Found by the poller"), timeout=WAIT_SECONDS)


async def test_an_unknown_setting_of_a_channel_is_refused_by_name(client, auth, toy_channels):
    response = await client.post(
        "/api/v1/channels",
        json={"type": "toy", "name": "Website", "config": {"token": "t0ken", "greetng": "Hi"}},
        headers=auth,
    )

    assert response.status_code == 422, response.text
    assert "toy channels have no setting 'greetng' (did you mean 'greeting'?)" in response.json()["detail"]
    assert [c["type"] for c in (await client.get("/api/v1/channels", headers=auth)).json()["items"]] == ["simulator"]


async def test_a_channel_type_no_driver_is_registered_for_is_refused(client, auth):
    response = await client.post("/api/v1/channels", json={"type": "toy", "name": "Website"}, headers=auth)

    assert response.status_code == 422, response.text
    assert "there are no toy channels" in response.json()["detail"]
