"""Private notes: an agent's message to the other agents in a conversation's thread. A note is stored `sent` and
never `pending`, so the outbound worker never sees it and no provider receives it; it is no reply either, and
changes neither the conversation's status, order, preview nor unread count. Agents it @mentions follow the
conversation from then on and are notified."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from chathub import bus, db, relay
from chathub.models import (
    Agent,
    Conversation,
    ConversationFollower,
    Message,
    MessageDirection,
    MessageKind,
    MessageStatus,
    NotificationType,
    utcnow,
)
from chathub.schemas import MessageOut
from chathub.services import notifications
from chathub.services.conversations import message_by_client_id
from chathub.services.errors import Conflict, NotFound, ValidationFailed

MAX_LENGTH = 10_000
NOTIFICATION_EXCERPT = 100  # characters of the note a mention's notification quotes


async def add_note(
    *, conversation_id: int, author_id: int, content: str, mentions: list[int] = (), client_id: str | None = None
) -> tuple[Message, bool]:
    """Store a note by `author_id`; returns (note, created). The same `client_id` again returns the first note
    with created=False."""
    if not content.strip():
        raise ValidationFailed("a note needs some text")
    if len(content) > MAX_LENGTH:
        raise ValidationFailed(f"a note holds at most {MAX_LENGTH} characters; this one has {len(content)}")
    mentions = list(dict.fromkeys(mentions))
    if client_id and (existing := await message_by_client_id(conversation_id, client_id)):
        return _same_note(existing, content), False
    try:
        async with db.write_session() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFound(f"conversation {conversation_id} does not exist")
            await _check_mentions(session, mentions)
            note = _note_row(conversation, author_id, content, mentions, client_id)
            session.add(note)
            await session.flush()
            relay.announce(session, "message_created", note.id)
            told = await _tell_mentioned(session, note, mentions)
    except IntegrityError:  # the same client_id raced in from a second request
        existing = await message_by_client_id(conversation_id, client_id or "")
        if existing is None:
            raise
        return _same_note(existing, content), False
    bus.message_created.emit(MessageOut.model_validate(note))
    notifications.emit(told)
    return note, True


def _note_row(
    conversation: Conversation, author_id: int, content: str, mentions: list[int], client_id: str | None
) -> Message:
    now = utcnow()
    return Message(
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        direction=MessageDirection.outbound,
        kind=MessageKind.note,
        content=content,
        status=MessageStatus.sent,
        agent_id=author_id,
        mentions=mentions or None,
        client_id=client_id,
        created_at=now,
        sent_at=now,
    )


async def _check_mentions(session, mentions: list[int]) -> None:
    if not mentions:
        return
    active = set((await session.exec(select(Agent.id).where(col(Agent.id).in_(mentions), col(Agent.is_active)))).all())
    if unknown := [agent_id for agent_id in mentions if agent_id not in active]:
        named = ", ".join(str(agent_id) for agent_id in unknown)
        raise ValidationFailed(f"mentions name agents that do not exist or are deactivated: {named}")


async def _tell_mentioned(session, note: Message, mentions: list[int]) -> list:
    """The mentioned agents follow the conversation and are notified (the author is never notified)."""
    if not mentions:
        return []
    await follow(session, note.conversation_id, mentions)
    author = await session.get(Agent, note.agent_id)
    excerpt = " ".join(note.content.split())[:NOTIFICATION_EXCERPT]
    return await notifications.add(
        session,
        mentions,
        NotificationType.mention,
        note.conversation_id,
        f"{author.name if author else 'An agent'} mentioned you: {excerpt}",
        message_id=note.id,
        actor_id=note.agent_id,
    )


async def follow(session, conversation_id: int, agent_ids: list[int]) -> None:
    """Inside a write: these agents follow the conversation (those who already do stay as they are, even when
    another transaction adds them at the same moment)."""
    dialect = sqlite if db.is_sqlite() else postgresql
    now = utcnow()
    rows = [{"conversation_id": conversation_id, "agent_id": agent_id, "created_at": now} for agent_id in agent_ids]
    statement = dialect.insert(ConversationFollower.__table__).on_conflict_do_nothing()
    await (await session.connection()).execute(statement, rows)


def _same_note(existing: Message, content: str) -> Message:
    if existing.kind != MessageKind.note or existing.content != content:
        raise Conflict("this idempotency key was already used for a different message")
    return existing
