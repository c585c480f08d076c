"""Inbound flow: a channel's normalized events become customers, conversations, messages and receipts.

These functions share the caller's transaction (`session` first); the caller commits and then emits the
returned `Announcements` on the bus.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chathub.drivers.base import InboundEvent, InboundMessage, StatusUpdate
from chathub.models import (
    Channel, Conversation, ConversationStatus, CustomerIdentity, MediaStatus, Message, MessageDirection,
    MessageStatus, utcnow,
)
from chathub.services import presence
from chathub.services.conversations import conversation_out, preview_of
from chathub.schemas import ConversationOut, MessageOut

# Receipts only move a message forward; "failed" is handled apart.
STATUS_RANK = {MessageStatus.pending: 0, MessageStatus.sent: 1, MessageStatus.delivered: 2, MessageStatus.read: 3}


class UnknownMessage(Exception):
    """A receipt for an outbound message we have not recorded (yet): retried, since the send may still be
    saving its external id."""


@dataclass
class Announcements:
    messages_created: list[MessageOut] = field(default_factory=list)
    messages_changed: list[MessageOut] = field(default_factory=list)
    conversations_updated: list[ConversationOut] = field(default_factory=list)
    first_message_id: int | None = None
    media_pending: bool = False
    # A receipt for a message not recorded here: the rest of the batch is kept, the receipt tried again later.
    unknown_receipt: UnknownMessage | None = None


async def apply_inbound_events(session: AsyncSession, channel: Channel, events: list[InboundEvent]) -> Announcements:
    out = Announcements()
    for event in events:
        if isinstance(event, InboundMessage):
            message = await store_inbound_message(session, channel, event, out)
        else:
            try:
                message = await apply_status_update(session, channel, event, out)
            except UnknownMessage as unknown:
                out.unknown_receipt = out.unknown_receipt or unknown
                continue
        if out.first_message_id is None and message is not None:
            out.first_message_id = message.id
    return out


async def store_inbound_message(session: AsyncSession, channel: Channel, event: InboundMessage,
                                out: Announcements) -> Message:
    """Store one customer message; a re-delivered one returns the stored row and changes nothing, an edited
    one changes the stored row (never a second bubble)."""
    existing = await _message_by_external_id(session, channel.id, event.external_id)
    if existing is not None:
        if event.edited and existing.direction == MessageDirection.inbound:
            await _apply_edit(session, existing, event, out)
        return existing
    from chathub.services.customers import match_customer

    customer, identity = await match_customer(session, channel_id=channel.id, external_id=event.sender_id,
                                              name=event.sender_name, phone=event.sender_phone,
                                              aliases=event.sender_aliases)
    conversation = await _open_conversation_for(session, identity)
    now = utcnow()
    message = Message(conversation_id=conversation.id, channel_id=channel.id, direction=MessageDirection.inbound,
                      content_type=event.content_type, content=event.content, media_url=event.media_url,
                      media_mime_type=event.media_mime_type, file_name=event.file_name, payload=event.payload,
                      status=MessageStatus.received, external_id=event.external_id, sent_at=event.sent_at,
                      edited_at=(event.edited_at or now) if event.edited else None,
                      created_at=min(event.sent_at, now) if event.sent_at else now)  # the customer's order
    if event.media is not None:  # fetched by the media worker once this is committed
        message.media_ref, message.media_status = event.media.ref, MediaStatus.pending
        message.media_mime_type = event.media.mime_type or event.media_mime_type
        message.file_name, message.media_size = event.media.file_name or event.file_name, event.media.size
        out.media_pending = True
    session.add(message)
    conversation.last_message_at = now
    conversation.last_message_preview = preview_of(message)
    if not presence.is_being_read(conversation.id):  # an agent has it open: it is read as it arrives
        conversation.unread_count += 1
    session.add(conversation)
    await session.flush()
    out.messages_created.append(MessageOut.model_validate(message))
    out.conversations_updated.append(conversation_out(conversation, customer, channel))
    return message


async def _apply_edit(session: AsyncSession, message: Message, event: InboundMessage, out: Announcements) -> None:
    edited_at = event.edited_at or utcnow()
    if message.edited_at is not None and edited_at <= message.edited_at:
        return  # a re-delivered or older version of the edit
    message.content, message.edited_at = event.content, edited_at
    if event.payload is not None:
        message.payload = {**(message.payload or {}), **event.payload}
    session.add(message)
    await session.flush()
    out.messages_changed.append(MessageOut.model_validate(message))


async def apply_status_update(session: AsyncSession, channel: Channel, event: StatusUpdate,
                              out: Announcements) -> Message | None:
    message = await _message_by_external_id(session, channel.id, event.external_id)
    if message is None or message.direction != MessageDirection.outbound:
        raise UnknownMessage(f"no outbound message with external id {event.external_id!r} on this channel")
    if not _moves_forward(message.status, event.status):
        return message
    at = event.at or utcnow()
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
    await session.flush()
    out.messages_changed.append(MessageOut.model_validate(message))
    return message


def _moves_forward(current: MessageStatus, new: MessageStatus) -> bool:
    if new == MessageStatus.failed:
        return current in (MessageStatus.pending, MessageStatus.sent)
    # A provider's delivered/read wins over our own "failed" (it got there after all).
    return STATUS_RANK[new] > STATUS_RANK.get(current, -1)


async def _message_by_external_id(session: AsyncSession, channel_id: int, external_id: str) -> Message | None:
    return (await session.exec(
        select(Message).where(Message.channel_id == channel_id, Message.external_id == external_id)
    )).first()


async def _open_conversation_for(session: AsyncSession, identity: CustomerIdentity) -> Conversation:
    """The identity's latest conversation, reopened if it was resolved or snoozed; or a new one."""
    conversation = (await session.exec(
        select(Conversation).where(Conversation.identity_id == identity.id)
        .order_by(col(Conversation.id).desc()).limit(1)
    )).first()
    if conversation is None:  # an alias (a BSUID kept beside the number) has no thread: the sender's is used
        conversation = (await session.exec(
            select(Conversation).where(Conversation.customer_id == identity.customer_id,
                                       Conversation.channel_id == identity.channel_id)
            .order_by(col(Conversation.id).desc()).limit(1)
        )).first()
    if conversation is None:
        conversation = Conversation(customer_id=identity.customer_id, channel_id=identity.channel_id,
                                    identity_id=identity.id)
        session.add(conversation)
        await session.flush()
    elif conversation.status in (ConversationStatus.resolved, ConversationStatus.snoozed):
        conversation.status = ConversationStatus.open
        conversation.snoozed_until = None
    return conversation
