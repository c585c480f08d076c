"""Two ChatHub instances on one PostgreSQL database taking the first messages of the same new customers at once:
each customer is made once, with one identity and one conversation, and both instances' messages count as unread.
The second instance is a second engine on the same database, with none of this process's locks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlmodel import func, select

from chathub import db, process_state
from chathub.drivers.base import InboundMessage
from chathub.models import ContentType, Conversation, Customer, CustomerIdentity, Message
from chathub.services import channels
from chathub.services.inbound import apply_inbound_batch, apply_inbound_events
from tests.helpers import postgres

SENDERS = [f"first-contact-{n:03d}" for n in range(60)]


@pytest.fixture
async def other_instance(client) -> AsyncIterator[db.Database]:
    if not postgres.selected():
        pytest.skip(f"{postgres.SELECTOR}=postgresql runs it on PostgreSQL (several instances need it)")
    other = db.Database(process_state.current().settings.database_url)
    yield other
    await other.engine.dispose()


def first_messages(instance: str, senders: list[str]) -> list[InboundMessage]:
    return [
        InboundMessage(
            external_id=f"{instance}-{sender}", sender_id=sender, content_type=ContentType.text, content="hello"
        )
        for sender in senders
    ]


async def write_together(database: db.Database, messages: list[InboundMessage]) -> None:
    """As the webhook worker does with a batch: shared lookups, new senders made together."""
    channel = await channels.default_simulator_channel()
    await database.write_retrying(lambda session: apply_inbound_batch(session, [(channel, [m]) for m in messages]))


async def write_one_by_one(database: db.Database, messages: list[InboundMessage]) -> None:
    """As the webhook worker does when a batch failed: each message on its own."""
    channel = await channels.default_simulator_channel()

    async def apply_each(session) -> None:
        for message in messages:
            await apply_inbound_events(session, channel, [message])

    await database.write_retrying(apply_each)


async def count(model) -> int:
    async with db.read_session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


@pytest.mark.parametrize("other_writes", [write_together, write_one_by_one], ids=["together", "one_by_one"])
async def test_new_customers_written_to_two_instances_at_once_are_made_once_with_exact_unread_counts(
    other_instance, other_writes
):
    await asyncio.gather(
        write_together(db.database(), first_messages("a", SENDERS)),
        other_writes(other_instance, first_messages("b", SENDERS[::-1])),
    )

    assert await count(Message) == 2 * len(SENDERS)
    assert await count(CustomerIdentity) == len(SENDERS)
    assert await count(Customer) == len(SENDERS)
    assert await count(Conversation) == len(SENDERS)
    async with db.read_session() as session:
        unread = (await session.exec(select(Conversation.unread_count).distinct())).all()
    assert unread == [2]
