"""Notifications: an agent is told of a mention, an assignment, or a customer's reply on a conversation they are
assigned to or follow. Rows are written inside the write that caused them; the bell hears them on the bus, and
hears `notifications_read` when the agent reads some in any tab (on any instance)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

import sqlalchemy as sa
from sqlalchemy import bindparam, update
from sqlmodel import col, func, select

from chathub import bus, db, relay
from chathub.models import (
    Agent,
    Channel,
    Conversation,
    ConversationFollower,
    Customer,
    Message,
    Notification,
    NotificationType,
    new_row,
    utcnow,
)
from chathub.schemas import NotificationOut, NotificationsRead, Page
from chathub.services import visibility
from chathub.services.errors import NotFound, ValidationFailed, require_row_id
from chathub.services.paging import clamp_limit, decode_cursor, encode_cursor


async def add(
    session,
    agent_ids: Iterable[int],
    type: NotificationType,
    conversation_id: int,
    text: str,
    *,
    message_id: int | None = None,
    actor_id: int | None = None,
) -> list[Notification]:
    """Inside a write: one notification for each agent who may see the conversation (never the actor, who did
    it), announced to the other instances. Emit them with `emit` after the commit."""
    agent_ids = await _who_may_see(session, list(dict.fromkeys(agent_ids)), conversation_id)
    now = utcnow()
    rows = [
        new_row(
            Notification,
            agent_id=agent_id,
            type=type,
            conversation_id=conversation_id,
            message_id=message_id,
            actor_id=actor_id,
            text=text,
            created_at=now,
        )
        for agent_id in dict.fromkeys(agent_ids)
        if agent_id != actor_id
    ]
    return await _insert(session, rows)


async def _who_may_see(session, agent_ids: list[int], conversation_id: int) -> list[int]:
    """Nobody is told of a conversation they may not open (an agent limited to their own, mentioned in another's)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or not agent_ids:
        return []
    agents = (await session.exec(select(Agent).where(col(Agent.id).in_(agent_ids)))).all()
    return visibility.visible_agent_ids(list(agents), conversation)


async def _insert(session, rows: list[Notification]) -> list[Notification]:
    session.add_all(rows)
    await session.flush()
    relay.announce(session, "notification_created", *(row.id for row in rows))
    return rows


def emit(rows: Iterable[Notification]) -> None:
    for row in rows:
        bus.notification_created.emit(NotificationOut.model_validate(row))


async def add_customer_replies(
    session, created: Sequence[tuple[Message, Conversation, Customer, Channel]]
) -> list[Notification]:
    """Inside the write that stored a batch of customer messages: the assignee and the followers of each
    conversation are told once per batch, of its latest message (its preview is the conversation's). One query
    finds whom to tell for the whole batch."""
    latest = {conversation.id: (message, conversation, customer) for message, conversation, customer, _ in created}
    if not latest:
        return []
    agents = await _agents_to_tell(session, list(latest))
    now = utcnow()
    rows = [
        new_row(
            Notification,
            agent_id=agent.id,
            type=NotificationType.customer_replied,
            conversation_id=conversation.id,
            message_id=message.id,
            text=f"{customer.name} replied: {conversation.last_message_preview}",
            created_at=now,
        )
        for message, conversation, customer in latest.values()
        for agent in agents.get(conversation.id, ())
        if visibility.may_see(agent, conversation)
    ]
    return await _insert(session, rows) if rows else []


@cache
def _agents_to_tell_query():  # built once: every webhook batch runs it, and building costs more than running
    ids = bindparam("ids", expanding=True)
    followed = (
        select(ConversationFollower.conversation_id, ConversationFollower.agent_id)
        .where(col(ConversationFollower.conversation_id).in_(ids))
        .union(
            select(Conversation.id, Conversation.assignee_id).where(
                col(Conversation.id).in_(ids), col(Conversation.assignee_id).is_not(None)
            )
        )
        .subquery()
    )
    return (
        select(followed.c[0], Agent)
        .join(Agent, Agent.id == followed.c[1])
        .where(col(Agent.is_active))
        .order_by(followed.c[0], Agent.id)
    )


async def _agents_to_tell(session, conversation_ids: list[int]) -> dict[int, list[Agent]]:
    """The active assignee and followers of each conversation, each agent once."""
    rows = await session.exec(_agents_to_tell_query(), params={"ids": conversation_ids})
    agents: dict[int, list[Agent]] = {}
    for conversation_id, agent in rows:
        agents.setdefault(conversation_id, []).append(agent)
    return agents


async def list_for(
    agent_id: int, *, unread_only: bool = False, limit: int | None = None, cursor: str | None = None
) -> Page[NotificationOut]:
    """The agent's own notifications, newest first."""
    limit = clamp_limit(limit)
    query = (
        select(Notification)
        .where(Notification.agent_id == agent_id)
        .order_by(col(Notification.id).desc())
        .limit(limit + 1)
    )
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        query = query.where(Notification.id < _cursor_id(last_id))
    async with db.read_session() as session:
        rows = list((await session.exec(query.where(await _still_seen(session, agent_id)))).all())
    page = rows[:limit]
    return Page(
        items=[NotificationOut.model_validate(row) for row in page],
        next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None,
    )


def _cursor_id(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise ValidationFailed("cursor is not one this server gave out")
    return value


async def unread_count(agent_id: int) -> int:
    async with db.read_session() as session:
        query = select(func.count()).where(
            Notification.agent_id == agent_id,
            col(Notification.read_at).is_(None),
            await _still_seen(session, agent_id),
        )
        return (await session.exec(query)).one()


async def _still_seen(session, agent_id: int) -> sa.ColumnElement[bool]:
    """On `notification`: those about conversations the agent still sees. One handed on to someone else since
    takes its notifications along (their text quotes the customer)."""
    agent = await session.get(Agent, agent_id)
    if agent is None or visibility.sees_all(agent):
        return sa.true()
    return sa.exists().where(Conversation.id == Notification.conversation_id, visibility.limited_condition(agent_id))


async def mark_read(agent_id: int, notification_id: int) -> NotificationOut:
    """Mark one of the agent's notifications read (again: nothing changes). Another agent's is not there."""
    require_row_id(notification_id, "notification")
    async with db.write_session() as session:
        row = await session.get(Notification, notification_id)
        if row is None or row.agent_id != agent_id:
            raise NotFound(f"notification {notification_id} does not exist")
        changed = row.read_at is None
        if changed:
            row.read_at = utcnow()
            session.add(row)
            await session.flush()
            relay.announce(session, "notifications_read", agent_id)
        result = NotificationOut.model_validate(row)
    if changed:
        bus.notifications_read.emit(NotificationsRead(agent_id=agent_id))
    return result


async def mark_all_read(agent_id: int) -> int:
    """Mark all the agent's unread notifications read; returns how many were."""
    async with db.write_session() as session:
        result = await session.exec(
            update(Notification)
            .where(col(Notification.agent_id) == agent_id, col(Notification.read_at).is_(None))
            .values(read_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        marked = result.rowcount
        if marked:
            relay.announce(session, "notifications_read", agent_id)
    if marked:
        bus.notifications_read.emit(NotificationsRead(agent_id=agent_id))
    return marked
