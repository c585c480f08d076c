"""Automatic assignment never goes past a channel's limit when several passes run at once on one PostgreSQL
database, as they do when instances hear of the same change (a pass holds the channel's row from its count to
its last UPDATE). The passes here are concurrent transactions of the services in this process, each on its own
connection, which is what two instances are to the database."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlmodel import select

from chathub import db
from chathub.drivers.base import InboundMessage
from chathub.models import AgentRole, ContentType, Conversation, Message, MessageKind
from chathub.schemas import AgentIn, ChannelIn
from chathub.services import agents, assignment, channels, inbound, presence

LIMIT = 3


async def ten_new_conversations(channel) -> None:
    async with db.write_session() as session:
        for n in range(10):
            message = InboundMessage(f"m-{n}", f"+1555000{n:04d}", ContentType.text, "Hello", sender_name=f"C{n}")
            await inbound.apply_inbound_events(session, channel, [message])


async def test_passes_running_at_once_never_assign_past_the_limit(shared_database: str):
    async with db.database_only(shared_database):
        channel = await channels.create_channel(
            ChannelIn(type="simulator", name="Shop", auto_assign=True, max_open_per_agent=LIMIT)
        )
        for name in ("Bob", "Carol"):
            agent = await agents.create_agent(
                AgentIn(email=f"{name}@example.com", name=name, password="Agent-pass-12", role=AgentRole.agent)
            )
            presence.tab_opened(f"tab-of-{name}", agent)  # online
        await ten_new_conversations(channel)

        await asyncio.gather(*(assignment.assign_waiting_conversations() for _ in range(4)))

        async with db.read_session() as session:
            assignees = (await session.exec(select(Conversation.assignee_id))).all()
            lines = (await session.exec(select(Message.content).where(Message.kind == MessageKind.activity))).all()
    counts = Counter(assignees)
    assert sorted(counts.values()) == [LIMIT, LIMIT, 4] and counts[None] == 4
    assert len(lines) == 2 * LIMIT  # one line per assignment: no conversation was assigned twice
