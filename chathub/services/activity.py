"""Activity lines: what happened to a conversation ("Alice resolved the conversation"), written into its thread
as a message of their own kind. They are never sent to the channel, never counted as a reply or as unread, and
change neither the inbox's order nor its preview."""

from __future__ import annotations

from collections.abc import Iterable

from chathub import bus, relay
from chathub.models import Message, MessageDirection, MessageKind, MessageStatus, new_row, utcnow
from chathub.schemas import MessageOut


async def add_line(session, conversation_id: int, channel_id: int, text: str, actor_id: int | None = None) -> Message:
    """Inside a write: the line, announced to the other instances. Emit it with `emit` after the commit."""
    row = new_row(
        Message,
        conversation_id=conversation_id,
        channel_id=channel_id,
        direction=MessageDirection.outbound,
        kind=MessageKind.activity,
        content=text,
        status=MessageStatus.sent,
        agent_id=actor_id,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    relay.announce(session, "message_created", row.id)
    return row


def emit(lines: Iterable[Message]) -> None:
    for line in lines:
        bus.message_created.emit(MessageOut.model_validate(line))
