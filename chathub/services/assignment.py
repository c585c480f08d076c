"""Automatic assignment: on a channel that assigns automatically (`Channel.auto_assign`), an open or pending
conversation without an assignee waits for an agent, and goes to the online agent with the fewest open
conversations on that channel who is under the channel's limit (`max_open_per_agent`, 0: none); ties go to the
one assigned longest ago (never assigned: first).

Online: an active agent (either role) with a connected tab, looked at or hidden (presence's "online" or
"away"); snoozed conversations do not count as open. The queue is the conversations' own state, so nothing is
lost at a restart and every instance sees the same one: a worker pass hands out what waits, oldest conversation
first, whenever something may have changed who qualifies (a new or reopened conversation, an agent coming
online, a conversation resolved or reassigned away, a channel's settings) and every PASS_SECONDS as a safety net.

On PostgreSQL the pass for a channel holds that channel's row (FOR NO KEY UPDATE, which messages' foreign keys
do not wait for) from its count to its last UPDATE, so two instances never both assign under one count. SQLite
has one writer already.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from chathub import bus, db, process_state, relay
from chathub.models import (
    Agent,
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    Message,
    Notification,
    NotificationType,
    utcnow,
)
from chathub.services import activity, notifications, presence
from chathub.services.channels import ASSIGNMENT_WORKER as WORKER
from chathub.services.conversations import conversation_out

log = logging.getLogger(__name__)
PASS_SECONDS = 30.0  # the safety net: a pass this often even when nothing woke the worker
BATCH = 200  # conversations handed out per channel and transaction
OPEN = (ConversationStatus.open, ConversationStatus.pending)
NEVER = datetime.min.replace(tzinfo=UTC)


def wake() -> None:
    """Something may have changed who qualifies or what waits: the worker makes a pass soon."""
    process_state.current().wake(WORKER)


async def assign_waiting_conversations() -> float:
    """Worker step: hand out what waits on every channel that assigns automatically. Returns the seconds until
    the safety net's next pass."""
    online = online_agent_ids()
    if online:
        for channel_id in await _assigning_channel_ids():
            while True:
                handed = await db.write_retrying(lambda session, c=channel_id: _assign_on_channel(session, c, online))
                handed.emit()
                if not handed.more:
                    break
    return PASS_SECONDS


def online_agent_ids() -> set[int]:
    """Agents with a connected tab on any instance (hidden or not)."""
    tabs = [*presence.here().tabs.values(), *presence.here().elsewhere.values()]
    return {tab.agent_id for tab in tabs if tab.connected}


async def _assigning_channel_ids() -> list[int]:
    async with db.read_session() as session:
        return list((await session.exec(select(Channel.id).where(Channel.auto_assign).order_by(Channel.id))).all())


@dataclass
class Handed:
    """What one batch handed out, to announce once committed."""

    conversations: list[tuple[Conversation, Customer, Channel]] = field(default_factory=list)
    lines: list[Message] = field(default_factory=list)
    notified: list[Notification] = field(default_factory=list)
    more: bool = False  # a full batch went out: more may wait

    def emit(self) -> None:
        for refs in self.conversations:
            log.info("Conversation %s assigned by rule to agent %s.", refs[0].id, refs[0].assignee_id)
            bus.conversation_updated.emit(conversation_out(*refs))
        activity.emit(self.lines)
        notifications.emit(self.notified)


async def _assign_on_channel(session, channel_id: int, online: set[int]) -> Handed:
    """One batch of this channel's waiting conversations, oldest first, under the channel's lock."""
    handed = Handed()
    channel = (
        await session.exec(select(Channel).where(Channel.id == channel_id).with_for_update(key_share=True))
    ).first()
    if channel is None or not channel.auto_assign:
        return handed
    waiting = (
        await session.exec(
            select(Conversation, Customer)
            .join(Customer, Customer.id == Conversation.customer_id)
            .where(
                Conversation.channel_id == channel_id,
                col(Conversation.assignee_id).is_(None),
                col(Conversation.status).in_(OPEN),
            )
            .order_by(Conversation.id)
            .limit(BATCH)
        )
    ).all()
    if not waiting:
        return handed
    agents, open_counts = await _candidates(session, channel_id, online)
    for conversation, customer in waiting:
        agent = _pick(agents, open_counts, channel.max_open_per_agent)
        if agent is None:
            break
        if not await _assign(session, conversation.id, agent.id):
            continue
        open_counts[agent.id] += 1
        agent.last_assigned_at = utcnow()
        set_committed_value(conversation, "assignee_id", agent.id)
        handed.conversations.append((conversation, customer, channel))
        handed.lines.append(
            await activity.add_line(session, conversation.id, channel_id, f"Assigned to {agent.name} by rule")
        )
        handed.notified += await notifications.add(
            session,
            [agent.id],
            NotificationType.assigned,
            conversation.id,
            f"Conversation with {customer.name} assigned to you",
        )
    relay.announce(session, "conversation_updated", *(refs[0].id for refs in handed.conversations))
    handed.more = len(waiting) == BATCH and len(handed.conversations) == BATCH
    return handed


async def _candidates(session, channel_id: int, online: set[int]) -> tuple[dict[int, Agent], dict[int, int]]:
    """The online active agents by id, and their open conversations on this channel."""
    agents = {
        agent.id: agent
        for agent in (
            await session.exec(select(Agent).where(col(Agent.id).in_(online), Agent.is_active).order_by(Agent.id))
        ).all()
    }
    counted = (
        await session.exec(
            select(Conversation.assignee_id, func.count())
            .where(
                Conversation.channel_id == channel_id,
                col(Conversation.assignee_id).in_(list(agents)),
                col(Conversation.status).in_(OPEN),
            )
            .group_by(Conversation.assignee_id)
        )
    ).all()
    counts = dict(counted)
    return agents, {agent_id: counts.get(agent_id, 0) for agent_id in agents}


def _pick(agents: dict[int, Agent], open_counts: dict[int, int], limit: int) -> Agent | None:
    """Fewest open first, then the one assigned longest ago (never: first), then the oldest account."""
    under = [agent for agent in agents.values() if not limit or open_counts[agent.id] < limit]
    if not under:
        return None
    return min(under, key=lambda agent: (open_counts[agent.id], agent.last_assigned_at or NEVER, agent.id))


async def _assign(session, conversation_id: int, agent_id: int) -> bool:
    """Only if it still waits: an agent may have taken or resolved it since it was read."""
    result = await session.exec(
        update(Conversation)
        .where(
            col(Conversation.id) == conversation_id,
            col(Conversation.assignee_id).is_(None),
            col(Conversation.status).in_(OPEN),
        )
        .values(assignee_id=agent_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
