"""Snoozed conversations reopen when their time has come, however many fell due while ChatHub was down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chathub import bus
from chathub.models import ConversationStatus
from chathub.schemas import ConversationPatch
from chathub.services import conversations
from tests.helpers.api import customer_writes, new_sender


async def snoozed_until(client, auth, until: datetime) -> int:
    conversation = await customer_writes(client, auth, sender=new_sender())
    await conversations.update_conversation(
        conversation["id"], ConversationPatch(status=ConversationStatus.snoozed, snoozed_until=until)
    )
    return conversation["id"]


async def test_every_due_snooze_reopens_in_one_run_and_each_is_announced_once(client, auth, monkeypatch):
    monkeypatch.setattr(conversations, "WAKE_BATCH", 2)  # so that five due ones take three batches
    now = datetime.now(UTC)
    due = [await snoozed_until(client, auth, now - timedelta(days=days)) for days in range(1, 6)]
    later = await snoozed_until(client, auth, now + timedelta(hours=1))
    announced: list[int] = []
    bus.conversation_updated.subscribe(lambda conversation: announced.append(conversation.id))

    assert await conversations.wake_snoozed_conversations() == 5

    assert sorted(announced) == sorted(due)
    for conversation_id in due:
        assert (await conversations.get_conversation(conversation_id)).status == ConversationStatus.open
    assert (await conversations.get_conversation(later)).status == ConversationStatus.snoozed
    assert await conversations.wake_snoozed_conversations() == 0
