"""Inbound flow: a channel's normalized events become customers, conversations, messages and receipts.

These functions share the caller's transaction (`session` first); the caller commits and then emits the
returned `Announcements` on the bus.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chathub import db
from chathub.drivers.base import InboundEvent, InboundMessage, StatusUpdate
from chathub.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    CustomerIdentity,
    MediaStatus,
    Message,
    MessageDirection,
    MessageStatus,
    new_row,
    utcnow,
)
from chathub.schemas import MessageOut
from chathub.services import presence
from chathub.services.conversations import count_failed_reply_rows, preview_of
from chathub.services.customers import create_customers, identities_with_customers

# Receipts only move a message forward; "failed" is handled apart.
STATUS_RANK = {MessageStatus.pending: 0, MessageStatus.sent: 1, MessageStatus.delivered: 2, MessageStatus.read: 3}


class UnknownMessage(Exception):
    """A receipt for an outbound message we have not recorded (yet): retried, since the send may still be
    saving its external id."""


@dataclass
class Announcements:
    """What to tell open pages once the transaction is committed. New messages and their conversations stay
    rows until then: the models for the bus are built only if someone listens (see services/webhooks)."""

    created: list[tuple[Message, Conversation, Customer, Channel]] = field(default_factory=list)
    messages_changed: list[MessageOut] = field(default_factory=list)
    conversations_changed: list[tuple[Conversation, Customer, Channel]] = field(default_factory=list)
    first_message_id: int | None = None
    media_pending: bool = False
    assignment_due: bool = False  # a conversation began or reopened, unassigned, on a channel that assigns
    # A receipt for a message not recorded here: the rest of the batch is kept, the receipt tried again later.
    unknown_receipt: UnknownMessage | None = None
    # New messages not written yet: they get their ids in `settle` (or the batch's insert).
    _unsettled: list[tuple[Message, Conversation, Customer, Channel]] = field(default_factory=list)
    _first_unsettled: Message | None = None
    # The conversation of each new message that counts as unread, added once the messages are written.
    unread: list[Conversation] = field(default_factory=list)

    async def settle(self, session: AsyncSession) -> None:
        """Write what is pending, and learn the new messages' ids."""
        if self._unsettled or self._first_unsettled is not None:
            await db.insert_rows(session, self.unsettled_messages())
            self.take_ids()
        await add_unread(session, self.unread)
        self.unread = []

    def take_ids(self) -> None:
        """After the insert that wrote them (one for a whole batch). A repeat of a message new in the same
        batch has nothing of its own to settle but still learns the message's id."""
        self.created += self._unsettled
        if self.first_message_id is None and self._first_unsettled is not None:
            self.first_message_id = self._first_unsettled.id
        self._unsettled, self._first_unsettled = [], None

    def unsettled_messages(self) -> list[Message]:
        return [message for message, *_ in self._unsettled]

    def created_messages(self) -> list[Message]:
        return [message for message, *_ in self.created]


@dataclass
class Lookups:
    """Rows this write transaction has read or made already, so a batch of webhooks looks each up once.
    On SQLite writes are serialised: nothing else changes these rows before the transaction ends. On PostgreSQL
    another instance may: the conversations are locked as they are read, counters are added in the database,
    a sender made elsewhere is read again by `match_customer`, a message stored elsewhere meets its unique key."""

    messages: dict[tuple[int, str], Message | None] = field(default_factory=dict)
    senders: dict[tuple[int, str], tuple[CustomerIdentity, Customer]] = field(default_factory=dict)
    conversations: dict[int, Conversation] = field(default_factory=dict)  # the latest, by identity id
    started: set[int] = field(default_factory=set)  # ids of the conversations this batch began or reopened

    async def prefetch(self, session: AsyncSession, batch: list[tuple[Channel, list[InboundEvent]]]) -> None:
        """A few queries per channel for the whole batch: its messages, senders and their conversations; and
        the first-time senders' customers and conversations, made together."""
        by_channel: dict[int, tuple[set[str], dict[str, InboundMessage], set[str]]] = {}
        for channel, events in batch:
            external_ids, senders, aliases = by_channel.setdefault(channel.id, (set(), {}, set()))
            for event in events:
                external_ids.add(event.external_id)
                if isinstance(event, InboundMessage):
                    senders.setdefault(event.sender_id, event)
                    aliases.update(event.sender_aliases)
        for channel_id, (external_ids, senders, aliases) in by_channel.items():
            await self._prefetch_channel(session, channel_id, sorted(external_ids), sorted(senders))
            # Senders tied to other ids (theirs, or another message's aliases) are left to match_customer, in
            # order, so the batch ends as one-by-one processing would.
            new = [
                first
                for sender, first in senders.items()
                if (channel_id, sender) not in self.senders
                and not first.sender_aliases
                and sender not in aliases
                and self.messages.get((channel_id, first.external_id)) is None
            ]
            if new:
                await self._make_senders(session, channel_id, new)

    async def _prefetch_channel(
        self, session: AsyncSession, channel_id: int, external_ids: list[str], senders: list[str]
    ) -> None:
        for chunk in _chunks(external_ids):
            found = {
                m.external_id: m
                for m in (await session.exec(_messages_by_external_id(), params={"channel": channel_id, "ids": chunk}))
            }
            self.messages.update({(channel_id, external_id): found.get(external_id) for external_id in chunk})
        for chunk in _chunks(senders):
            for external_id, pair in (await identities_with_customers(session, channel_id, chunk)).items():
                self.senders[(channel_id, external_id)] = pair
        identity_ids = [identity.id for (c, _), (identity, _) in self.senders.items() if c == channel_id]
        for chunk in _chunks(identity_ids):
            for conversation in await session.exec(_conversations_of_identities(db.is_sqlite()), params={"ids": chunk}):
                self.conversations[conversation.identity_id] = conversation  # ascending: the last one wins

    async def _make_senders(self, session: AsyncSession, channel_id: int, firsts: list[InboundMessage]) -> None:
        made = await create_customers(
            session, channel_id, [(e.sender_id, e.sender_name, e.sender_phone) for e in firsts]
        )
        conversations = {
            identity.id: new_row(
                Conversation, customer_id=identity.customer_id, channel_id=channel_id, identity_id=identity.id
            )
            for identity, _ in made.values()
        }
        await db.insert_rows(session, list(conversations.values()), attach=True)
        self.conversations.update(conversations)
        self.started.update(conversation.id for conversation in conversations.values())
        self.senders.update({(channel_id, external_id): pair for external_id, pair in made.items()})

    async def message(self, session: AsyncSession, channel_id: int, external_id: str) -> Message | None:
        key = (channel_id, external_id)
        if key not in self.messages:
            self.messages[key] = (
                await session.exec(
                    select(Message).where(Message.channel_id == channel_id, Message.external_id == external_id)
                )
            ).first()
        return self.messages[key]


# The batch's statements, built once (building SQLModel's select cost more than running it) with their values bound.
@cache
def _messages_by_external_id():
    return select(Message).where(
        Message.channel_id == bindparam("channel"), col(Message.external_id).in_(bindparam("ids", expanding=True))
    )


@cache
def _conversations_of_identities(sqlite: bool):
    query = (
        select(Conversation)
        .where(col(Conversation.identity_id).in_(bindparam("ids", expanding=True)))
        .order_by(Conversation.id)
    )
    return query if sqlite else query.with_for_update()


@cache
def _unread_counts():
    table = Conversation.__table__
    return select(table.c.id, table.c.unread_count).where(table.c.id.in_(bindparam("ids", expanding=True)))


def _chunks(values: list, size: int = 500):  # SQLite allows 32k variables; stay well below
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def apply_inbound_batch(
    session: AsyncSession, batch: list[tuple[Channel, list[InboundEvent]] | None]
) -> list[Announcements | None]:
    """Many webhooks' events (None: one that could not be read) with shared lookups; their new messages are
    written together, in one statement."""
    lookups = Lookups()
    await lookups.prefetch(session, [item for item in batch if item is not None])
    results = [None if item is None else await apply_inbound_events(session, *item, lookups=lookups) for item in batch]
    settled = [result for result in results if result is not None]
    await db.insert_rows(session, [message for result in settled for message in result.unsettled_messages()])
    for result in settled:
        result.take_ids()
    await add_unread(session, [conversation for result in settled for conversation in result.unread])
    return results


async def apply_inbound_events(
    session: AsyncSession, channel: Channel, events: list[InboundEvent], lookups: Lookups | None = None
) -> Announcements:
    """Apply one webhook's events. With `lookups` (a batch), the caller settles the announcements after
    the batch's single insert; without, they are settled here."""
    out = Announcements()
    for event in events:
        if isinstance(event, InboundMessage):
            message = await store_inbound_message(session, channel, event, out, lookups or Lookups(), settle=False)
        else:
            try:
                message = await apply_status_update(session, channel, event, out, lookups)
            except UnknownMessage as unknown:
                out.unknown_receipt = out.unknown_receipt or unknown
                continue
        if out.first_message_id is None and out._first_unsettled is None and message is not None:
            if message.id is None:
                out._first_unsettled = message
            else:
                out.first_message_id = message.id
    if lookups is None:
        await out.settle(session)
    return out


async def store_inbound_message(
    session: AsyncSession,
    channel: Channel,
    event: InboundMessage,
    out: Announcements,
    lookups: Lookups | None = None,
    *,
    settle: bool = True,
) -> Message:
    """Store one customer message; a re-delivered one returns the stored row and changes nothing, an edited
    one changes the stored row (never a second bubble)."""
    lookups = lookups or Lookups()
    existing = await lookups.message(session, channel.id, event.external_id)
    if existing is not None:
        if event.edited and existing.direction == MessageDirection.inbound:
            await _apply_edit(session, existing, event, out)
        return existing
    customer, identity = await _sender(session, channel, event, lookups)
    conversation = await _open_conversation_for(session, identity, lookups)
    now = utcnow()
    message = new_row(
        Message,
        conversation_id=conversation.id,
        channel_id=channel.id,
        direction=MessageDirection.inbound,
        content_type=event.content_type,
        content=event.content,
        media_url=event.media_url,
        media_mime_type=event.media_mime_type,
        file_name=event.file_name,
        payload=_payload_of(event),
        status=MessageStatus.received,
        external_id=event.external_id,
        sent_at=event.sent_at,
        edited_at=(event.edited_at or now) if event.edited else None,
        created_at=min(event.sent_at, now) if event.sent_at else now,  # the customer's order
        received_at=now,
    )
    if event.media is not None:  # fetched by the media worker once this is committed
        message.media_ref, message.media_status = event.media.ref, MediaStatus.pending
        message.media_mime_type = event.media.mime_type or event.media_mime_type
        message.file_name, message.media_size = event.media.file_name or event.file_name, event.media.size
        out.media_pending = True
    lookups.messages[(channel.id, event.external_id)] = message  # a repeat later in the batch is a duplicate
    conversation.last_message_at = now  # arrival, not the provider's time: see Conversation.last_message_at
    conversation.last_message_preview = preview_of(message)
    if channel.auto_assign and conversation.assignee_id is None and conversation.id in lookups.started:
        out.assignment_due = True
    if not presence.is_being_read(conversation.id):  # an agent has it open: it is read as it arrives
        out.unread.append(conversation)
    out._unsettled.append((message, conversation, customer, channel))
    if settle:
        await out.settle(session)
    return message


async def add_unread(session: AsyncSession, conversations: list[Conversation]) -> None:
    """One unread mark per entry, added in the database (`unread_count + k`, one statement for them all:
    `db.update_rows`), so instances adding to one conversation at once lose none. The same statement writes the last
    message the rows were given, so the flush does not update them again (each update of a conversation writes a
    new row version and an entry in each of its nine indexes on PostgreSQL). The caller holds these rows' locks
    already: read FOR UPDATE in id order, or made in its transaction. The rows learn the count that results, for
    the announcements."""
    counts = Counter(conversation.id for conversation in conversations)
    if not counts:
        return
    rows = {conversation.id: conversation for conversation in conversations}
    changes = [
        {
            "id": key,
            "unread_count": counts[key],
            "last_message_at": rows[key].last_message_at,
            "last_message_preview": rows[key].last_message_preview,
        }
        for key in sorted(counts)
    ]
    await db.update_rows(session, Conversation.__table__, changes, added=("unread_count",))
    connection = await session.connection()
    for chunk in _chunks(sorted(counts)):
        for conversation_id, unread in await connection.execute(_unread_counts(), {"ids": chunk}):
            row = rows[conversation_id]
            set_committed_value(row, "unread_count", unread)
            for key in ("last_message_at", "last_message_preview"):
                set_committed_value(row, key, getattr(row, key))


THREAD_KEYS = ("thread_ref", "subject", "sender_address")


def _payload_of(event: InboundMessage) -> dict[str, Any] | None:
    """The driver's payload, with the thread reference, subject and sender address of a threaded channel
    (email) kept beside it: the outbound service reads them back for the reply context."""
    threading = {key: getattr(event, key) for key in THREAD_KEYS if getattr(event, key)}
    if not threading:
        return event.payload
    return {**(event.payload or {}), **threading}


async def _sender(
    session: AsyncSession, channel: Channel, event: InboundMessage, lookups: Lookups
) -> tuple[Customer, CustomerIdentity]:
    from chathub.services.customers import match_customer

    key = (channel.id, event.sender_id)
    customer, identity = await match_customer(
        session,
        channel_id=channel.id,
        external_id=event.sender_id,
        name=event.sender_name,
        phone=event.sender_phone,
        aliases=event.sender_aliases,
        found=lookups.senders.get(key),
    )
    lookups.senders[key] = (identity, customer)
    return customer, identity


async def _apply_edit(session: AsyncSession, message: Message, event: InboundMessage, out: Announcements) -> None:
    edited_at = event.edited_at or utcnow()
    if message.edited_at is not None and edited_at <= message.edited_at:
        return  # a re-delivered or older version of the edit
    message.content, message.edited_at = event.content, edited_at
    if event.payload is not None:
        message.payload = {**(message.payload or {}), **event.payload}
    if message.id is None:  # new earlier in this batch: written as edited, and announced once, as new
        return
    session.add(message)
    out.messages_changed.append(MessageOut.model_validate(message))


async def apply_status_update(
    session: AsyncSession, channel: Channel, event: StatusUpdate, out: Announcements, lookups: Lookups | None = None
) -> Message | None:
    message = await (lookups or Lookups()).message(session, channel.id, event.external_id)
    if message is None or message.direction != MessageDirection.outbound:
        raise UnknownMessage(f"no outbound message with external id {event.external_id!r} on this channel")
    if not _moves_forward(message.status, event.status):
        return message
    at = event.at or utcnow()
    if MessageStatus.failed in (message.status, event.status):  # it fails, or was delivered after all
        out.conversations_changed.append(
            await count_failed_reply_rows(session, message.conversation_id, failed=event.status == MessageStatus.failed)
        )
    message.status = event.status
    if event.status == MessageStatus.failed:
        message.error = event.error or "the provider reported the message as failed"
    else:
        message.error = None
        if event.status in (MessageStatus.delivered, MessageStatus.read) and message.delivered_at is None:
            message.delivered_at = at
        if event.status == MessageStatus.read:
            message.read_at = at
    session.add(message)
    out.messages_changed.append(MessageOut.model_validate(message))
    return message


def _moves_forward(current: MessageStatus, new: MessageStatus) -> bool:
    if new == MessageStatus.failed:
        return current in (MessageStatus.pending, MessageStatus.sent)
    # A provider's delivered/read wins over our own "failed" (it got there after all).
    return STATUS_RANK[new] > STATUS_RANK.get(current, -1)


async def _open_conversation_for(session: AsyncSession, identity: CustomerIdentity, lookups: Lookups) -> Conversation:
    """The identity's latest conversation, reopened if it was resolved or snoozed; or a new one."""
    conversation = lookups.conversations.get(identity.id) or await _latest_conversation(session, identity)
    if conversation is None and not db.is_sqlite():  # another instance may be starting it: one waits for the other
        await session.exec(select(CustomerIdentity.id).where(CustomerIdentity.id == identity.id).with_for_update())
        conversation = await _latest_conversation(session, identity)
    if conversation is None:
        conversation = Conversation(
            customer_id=identity.customer_id, channel_id=identity.channel_id, identity_id=identity.id
        )
        session.add(conversation)
        await session.flush()
        lookups.started.add(conversation.id)
    elif conversation.status in (ConversationStatus.resolved, ConversationStatus.snoozed):
        conversation.status = ConversationStatus.open
        conversation.snoozed_until = None
        lookups.started.add(conversation.id)
    lookups.conversations[identity.id] = conversation
    return conversation


async def _latest_conversation(session: AsyncSession, identity: CustomerIdentity) -> Conversation | None:
    conversation = (
        await session.exec(
            _for_update(
                select(Conversation)
                .where(Conversation.identity_id == identity.id)
                .order_by(col(Conversation.id).desc())
                .limit(1)
            )
        )
    ).first()
    if conversation is None:  # an alias (a BSUID kept beside the number) has no thread: the sender's is used
        conversation = (
            await session.exec(
                _for_update(
                    select(Conversation)
                    .where(
                        Conversation.customer_id == identity.customer_id, Conversation.channel_id == identity.channel_id
                    )
                    .order_by(col(Conversation.id).desc())
                    .limit(1)
                )
            )
        ).first()
    return conversation


def _for_update(query):
    """On PostgreSQL the conversations a new message goes to are locked as they are read (in id order within a
    batch): their status and last message are then current when written, even if an agent on another instance
    resolved the conversation a moment before. SQLite's writes are serialised already."""
    return query if db.is_sqlite() else query.with_for_update()
