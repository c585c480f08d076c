"""Labels: named, coloured tags an admin defines and any agent puts on conversations ("refund", "vip").

Names are unique whatever their case (`Label.name_key`, a unique column: two admins creating "Refund" and "refund"
at once get one label and a 409). Conversations carry label names, so a rename or a deletion changes every
conversation that has the label; open pages hear `label_changed` and read their lists again."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chathub import bus, db, relay
from chathub.models import Agent, Conversation, ConversationLabel, Label, new_row
from chathub.schemas import ConversationOut, LabelIn, LabelOut, LabelPatch
from chathub.services import activity, conversations
from chathub.services.errors import Conflict, NotFound, ValidationFailed, require_row_id


async def list_labels() -> list[LabelOut]:
    """Every label, alphabetically (whatever the case)."""
    async with db.read_session() as session:
        rows = (await session.exec(select(Label).order_by(Label.name_key))).all()
    return [LabelOut.model_validate(row) for row in rows]


async def create_label(body: LabelIn) -> LabelOut:
    row = new_row(Label, name=body.name, name_key=body.name.casefold(), color=body.color, description=body.description)
    try:
        async with db.write_session() as session:
            session.add(row)
            await session.flush()
            relay.announce(session, "label_changed", row.id)
    except IntegrityError:
        raise _taken(body.name) from None
    bus.label_changed.emit(row.id)
    return LabelOut.model_validate(row)


async def update_label(label_id: int, patch: LabelPatch) -> LabelOut:
    changes = patch.model_dump(exclude_unset=True)
    if "name" in changes:
        changes["name_key"] = changes["name"].casefold()
    try:
        async with db.write_session() as session:
            row = await _get(session, label_id)
            for key, value in changes.items():
                setattr(row, key, value)
            session.add(row)
            await session.flush()
            relay.announce(session, "label_changed", row.id)
    except IntegrityError:
        raise _taken(changes["name"]) from None
    bus.label_changed.emit(row.id)
    return LabelOut.model_validate(row)


async def delete_label(label_id: int) -> None:
    """The label goes, and with it from every conversation that had it."""
    async with db.write_session() as session:
        row = await _get(session, label_id)
        await session.exec(delete(ConversationLabel).where(col(ConversationLabel.label_id) == label_id))
        await session.delete(row)
        relay.announce(session, "label_changed", label_id)
    bus.label_changed.emit(label_id)


async def add_to_conversation(conversation_id: int, name: str, *, actor: Agent) -> ConversationOut:
    """Put the label named `name` (any case) on the conversation, with an activity line; already there: nothing
    changes, and the conversation is returned as it is."""
    require_row_id(conversation_id, "conversation")
    try:
        async with db.write_session() as session:
            conversation = await _conversation(session, conversation_id)
            label = await _by_name(session, name)
            if label is None:
                raise ValidationFailed(f"there is no label named {name.strip()!r}; an admin creates labels first")
            if await session.get(ConversationLabel, (conversation_id, label.id)) is not None:
                return await conversations.conversation_in(session, conversation_id)
            session.add(new_row(ConversationLabel, conversation_id=conversation_id, label_id=label.id))
            await session.flush()
            line = await _line(session, conversation, f"{actor.name} added label {label.name}", actor)
            result = await conversations.conversation_in(session, conversation_id)
    except IntegrityError:  # the same label raced in from a second request: it is there once
        return await conversations.get_conversation(conversation_id)
    activity.emit([line])
    bus.conversation_updated.emit(result)
    return result


async def remove_from_conversation(conversation_id: int, name: str, *, actor: Agent) -> ConversationOut:
    require_row_id(conversation_id, "conversation")
    async with db.write_session() as session:
        conversation = await _conversation(session, conversation_id)
        label = await _by_name(session, name)
        removed = label is not None and await _unlink(session, conversation_id, label.id)
        if not removed:
            raise NotFound(f"conversation {conversation_id} has no label {name.strip()!r}")
        line = await _line(session, conversation, f"{actor.name} removed label {label.name}", actor)
        result = await conversations.conversation_in(session, conversation_id)
    activity.emit([line])
    bus.conversation_updated.emit(result)
    return result


async def _unlink(session: AsyncSession, conversation_id: int, label_id: int) -> bool:
    statement = delete(ConversationLabel).where(
        col(ConversationLabel.conversation_id) == conversation_id, col(ConversationLabel.label_id) == label_id
    )
    return (await session.exec(statement)).rowcount > 0


async def _line(session: AsyncSession, conversation: Conversation, text: str, actor: Agent):
    relay.announce(session, "conversation_updated", conversation.id)
    return await activity.add_line(session, conversation.id, conversation.channel_id, text, actor.id)


async def _by_name(session: AsyncSession, name: str) -> Label | None:
    return (await session.exec(select(Label).where(Label.name_key == name.strip().casefold()))).first()


async def _get(session: AsyncSession, label_id: int) -> Label:
    require_row_id(label_id, "label")
    row = await session.get(Label, label_id)
    if row is None:
        raise NotFound(f"label {label_id} does not exist")
    return row


async def _conversation(session: AsyncSession, conversation_id: int) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return conversation


def _taken(name: str) -> Conflict:
    return Conflict(f"a label named {name!r} already exists (names are unique whatever their case)")
