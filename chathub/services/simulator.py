"""The simulator panel's side of the pipeline: testers play customers, and everything they do goes
through the real webhook route (signed when the channel has a secret), exactly like a provider's call."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select

from chathub import db, process_state
from chathub.drivers.simulator import DEFAULT_CONFIG, SIGNATURE_HEADER, OutboxEntry, outbox, sign
from chathub.models import (
    Channel,
    ChannelType,
    Conversation,
    Customer,
    CustomerIdentity,
    Message,
    MessageDirection,
    MessageKind,
)
from chathub.schemas import ChannelPatch, MessageOut
from chathub.services import channels
from chathub.services.errors import ValidationFailed


@dataclass(frozen=True)
class PostResult:
    status_code: int
    body: dict[str, Any]
    request_body: bytes

    @property
    def accepted(self) -> bool:
        return self.status_code == 200


def new_message_id() -> str:
    return f"sim-in-{uuid.uuid4().hex[:12]}"


def customer_message(*, phone: str, name: str | None, kind: str = "text", **fields: Any) -> dict[str, Any]:
    payload = {
        "from": phone,
        "type": kind,
        "message_id": new_message_id(),
        "timestamp": datetime.now(UTC).isoformat(),
        **fields,
    }
    if name:
        payload["name"] = name
    return payload


async def post_raw(channel_id: int, body: bytes) -> PostResult:
    channel = await channels.get_channel(channel_id)
    headers = {"content-type": "application/json"}
    if channel.webhook_secret:
        headers[SIGNATURE_HEADER] = sign(channel.webhook_secret, body)
    response = await process_state.current().loopback.post(
        f"/webhooks/simulator/{channel_id}", content=body, headers=headers
    )
    try:
        answer = response.json()
    except ValueError:
        answer = {"detail": response.text}
    return PostResult(response.status_code, answer, body)


async def post_payload(channel_id: int, payload: dict[str, Any]) -> PostResult:
    return await post_raw(channel_id, json.dumps(payload).encode())


async def send_receipt(channel_id: int, external_id: str, status: str) -> PostResult:
    return await post_payload(channel_id, {"type": "status", "message_id": external_id, "status": status})


def replies_to(channel_id: int, phone: str) -> list[OutboxEntry]:
    """What agents sent this fake customer, oldest first."""
    return outbox.for_recipient(channel_id, phone)


def listen_to_the_provider(
    on_delivered: Callable[[OutboxEntry], Any], on_agent_typing: Callable[[int, str], Any]
) -> Callable[[], None]:
    """Hear of each reply the simulated provider delivers and each typing indicator it shows, (channel id,
    recipient id); returns what stops listening."""
    outbox.listeners.append(on_delivered)
    outbox.typing_listeners.append(on_agent_typing)

    def stop() -> None:
        for listeners, listener in ((outbox.listeners, on_delivered), (outbox.typing_listeners, on_agent_typing)):
            if listener in listeners:
                listeners.remove(listener)

    return stop


async def set_provider_behaviour(channel_id: int, **config: Any) -> dict[str, Any]:
    """Change failure_rate, latency_ms, auto_receipts… of a simulator channel (nothing else)."""
    unknown = sorted(set(config) - set(DEFAULT_CONFIG))
    if unknown:
        raise ValidationFailed(f"unknown provider setting: {', '.join(unknown)}")
    if (await channels.get_channel(channel_id)).type != ChannelType.simulator:
        raise ValidationFailed("only simulator channels have a simulated provider")
    channel = await channels.update_channel(channel_id, ChannelPatch(config=config))
    return channel.config


async def simulator_channels() -> list[Channel]:
    """Every simulator channel, oldest first (the first one is the default intake)."""
    return [c for c in await channels.list_channels() if c.type == ChannelType.simulator]


@dataclass(frozen=True)
class FakeCustomer:
    """Who the tester plays: `phone` is the sender id the webhooks carry."""

    name: str
    phone: str


PHONE_PATTERN = re.compile(r"\+?[0-9]{6,15}")


def check_fake_customer(*, name: str, phone: str) -> FakeCustomer:
    """A fake customer from a form, or ValidationFailed saying what to fix. The name may be empty
    (the inbox then shows the number, as for a real customer who set none)."""
    name, phone = " ".join((name or "").split()), "".join((phone or "").split())
    if not phone:
        raise ValidationFailed("enter a phone number")
    if not PHONE_PATTERN.fullmatch(phone):
        raise ValidationFailed("a phone number is 6 to 15 digits, optionally starting with +")
    if len(name) > 100:
        raise ValidationFailed("the name is longer than 100 characters")
    return FakeCustomer(name=name, phone=phone)


async def channel_customers(*, channel_id: int, q: str | None = None, limit: int = 8) -> list[FakeCustomer]:
    """Customers who have written on this channel, newest identity first, optionally matching `q`."""
    query = (
        select(Customer.name, CustomerIdentity.external_id)
        .join(Customer, Customer.id == CustomerIdentity.customer_id)
        .where(CustomerIdentity.channel_id == channel_id)
        .order_by(col(CustomerIdentity.id).desc())
        .limit(limit)
    )
    if q and q.strip():
        like = f"%{q.strip()}%"
        query = query.where(or_(col(Customer.name).ilike(like), col(CustomerIdentity.external_id).ilike(like)))
    async with db.read_session() as session:
        rows = (await session.exec(query)).all()
    return [FakeCustomer(name=name if name != external_id else "", phone=external_id) for name, external_id in rows]


@dataclass
class Thread:
    """What the fake customer's phone shows: their messages and the replies the provider delivered."""

    conversation_ids: set[int] = field(default_factory=set)
    messages: list[MessageOut] = field(default_factory=list)


async def thread(*, channel_id: int, phone: str, limit: int = 100) -> Thread:
    """The last `limit` messages between this channel and the sender id `phone`, oldest first. Agent replies
    count once the provider took them (they have an external id); pending or failed ones never reached
    the phone."""
    async with db.read_session() as session:
        conversation_ids = set(
            (
                await session.exec(
                    select(Conversation.id)
                    .join(CustomerIdentity, CustomerIdentity.id == Conversation.identity_id)
                    .where(CustomerIdentity.channel_id == channel_id, CustomerIdentity.external_id == phone)
                )
            ).all()
        )
        if not conversation_ids:
            return Thread()
        rows = (
            await session.exec(
                select(Message)
                .where(
                    col(Message.conversation_id).in_(conversation_ids),
                    Message.kind == MessageKind.message,  # notes and activity lines never reach the customer
                    or_(Message.direction == MessageDirection.inbound, col(Message.external_id).is_not(None)),
                )
                .order_by(col(Message.id).desc())
                .limit(limit)
            )
        ).all()
    return Thread(conversation_ids, [MessageOut.model_validate(m) for m in reversed(rows)])
