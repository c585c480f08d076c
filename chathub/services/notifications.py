"""Notifications: an agent is told of a mention, an assignment, or a customer's reply on a conversation they are
assigned to or follow. Rows are written inside the write that caused them; the bell hears them on the bus."""

from __future__ import annotations

from collections.abc import Iterable

from chathub import bus, relay
from chathub.models import Notification, NotificationType, new_row, utcnow
from chathub.schemas import NotificationOut


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
    """Inside a write: one notification for each agent (never the actor, who did it), announced to the other
    instances. Emit them with `emit` after the commit."""
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
    session.add_all(rows)
    await session.flush()
    relay.announce(session, "notification_created", *(row.id for row in rows))
    return rows


def emit(rows: Iterable[Notification]) -> None:
    for row in rows:
        bus.notification_created.emit(NotificationOut.model_validate(row))
