"""Auto-resolve (`CHATHUB_AUTO_RESOLVE_HOURS`): open and pending conversations without a message for that long
are resolved by a timed job, with a line in the thread ("Resolved after 24 hours without messages").

A message is a customer's or an agent's (`Conversation.last_message_at`: when ChatHub last received or queued
one); notes and activity lines do not move it. Every instance runs the job: on PostgreSQL each takes the rows it
resolves with FOR UPDATE SKIP LOCKED, and a row resolved meanwhile, or written to, no longer matches.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import col, select

from chathub import bus, db, process_state, relay
from chathub.models import Conversation, ConversationStatus, utcnow
from chathub.services import activity, channels, conversations

log = logging.getLogger(__name__)
BATCH = 200
OPEN = (ConversationStatus.open, ConversationStatus.pending)
UNITS = (("hour", 3600), ("minute", 60), ("second", 1))


def check_seconds(hours: float) -> float:
    """How often the job looks: a tenth of the idle time, between a fifth of a second and a minute."""
    return min(60.0, max(0.2, hours * 360))


def idle_time(hours: float) -> str:
    """24 -> "24 hours", 1.5 -> "90 minutes", 1/3600 -> "1 second"."""
    seconds = max(1, round(hours * 3600))
    unit, size = next((unit, size) for unit, size in UNITS if seconds % size == 0)
    count = seconds // size
    return f"{count} {unit}{'' if count == 1 else 's'}"


async def resolve_idle_conversations() -> int:
    """Resolve what has been quiet too long (a timed job); returns how many. In batches, each its own
    transaction, like the snooze job."""
    hours = process_state.current().settings.auto_resolve_hours
    if not hours:
        return 0
    cutoff = utcnow() - timedelta(hours=hours)
    text = f"Resolved after {idle_time(hours)} without messages"
    resolved = 0
    while True:
        async with db.write_session() as session:
            rows = list(
                (
                    await session.exec(
                        select(Conversation)
                        .where(col(Conversation.status).in_(OPEN), col(Conversation.last_message_at) < cutoff)
                        .order_by(Conversation.last_message_at)
                        .limit(BATCH)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
            )
            lines = []
            for conversation in rows:
                conversation.status = ConversationStatus.resolved
                session.add(conversation)
                lines.append(await activity.add_line(session, conversation.id, conversation.channel_id, text))
            relay.announce(session, "conversation_updated", *(conversation.id for conversation in rows))
        if rows:
            for out in await conversations.conversations_by_id([conversation.id for conversation in rows]):
                log.info("Conversation %s resolved: no message for %s.", out.id, idle_time(hours))
                bus.conversation_updated.emit(out)
            activity.emit(lines)
            process_state.current().wake(channels.ASSIGNMENT_WORKER)  # their agents have room again
        resolved += len(rows)
        if len(rows) < BATCH:
            return resolved
