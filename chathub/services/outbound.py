"""Outbound flow: an agent's reply is checked against the channel, stored `pending`, and delivered by the
outbound worker through the channel's driver — retried on retryable errors, `failed` with a readable
error otherwise. Pending messages live in the database, so a restart sends them afterwards. Each attempt's
start is committed before the provider is called: a send a crash cut short (its outcome unknown) goes out again
after the restart, marked "possibly sent twice" for the agent."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import func, tuple_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from chathub import bus, db, process_state, relay
from chathub.drivers import driver_class
from chathub.drivers.base import (
    CredentialsError,
    OutboundMedia,
    OutboundMessage,
    PermanentError,
    ReplyContext,
    RetryableError,
)
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
    utcnow,
)
from chathub.schemas import MessageIn, MessageOut, Page
from chathub.services import channels, leases, media, notes
from chathub.services.conversations import (
    count_failed_reply,
    message_by_client_id,
    outs_of,
    preview_of,
)
from chathub.services.errors import Conflict, NotFound, ValidationFailed
from chathub.services.media import StoredFile
from chathub.services.paging import clamp_limit, decode_cursor, encode_cursor
from chathub.worker import backoff_seconds

log = logging.getLogger(__name__)
WORKER = "outbound"


class Sends:
    """Replies being sent now: their message ids, and their tasks (held so they are not garbage-collected,
    awaited at shut-down)."""

    def __init__(self) -> None:
        self.in_flight: set[int] = set()
        self.tasks: set[asyncio.Task] = set()


def sends() -> Sends:
    return process_state.current().part(Sends)


async def send_message(
    *, conversation_id: int, message: MessageIn, agent_id: int | None = None, attachment: StoredFile | None = None
) -> tuple[Message, bool]:
    """Queue an agent's reply, with an uploaded file (`media.store_upload`) when given. Returns (message,
    created); the same `client_id` again returns the first message with created=False, so a double click
    never messages the customer twice. A private message is a note (`notes.add_note`): it is never sent."""
    if message.private:
        if attachment is not None:
            raise ValidationFailed("a note is text only: attachments go with replies")
        return await notes.add_note(
            conversation_id=conversation_id,
            author_id=agent_id,
            content=message.content,
            mentions=message.mentions,
            client_id=message.client_id,
        )
    conversation = await _conversation(conversation_id)
    channel = await channels.get_channel(conversation.channel_id)
    if attachment is not None:
        message = message.model_copy(
            update={
                "content_type": media.content_type_for(attachment.mime_type),
                "file_name": attachment.file_name,
                "media_url": None,
            }
        )
    problem = driver_class(channel.type).check_outbound(
        message.content_type,
        message.content,
        media_url=message.media_url,
        payload=message.payload,
        has_media=attachment is not None,
    )
    if problem is None and not channel.enabled:
        problem = f"the channel {channel.name} is disabled"
    if problem:
        raise ValidationFailed(problem)
    if message.client_id and (existing := await message_by_client_id(conversation_id, message.client_id)):
        if (existing.content_type, existing.content) != (message.content_type, message.content):
            raise Conflict("this idempotency key was already used for a different message")
        return existing, False
    now = utcnow()
    row = Message(
        conversation_id=conversation_id,
        channel_id=channel.id,
        direction=MessageDirection.outbound,
        content_type=message.content_type,
        content=message.content,
        media_url=message.media_url,
        file_name=message.file_name,
        payload=message.payload,
        status=MessageStatus.pending,
        client_id=message.client_id,
        agent_id=agent_id,
        next_attempt_at=now,
        created_at=now,
    )
    if attachment is not None:
        row.media_status, row.media_path, row.media_size = MediaStatus.stored, attachment.relative_path, attachment.size
        row.media_mime_type = attachment.mime_type
    try:
        async with db.write_session() as session:
            session.add(row)
            await session.flush()
            if attachment is not None:
                row.media_url = media.browser_url(row.id)
            conv = await session.get(Conversation, conversation_id)
            conv.last_message_at = now
            conv.last_message_preview = preview_of(row)
            conv.unread_count = 0  # answering a conversation reads it
            if conv.status == ConversationStatus.resolved:
                conv.status = ConversationStatus.open
            session.add(conv)
            await session.flush()
            customer = await session.get(Customer, conv.customer_id)
            updated = (await outs_of(session, [(conv, customer, channel)]))[0]
            relay.announce(session, "message_created", row.id)
            relay.announce(session, "conversation_updated", conversation_id)
    except IntegrityError:  # the same client_id raced in from a second request
        existing = await message_by_client_id(conversation_id, message.client_id or "")
        if existing is None:
            raise
        return existing, False
    bus.message_created.emit(MessageOut.model_validate(row))
    bus.conversation_updated.emit(updated)
    process_state.current().wake(WORKER)
    return row, True


async def retry_message(message_id: int) -> Message:
    """Send a failed outbound message again, from scratch (three fresh attempts)."""
    async with db.write_session() as session:
        row = await session.get(Message, message_id)
        if row is None:
            raise NotFound(f"message {message_id} does not exist")
        if row.direction != MessageDirection.outbound or row.status != MessageStatus.failed:
            raise Conflict(f"only failed outbound messages can be retried; this one is {row.status.value}")
        row.status, row.error, row.attempts, row.next_attempt_at = MessageStatus.pending, None, 0, utcnow()
        session.add(row)
        updated = await count_failed_reply(session, row.conversation_id, failed=False)
        relay.announce(session, "message_status_changed", row.id)
        relay.announce(session, "conversation_updated", row.conversation_id)
    bus.message_status_changed.emit(MessageOut.model_validate(row))
    bus.conversation_updated.emit(updated)
    process_state.current().wake(WORKER)
    return row


async def list_messages(
    *, conversation_id: int, limit: int | None = None, before: int | None = None, cursor: str | None = None
) -> Page[MessageOut]:
    """Oldest first within the page, in the customer's order (`created_at`: an inbound message's provider
    time, then arrival); the cursor walks back to older history, `before` starts before that message."""
    await _conversation(conversation_id)
    limit = clamp_limit(limit)
    query = select(Message).where(Message.conversation_id == conversation_id)
    async with db.read_session() as session:
        if cursor or before is not None:
            query = query.where(await _before(session, cursor, before))
        rows = list(
            (
                await session.exec(
                    query.order_by(col(Message.created_at).desc(), col(Message.id).desc()).limit(limit + 1)
                )
            ).all()
        )
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].created_at.isoformat(), page[-1].id) if len(rows) > limit else None
    return Page(items=[MessageOut.model_validate(m) for m in reversed(page)], next_cursor=next_cursor)


async def _before(session, cursor: str | None, before: int | None):
    if cursor:
        at, message_id = decode_cursor(cursor, 2)
        try:
            at, message_id = datetime.fromisoformat(at), int(message_id)
        except (TypeError, ValueError):
            raise ValidationFailed("cursor is not one this server gave out") from None
    else:
        message_id = int(before)
        at = (await session.exec(select(Message.created_at).where(Message.id == message_id))).first()
        if at is None:
            return col(Message.id) < message_id
    return tuple_(Message.created_at, Message.id) < tuple_(
        Message.created_at.type.process_bind_param(at, None), message_id
    )


async def deliver_due_messages() -> float | None:
    """Worker step: claim due pending messages (up to the concurrency limit) and start sending them."""
    await leases.release_earlier_runs()
    settings = process_state.current().settings
    in_flight, tasks = sends().in_flight, sends().tasks
    room = settings.outbound_concurrency - len(in_flight)
    if room <= 0:
        return None  # a finishing send wakes us
    now = utcnow()
    claimed, claim = await _claim_due(room, now)
    for message_id in claimed:
        in_flight.add(message_id)
        task = asyncio.create_task(_deliver(message_id, claim), name=f"deliver message {message_id}")
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if len(claimed) == room:
        return None
    return await _seconds_until_due(now)


async def _claim_due(limit: int, now: datetime) -> tuple[list[int], datetime]:
    """Claim due messages and commit each attempt's start before the provider is called. A start already there
    is an attempt whose outcome never came back (its process died mid-send, and its lease ran out): it counts
    as an attempt, and since the provider may have taken it, the message is flagged as possibly sent twice."""
    due = (
        select(Message)
        .where(
            Message.status == MessageStatus.pending,
            Message.direction == MessageDirection.outbound,
            col(Message.next_attempt_at) <= now,
            col(Message.id).not_in(sends().in_flight),
        )
        .order_by(Message.next_attempt_at, Message.id)
    )
    async with db.write_session() as session:
        rows, claim = await leases.claim(session, due, limit=limit, now=now)
        repeated = [message for message in rows if message.send_started_at is not None]
        for message in rows:
            message.send_started_at = now
        for message in repeated:
            message.attempts += 1
            message.possibly_sent_twice = True
            log.warning("message %s: the outcome of an earlier send is unknown; sending it again", message.id)
        if repeated:
            relay.announce(session, "message_status_changed", *(message.id for message in repeated))
    for message in repeated:
        bus.message_status_changed.emit(MessageOut.model_validate(message))
    return [message.id for message in rows], claim


async def _seconds_until_due(now: datetime) -> float | None:
    """When a pending message falls due next, as of `now` (the claim's time: one due since is due at once): its
    retry time, or the end of the lease another instance holds."""
    async with db.read_session() as session:
        times = [
            (await session.exec(select(func.min(at)).where(Message.status == MessageStatus.pending, at > now))).one()
            for at in (col(Message.next_attempt_at), col(Message.claimed_until))
        ]
    later = min((at for at in times if at is not None), default=None)
    return max(0.05, (later - now).total_seconds()) if later else None


async def stop_sending(timeout: float = 20.0) -> None:
    """Shut-down: start no new sends and let those under way save their outcome first; otherwise a send
    the provider took stays `pending` and goes out a second time after the restart (marked as such)."""
    worker = process_state.current().workers.get(WORKER)
    if worker is not None:
        await worker.stop()
    tasks = sends().tasks
    if tasks:
        await asyncio.wait(list(tasks), timeout=timeout)
    for task in list(tasks):  # a provider that hangs past the timeout: the message stays pending
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _deliver(message_id: int, claim: datetime) -> None:
    try:
        await deliver_message(message_id, claim)
    except Exception:
        log.exception("delivering message %s failed unexpectedly", message_id)
    finally:
        sends().in_flight.discard(message_id)
        process_state.current().wake(WORKER)


async def deliver_message(message_id: int, claim: datetime) -> None:
    """Send a message this instance claimed (its lease ends at `claim`), holding no transaction meanwhile."""
    found = await _claimed_message(message_id, claim)
    if found is None:
        return
    message, identity = found
    channel = await channels.get_channel(message.channel_id)
    outcome: dict = {"attempts": message.attempts + 1, "send_started_at": None, "claimed_until": None}
    try:
        if not channel.enabled:
            raise PermanentError(f"the channel {channel.name} is disabled")
        outgoing = _outbound_of(message, identity, channel, await _reply_context(message))
        external_id = await channels.driver_for(channel).send(outgoing)
        outcome.update(status=MessageStatus.sent, external_id=external_id, sent_at=utcnow(), error=None)
        await channels.record_problem(channel.id, None)
    except CredentialsError as error:
        outcome.update(status=MessageStatus.failed, error=str(error) or "the provider refused the credentials")
        await channels.record_problem(channel.id, f"The provider rejected the credentials: {error}")
    except RetryableError as error:
        outcome.update(_after_retryable(outcome["attempts"], str(error), error.retry_after))
    except PermanentError as error:
        outcome.update(status=MessageStatus.failed, error=str(error) or "the provider refused the message")
    except Exception as error:  # a bug or an unexpected library error: retry, and say what it was
        outcome.update(_after_retryable(outcome["attempts"], f"{type(error).__name__}: {error}", None))
    await _save_outcome(message_id, claim, outcome)


async def _claimed_message(message_id: int, claim: datetime) -> tuple[Message, CustomerIdentity] | None:
    async with db.read_session() as session:
        row = (
            await session.exec(
                select(Message, CustomerIdentity)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(CustomerIdentity, CustomerIdentity.id == Conversation.identity_id)
                .where(Message.id == message_id)
            )
        ).first()
    if row is None or row[0].status != MessageStatus.pending or row[0].claimed_until != claim:
        return None
    return row


REPLY_CONTEXT_SIZE = 10  # provider ids of earlier messages a reply carries (email's References)


async def _reply_context(message: Message) -> ReplyContext:
    """The provider ids of the messages before this one in its conversation, and the thread and subject the
    customer's latest message named (threaded channels keep those in its payload)."""
    async with db.read_session() as session:
        earlier = (
            await session.exec(
                select(Message.external_id, Message.direction, Message.payload)
                .where(Message.conversation_id == message.conversation_id, Message.id < message.id)
                .where(col(Message.external_id).is_not(None))
                .order_by(col(Message.created_at).desc(), col(Message.id).desc())
                .limit(REPLY_CONTEXT_SIZE)
            )
        ).all()
    latest_inbound = next((payload or {} for _, direction, payload in earlier if direction == "inbound"), {})
    return ReplyContext(
        previous_ids=tuple(external_id for external_id, _, _ in reversed(earlier)),
        thread_ref=latest_inbound.get("thread_ref"),
        subject=latest_inbound.get("subject"),
    )


def _outbound_of(
    message: Message, identity: CustomerIdentity, channel: Channel, reply_context: ReplyContext
) -> OutboundMessage:
    attachment = None
    if message.media_path:
        try:
            path = media.path_of(message.media_path)
        except NotFound:
            raise PermanentError("the attached file is no longer in the media folder") from None
        attachment = OutboundMedia(
            path=path,
            mime_type=message.media_mime_type or "",
            file_name=message.file_name or "",
            public_url=media.public_link(message.id),
        )
    return OutboundMessage(
        recipient_id=identity.external_id,
        content_type=message.content_type,
        content=message.content,
        media_url=None if attachment else message.media_url,
        file_name=message.file_name,
        payload=message.payload,
        media=attachment,
        status_callback_url=channels.webhook_url(channel),
        reply_context=reply_context,
    )


def _after_retryable(attempts: int, error: str, retry_after: float | None) -> dict:
    settings = process_state.current().settings
    if attempts >= settings.max_attempts:
        return {"status": MessageStatus.failed, "error": f"{error} (gave up after {attempts} attempts)"}
    delay = max(backoff_seconds(attempts, settings.retry_base_seconds), retry_after or 0)
    return {"error": error, "next_attempt_at": utcnow() + timedelta(seconds=delay)}


async def _save_outcome(message_id: int, claim: datetime, outcome: dict) -> None:
    """Write a send's outcome, unless the claim was lost meanwhile: this send outlived its lease and another
    instance took the message over (sending it again, flagged); that one's outcome is the one kept."""
    async with db.write_session() as session:
        message = await session.get(Message, message_id, with_for_update=True)
        if message is None or message.status != MessageStatus.pending or message.claimed_until != claim:
            return
        for key, value in outcome.items():
            setattr(message, key, value)
        session.add(message)
        updated = None
        relay.announce(session, "message_status_changed", message.id)
        if message.status == MessageStatus.failed:
            updated = await count_failed_reply(session, message.conversation_id, failed=True)
            relay.announce(session, "conversation_updated", message.conversation_id)
    bus.message_status_changed.emit(MessageOut.model_validate(message))
    if updated is not None:
        bus.conversation_updated.emit(updated)


async def pending_count() -> int:
    async with db.read_session() as session:
        return (await session.exec(select(func.count()).where(Message.status == MessageStatus.pending))).one()


async def _conversation(conversation_id: int) -> Conversation:
    async with db.read_session() as session:
        conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return conversation
