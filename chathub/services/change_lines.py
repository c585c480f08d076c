"""What an agent's change to a conversation writes into its thread ("Alice resolved the conversation", "Alice
assigned the conversation to Bob"), and the `assigned` notification a new assignee gets. Written inside the
write that makes the change; nothing when nothing changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from chathub.models import Agent, ConversationStatus, Message, Notification, NotificationType
from chathub.schemas import ConversationOut
from chathub.services import activity, notifications

# By status reached: what the agent did, and the same said of no one in particular (a change made by ChatHub
# itself, or by a script calling the service without an agent).
STATUS_LINES = {
    ConversationStatus.resolved: ("{who} resolved the conversation", "The conversation was resolved"),
    ConversationStatus.open: ("{who} reopened the conversation", "The conversation was reopened"),
    ConversationStatus.pending: ("{who} marked the conversation pending", "The conversation was marked pending"),
    ConversationStatus.snoozed: (
        "{who} snoozed the conversation until {until}",
        "The conversation was snoozed until {until}",
    ),
}


@dataclass
class Before:
    status: ConversationStatus
    assignee_id: int | None
    snoozed_until: datetime | None


@dataclass
class Written:
    """The lines and notifications a change wrote, to emit once committed."""

    lines: list[Message] = field(default_factory=list)
    notified: list[Notification] = field(default_factory=list)

    def emit(self) -> None:
        activity.emit(self.lines)
        notifications.emit(self.notified)


def snooze_time(until: datetime) -> str:
    """Stored as text, so in one zone every agent can read: UTC (a naive time is taken as UTC, as stored)."""
    if until.tzinfo is not None:
        until = until.astimezone(UTC)
    return until.strftime("%a %d %b %Y, %H:%M UTC")


async def write(session, before: Before, after: ConversationOut, actor: Agent | None) -> Written:
    written = Written()
    texts = [_status_text(before, after, actor)]
    if after.assignee_id != before.assignee_id:
        assignee = await session.get(Agent, after.assignee_id) if after.assignee_id is not None else None
        texts.append(_assignment_text(assignee, actor))
        if assignee is not None:
            written.notified += await notifications.add(
                session,
                [assignee.id],
                NotificationType.assigned,
                after.id,
                _assigned_notice(after.customer.name, actor),
                actor_id=actor.id if actor else None,
            )
    for text in filter(None, texts):
        line = await activity.add_line(session, after.id, after.channel.id, text, actor.id if actor else None)
        written.lines.append(line)
    return written


def _status_text(before: Before, after: ConversationOut, actor: Agent | None) -> str | None:
    snooze_moved = after.status == ConversationStatus.snoozed and after.snoozed_until != before.snoozed_until
    if after.status == before.status and not snooze_moved:
        return None
    named, unnamed = STATUS_LINES[after.status]
    until = snooze_time(after.snoozed_until) if after.snoozed_until else ""
    return named.format(who=actor.name, until=until) if actor else unnamed.format(until=until)


def _assignment_text(assignee: Agent | None, actor: Agent | None) -> str:
    if actor is None:
        return f"The conversation was assigned to {assignee.name}" if assignee else "The conversation was unassigned"
    if assignee is None:
        return f"{actor.name} unassigned the conversation"
    if assignee.id == actor.id:
        return f"{actor.name} took the conversation"
    return f"{actor.name} assigned the conversation to {assignee.name}"


def _assigned_notice(customer_name: str, actor: Agent | None) -> str:
    if actor is None:
        return f"Conversation with {customer_name} assigned to you"
    return f"{actor.name} assigned you the conversation with {customer_name}"
