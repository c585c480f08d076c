"""Conversations: the inbox list, one conversation, status and assignment, read marks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime
from enum import Enum

from sqlalchemy import case, func, literal_column, tuple_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chathub import bus, db, process_state, relay
from chathub.models import (
    Agent,
    Channel,
    ContentType,
    Conversation,
    ConversationLabel,
    ConversationStatus,
    Customer,
    Label,
    Message,
    Priority,
    utcnow,
)
from chathub.schemas import ChannelRef, ConversationOut, ConversationPatch, CustomerRef, Page
from chathub.services import activity, change_lines, channels, search, visibility
from chathub.services.errors import NotFound, ValidationFailed, require_row_id
from chathub.services.paging import clamp_limit, decode_cursor, encode_cursor

log = logging.getLogger(__name__)
PREVIEW_LENGTH = 120
PREVIEW_LABELS = {
    ContentType.image: "Photo",
    ContentType.audio: "Audio",
    ContentType.video: "Video",
    ContentType.file: "File",
    ContentType.location: "Location",
    ContentType.contact: "Contact",
    ContentType.sticker: "Sticker",
    ContentType.reaction: "Reacted",
    ContentType.unsupported: "Unsupported message",
}


# A literal 0, not a bound parameter: SQLite then sees that the partial indexes' `unread_count > 0` holds, walks
# them in inbox order and counts the unread total from the index alone (21 ms -> 0.6 ms at 100k conversations).
UNREAD = col(Conversation.unread_count) > literal_column("0")


def preview_of(message: Message) -> str:
    text = " ".join(message.content.split())
    label = PREVIEW_LABELS.get(message.content_type)
    if label:
        text = f"{label}: {text}" if text else label
    return text[:PREVIEW_LENGTH]


# "Priority first": urgent on top, no priority last.
PRIORITY_RANK = {Priority.urgent: 4, Priority.high: 3, Priority.medium: 2, Priority.low: 1, Priority.none: 0}
PRIORITY_RANK_SQL = case(
    *((Conversation.priority == priority, rank) for priority, rank in PRIORITY_RANK.items() if rank), else_=0
)


class ConversationSort(str, Enum):
    activity = "activity"  # newest activity first
    priority = "priority"  # urgent, high, medium, low, none; newest activity first within each


def conversation_out(
    conversation: Conversation, customer: Customer, channel: Channel, labels: list[str] | None = None
) -> ConversationOut:
    return ConversationOut(
        id=conversation.id,
        status=conversation.status,
        unread_count=conversation.unread_count,
        last_message_at=conversation.last_message_at,
        last_message_preview=conversation.last_message_preview,
        failed_replies=conversation.failed_replies,
        customer=CustomerRef(id=customer.id, name=customer.name),
        channel=ChannelRef(id=channel.id, type=channel.type, name=channel.name),
        assignee_id=conversation.assignee_id,
        snoozed_until=conversation.snoozed_until,
        priority=conversation.priority,
        labels=labels or [],
        created_at=conversation.created_at,
    )


async def label_names(session: AsyncSession, conversation_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each conversation's label names in one stable order (case-insensitively alphabetical): one query for a
    whole list of conversations."""
    ids = list(dict.fromkeys(conversation_ids))
    if not ids:
        return {}
    rows = await session.exec(
        select(ConversationLabel.conversation_id, Label.name)
        .join(Label, col(Label.id) == ConversationLabel.label_id)
        .where(col(ConversationLabel.conversation_id).in_(ids))
        .order_by(Label.name_key)
    )
    names: dict[int, list[str]] = {}
    for conversation_id, name in rows.all():
        names.setdefault(conversation_id, []).append(name)
    return names


async def outs_of(
    session: AsyncSession, rows: Iterable[tuple[Conversation, Customer, Channel]]
) -> list[ConversationOut]:
    """These (conversation, customer, channel) rows as the API shows them, with their labels."""
    rows = list(rows)
    names = await label_names(session, (row[0].id for row in rows))
    return [conversation_out(*row, labels=names.get(row[0].id)) for row in rows]


async def outs_with_labels(rows: Iterable[tuple[Conversation, Customer, Channel]]) -> list[ConversationOut]:
    """The same after a write's commit, read in a session of its own."""
    async with db.read_session() as session:
        return await outs_of(session, rows)


def _has_label(name: str):
    return (
        select(ConversationLabel.conversation_id)
        .join(Label, col(Label.id) == ConversationLabel.label_id)
        .where(ConversationLabel.conversation_id == Conversation.id, Label.name_key == name.strip().casefold())
        .exists()
    )


def _with_refs():
    return (
        select(Conversation, Customer, Channel)
        .join(Customer, Customer.id == Conversation.customer_id)
        .join(Channel, Channel.id == Conversation.channel_id)
    )


async def list_conversations(
    *,
    status: ConversationStatus | None = None,
    channel_type: str | None = None,
    channel_id: int | None = None,
    unread: bool | None = None,
    customer_id: int | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    labels: Iterable[str] = (),
    priority: Priority | None = None,
    sort: ConversationSort = ConversationSort.activity,
    q: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    viewer: Agent | None = None,
) -> Page[ConversationOut]:
    """Newest activity first (or priority first), keyset-paged so page 1,000 costs what page 1 does. `labels`:
    conversations that carry all of them. Only those `viewer` may see (None: every conversation, for callers that
    act for no agent)."""
    limit = clamp_limit(limit)
    by_priority = sort == ConversationSort.priority
    keys = [PRIORITY_RANK_SQL] if by_priority else []
    keys += [col(Conversation.last_message_at), col(Conversation.id)]
    query = _with_refs().order_by(*(key.desc() for key in keys))
    conditions = [] if viewer is None else [visibility.conversation_condition(viewer)]
    if status is not None:
        conditions.append(Conversation.status == status)
    if channel_type is not None:
        channels.check_type(channel_type)
        conditions.append(Channel.type == channel_type)
    if channel_id is not None:
        conditions.append(Conversation.channel_id == channel_id)
    if unread is not None:
        conditions.append(UNREAD if unread else Conversation.unread_count == 0)
    if customer_id is not None:
        conditions.append(Conversation.customer_id == customer_id)
    if assignee_id is not None:
        conditions.append(Conversation.assignee_id == assignee_id)
    if unassigned:
        conditions.append(col(Conversation.assignee_id).is_(None))
    conditions += [_has_label(name) for name in dict.fromkeys(labels)]
    if priority is not None:
        conditions.append(Conversation.priority == priority)
    if cursor:
        conditions.append(tuple_(*keys) < tuple_(*_after_cursor(cursor, by_priority)))
    async with db.read_session() as session:
        if q and q.strip():  # names, phones and message text (FTS5): see services/search.py
            conditions.append(await search.matching_condition(session, q, sqlite=db.is_sqlite()))
        rows = list((await session.exec(query.where(*conditions).limit(limit + 1))).all())
        items = await outs_of(session, rows[:limit])
        if q and q.strip():
            found = await search.match_snippets(session, q, [item.id for item in items], sqlite=db.is_sqlite())
            for item in items:
                item.search_match = found.get(item.id)
    next_cursor = None
    if len(rows) > limit:
        next_cursor = page_cursor(items[-1], sort)
    return Page(items=items, next_cursor=next_cursor)


def page_cursor(last: ConversationOut, sort: ConversationSort = ConversationSort.activity) -> str:
    """The cursor of the page that ends with `last`: its sort keys (the priority's rank first when sorted by it)."""
    keys = [last.last_message_at.isoformat(), last.id]
    if sort == ConversationSort.priority:
        keys.insert(0, PRIORITY_RANK[last.priority])
    return encode_cursor(*keys)


def _after_cursor(cursor: str, by_priority: bool) -> list:
    *rank, last_at, last_id = decode_cursor(cursor, 3 if by_priority else 2)
    try:
        last_at = datetime.fromisoformat(last_at)
    except (TypeError, ValueError):
        raise ValidationFailed("cursor is not one this server gave out") from None
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in [*rank, last_id]):
        raise ValidationFailed("cursor is not one this server gave out")
    return [*rank, Conversation.last_message_at.type.process_bind_param(last_at, None), last_id]


async def count_failed_reply(session: AsyncSession, conversation_id: int, *, failed: bool) -> ConversationOut:
    """A reply here failed to send (`failed`), or left "failed" (retried, or delivered after all): its row in the
    inbox is marked while any reply is failed. Returns the conversation to announce the change with, after the
    commit."""
    return (await outs_of(session, [await count_failed_reply_rows(session, conversation_id, failed=failed)]))[0]


async def count_failed_reply_rows(
    session: AsyncSession, conversation_id: int, *, failed: bool
) -> tuple[Conversation, Customer, Channel]:
    """`count_failed_reply` for the webhook batch, which builds the conversations it announces once, together."""
    counted = Conversation.failed_replies + (1 if failed else -1)
    statement = (  # added in the database: two instances counting at once lose neither
        update(Conversation)
        .where(col(Conversation.id) == conversation_id)
        .values(failed_replies=case((counted < 0, 0), else_=counted))
        .returning(Conversation.failed_replies)
        .execution_options(synchronize_session=False)
    )
    failed_replies = (await session.exec(statement)).scalar_one()
    row = (await session.exec(_with_refs().where(Conversation.id == conversation_id))).one()
    set_committed_value(row[0], "failed_replies", failed_replies)
    return row


async def get_conversation(conversation_id: int) -> ConversationOut:
    require_row_id(conversation_id, "conversation")
    async with db.read_session() as session:
        return await conversation_in(session, conversation_id)


async def conversations_by_id(conversation_ids: list[int]) -> list[ConversationOut]:
    """These conversations as the API shows them, in the order asked (ids no longer stored are left out)."""
    async with db.read_session() as session:
        rows = (await session.exec(_with_refs().where(col(Conversation.id).in_(conversation_ids)))).all()
        found = {conversation.id: conversation for conversation in await outs_of(session, rows)}
    return [found[conversation_id] for conversation_id in conversation_ids if conversation_id in found]


async def update_conversation(
    conversation_id: int, patch: ConversationPatch, *, actor: Agent | None = None
) -> ConversationOut:
    """Change a conversation; `actor` (who made it) is named in the thread's activity lines."""
    changes = patch.model_dump(exclude_unset=True)
    lines = []
    async with db.write_session() as session:
        conversation = await _get(session, conversation_id)
        if "assignee_id" in changes and changes["assignee_id"] is not None:
            agent = await session.get(Agent, changes["assignee_id"])
            if agent is None or not agent.is_active:
                raise ValidationFailed(f"agent {changes['assignee_id']} does not exist or is deactivated")
        if changes.get("status") == ConversationStatus.snoozed and not changes.get("snoozed_until"):
            raise ValidationFailed("snoozing needs snoozed_until")
        if "status" in changes and changes["status"] != ConversationStatus.snoozed:
            changes["snoozed_until"] = None
        if changes.get("priority", conversation.priority) != conversation.priority:
            text = priority_line(actor.name if actor else "Someone", changes["priority"])
            actor_id = actor.id if actor else None
            lines.append(await activity.add_line(session, conversation_id, conversation.channel_id, text, actor_id))
        before = change_lines.Before(conversation.status, conversation.assignee_id, conversation.snoozed_until)
        for key, value in changes.items():
            setattr(conversation, key, value)
        session.add(conversation)
        await session.flush()
        result = await conversation_in(session, conversation_id)
        written = await change_lines.write(session, before, result, actor)
        relay.announce(session, "conversation_updated", conversation_id)
    activity.emit(lines)
    bus.conversation_updated.emit(result)
    written.emit()
    if (before.status, before.assignee_id) != (result.status, result.assignee_id):
        process_state.current().wake(channels.ASSIGNMENT_WORKER)  # someone may now have room, or it may now wait
    return result


def priority_line(actor_name: str, priority: Priority) -> str:
    if priority == Priority.none:
        return f"{actor_name} removed the priority"
    return f"{actor_name} set priority to {priority.value}"


async def mark_read(conversation_id: int) -> ConversationOut:
    current = await get_conversation(conversation_id)
    if current.unread_count == 0:
        return current  # nothing to write: many open tabs of one thread ask at once
    async with db.write_session() as session:
        conversation = await _get(session, conversation_id)
        changed = conversation.unread_count != 0
        conversation.unread_count = 0
        session.add(conversation)
        await session.flush()
        result = await conversation_in(session, conversation_id)
        if changed:
            relay.announce(session, "conversation_updated", conversation_id)
    if changed:
        bus.conversation_updated.emit(result)
    return result


class ReadMarks:
    """Read marks under way, by conversation: every tab showing a thread asks when a message arrives, and they
    share one."""

    def __init__(self) -> None:
        self.by_conversation: dict[int, asyncio.Task] = {}


async def mark_read_while_viewed(conversation_id: int) -> ConversationOut:
    marking = process_state.current().part(ReadMarks).by_conversation
    task = marking.get(conversation_id)
    if task is None or task.done():
        task = marking[conversation_id] = asyncio.ensure_future(mark_read(conversation_id))
        task.add_done_callback(lambda _: marking.pop(conversation_id, None))
    return await asyncio.shield(task)


async def unread_conversation_count(limited_to: int | None = None) -> int:
    """Conversations with unread messages: all, or those an agent limited to their own sees (`limited_to`)."""
    conditions = [UNREAD]
    if limited_to is not None:
        conditions.append(visibility.limited_condition(limited_to))
    async with db.read_session() as session:
        return (await session.exec(select(func.count()).select_from(Conversation).where(*conditions))).one()


async def message_by_client_id(conversation_id: int, client_id: str) -> Message | None:
    """The message an earlier request stored under this idempotency key, if any."""
    async with db.read_session() as session:
        return (
            await session.exec(
                select(Message).where(Message.conversation_id == conversation_id, Message.client_id == client_id)
            )
        ).first()


async def _get(session: AsyncSession, conversation_id: int) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return conversation


async def conversation_in(session: AsyncSession, conversation_id: int) -> ConversationOut:
    """The conversation as the API shows it, read in the caller's session (a write's, before its commit)."""
    row = (await session.exec(_with_refs().where(Conversation.id == conversation_id))).first()
    if row is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return (await outs_of(session, [row]))[0]


WAKE_BATCH = 200


async def wake_snoozed_conversations() -> int:
    """Reopen snoozed conversations whose time has come (a timed job); returns how many woke.

    In batches, each its own transaction: after days offline thousands can be due at once, and waking them in
    one held the database's writer (incoming webhooks wait for it) and all of them in memory together. Every
    instance runs this job: on PostgreSQL each takes the rows it wakes with FOR UPDATE SKIP LOCKED, and a row
    another instance woke meanwhile no longer matches, so each conversation wakes once, with one event."""
    now = utcnow()
    woken = 0
    while True:
        async with db.write_session() as session:
            rows = list(
                (
                    await session.exec(
                        _with_refs()
                        .where(
                            Conversation.status == ConversationStatus.snoozed, col(Conversation.snoozed_until) <= now
                        )
                        .limit(WAKE_BATCH)
                        .with_for_update(skip_locked=True, of=Conversation)
                    )
                ).all()
            )
            lines = []
            for conversation, _, _ in rows:
                conversation.status, conversation.snoozed_until = ConversationStatus.open, None
                session.add(conversation)
                lines.append(await activity.add_line(session, conversation.id, conversation.channel_id, "Snooze ended"))
            relay.announce(session, "conversation_updated", *(conversation.id for conversation, _, _ in rows))
            woke = await outs_of(session, rows)
        for conversation in woke:
            log.info("Conversation %s woke: its snooze ended.", conversation.id)
            bus.conversation_updated.emit(conversation)
        activity.emit(lines)
        if rows:
            process_state.current().wake(channels.ASSIGNMENT_WORKER)  # an unassigned one may now wait for an agent
        woken += len(rows)
        if len(rows) < WAKE_BATCH:
            return woken


# Every open tab shows the unread total and asks for it after each change. The tabs share one count, and under a
# stream of changes a new count starts at most every UNREAD_RECOUNT_SECONDS: with 20 tabs open, ingest made
# ~7 counts per webhook (each a session and a query) before; now a few a second, whatever the load.
UNREAD_RECOUNT_SECONDS = 0.25


class UnreadTotal:
    """The shared count of conversations with unread messages (those an agent limited to their own sees, for
    `limited_to`), and whether a change came after it began."""

    def __init__(self, limited_to: int | None = None) -> None:
        self.limited_to = limited_to
        self.latest: asyncio.Task | None = None  # waiting for its turn, running, or done
        self.waiting = False  # the latest count has not begun, so it will see every change made so far
        self.stale = True  # a change came after the latest count began
        self.began = float("-inf")  # loop time

    async def shared(self) -> int:
        loop = asyncio.get_running_loop()
        task = self.latest
        if (
            task is None
            or (task.done() and (task.cancelled() or task.exception()))
            or (self.stale and not self.waiting)
        ):
            self.waiting = True
            delay = max(0.0, self.began + UNREAD_RECOUNT_SECONDS - loop.time())
            task = self.latest = asyncio.ensure_future(self._count_after(delay))
        return await asyncio.shield(task)

    async def _count_after(self, delay: float) -> int:
        if delay:
            await asyncio.sleep(delay)
        self.waiting = self.stale = False  # this count covers every change made until now
        self.began = asyncio.get_running_loop().time()
        return await unread_conversation_count(self.limited_to)


class UnreadTotals:
    """One shared total for the agents who see every conversation, and one per agent limited to their own."""

    def __init__(self) -> None:
        self.by_limit: dict[int | None, UnreadTotal] = {}

    def of(self, viewer: Agent | None) -> UnreadTotal:
        limited_to = None if viewer is None or visibility.sees_all(viewer) else viewer.id
        return self.by_limit.setdefault(limited_to, UnreadTotal(limited_to))


def forget_unread_total(*_: object) -> None:
    for total in process_state.current().part(UnreadTotals).by_limit.values():
        total.stale = True


async def shared_unread_total(viewer: Agent | None = None) -> int:
    """The number of conversations with unread messages `viewer` sees (None: all), as of a count begun after
    the last change."""
    return await process_state.current().part(UnreadTotals).of(viewer).shared()
