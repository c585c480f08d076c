"""Labels across instances on PostgreSQL: another instance hears a label's changes, and a conversation labelled
here reaches its bus with the label and the thread's activity line."""

from __future__ import annotations

from tests.helpers.api import customer_writes, new_sender
from tests.helpers.waiting import eventually
from tests.services.test_live_relay import another_instance, arrived, heard


async def test_label_changes_and_a_labelled_conversation_reach_the_other_instance(on_postgresql, client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender(), text="Money back please")
    async with another_instance() as other:
        changed, conversations = heard(other.label_changed), heard(other.conversation_updated)
        messages = heard(other.message_created)
        created = await client.post("/api/v1/labels", json={"name": "refund"}, headers=auth)
        assert created.status_code == 201
        await eventually(arrived(changed, lambda label_id: label_id == created.json()["id"]))

        path = f"/api/v1/conversations/{conversation['id']}/labels"
        assert (await client.post(path, json={"label": "refund"}, headers=auth)).status_code == 200
        await eventually(arrived(conversations, lambda c: c.id == conversation["id"] and c.labels == ["refund"]))
        await eventually(arrived(messages, lambda m: m.content == "Admin added label refund"))
