"""Live across instances on PostgreSQL (chathub.services.live_relay): what one instance commits reaches the
other instances' buses once, by NOTIFY, and a listener that lost its connection resyncs.

The app runs in-process as one instance; "the other instance" is a second `Listener` with its own bus in the
same process, on the same database, as another ChatHub process would run it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import update

from chathub import bus, db, process_state, relay
from chathub.bus import Bus
from chathub.models import Conversation
from chathub.services import agents, live_relay, presence
from tests.helpers.api import customer_writes, new_sender
from tests.helpers.live_relay import kill_listening_connections
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook


@asynccontextmanager
async def another_instance(name: str = "another") -> AsyncIterator[Bus]:
    """A second instance's listener on this database, re-emitting on a bus of its own."""
    other_bus = Bus()
    listener = live_relay.Listener(process_state.current().settings.database_url, name, other_bus)
    listener.start()
    await asyncio.wait_for(listener.listening.wait(), 10)
    try:
        yield other_bus
    finally:
        await listener.stop()


def heard(event) -> list:
    got: list = []
    event.subscribe(got.append)
    return got


def arrived(items: list, where=lambda _: True):
    """For `eventually`: the items heard so far that match."""

    async def matching() -> list:
        return [item for item in items if where(item)]

    return matching


async def test_a_message_received_by_one_instance_reaches_the_other_instances_bus(on_postgresql, client, auth):
    async with another_instance() as other:
        messages, conversations = heard(other.message_created), heard(other.conversation_updated)
        conversation = await customer_writes(client, auth, sender=new_sender(), text="Across instances")
        await eventually(arrived(messages, lambda m: m.content == "Across instances"))
        await eventually(arrived(conversations, lambda c: c.id == conversation["id"]))


async def test_an_instance_hears_its_own_changes_once(on_postgresql, client, auth):
    here = heard(bus.message_created)
    async with another_instance() as other:
        there = heard(other.message_created)
        await customer_writes(client, auth, sender=new_sender(), text="Only once")
        await eventually(arrived(there))
    assert [message.content for message in here] == ["Only once"]


async def test_a_write_that_rolls_back_tells_no_other_instance(on_postgresql, client, auth):
    first = await customer_writes(client, auth, sender=new_sender())
    second = await customer_writes(client, auth, sender=new_sender())
    async with another_instance() as other:
        updated = heard(other.conversation_updated)
        with pytest.raises(RuntimeError):
            async with db.write_session() as session:
                relay.announce(session, "conversation_updated", first["id"])
                raise RuntimeError("the write fails before its commit")
        async with db.write_session() as session:
            await session.exec(update(Conversation).where(Conversation.id == second["id"]).values(unread_count=7))
            relay.announce(session, "conversation_updated", second["id"])
        await eventually(arrived(updated))
    assert [(conversation.id, conversation.unread_count) for conversation in updated] == [(second["id"], 7)]


async def test_an_update_no_tab_of_the_other_instance_shows_still_reaches_its_caches(on_postgresql, client, auth):
    """With no inbox list or thread open there, the other instance reads no conversation for its bus, but what
    keeps a cache of conversations (`on_change`) still forgets it."""
    conversation = await customer_writes(client, auth, sender=new_sender())
    async with another_instance() as other:
        forgotten = []
        other.conversation_updated.on_change(lambda: forgotten.append(True))
        async with db.write_session() as session:
            relay.announce(session, "conversation_updated", conversation["id"])
        await eventually(arrived(forgotten))
        watching = heard(other.conversation_updated)
        async with db.write_session() as session:
            relay.announce(session, "conversation_updated", conversation["id"])
        assert [c.id for c in await eventually(arrived(watching))] == [conversation["id"]]


async def test_an_agent_typing_on_one_instance_is_seen_typing_on_the_other(on_postgresql, client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender())
    async with another_instance() as other:
        typing = heard(other.typing)
        agent = await agents.agent_for_token(auth["Authorization"].removeprefix("Bearer "))
        presence.agent_typing(conversation["id"], agent)
        signals = await eventually(arrived(typing))
    assert (signals[0].conversation_id, signals[0].agent_id) == (conversation["id"], agent.id)


async def test_an_instance_whose_listening_connection_was_killed_resyncs_and_hears_changes_again(
    on_postgresql, client, auth
):
    async with another_instance() as other:
        resynced, messages = [], heard(other.message_created)
        other.resynced.subscribe(lambda: resynced.append(True))
        assert kill_listening_connections(on_postgresql, "another") == 1
        await eventually(arrived(resynced), timeout=10)
        await customer_writes(client, auth, sender=new_sender(), text="After the reconnect")
        await eventually(arrived(messages, lambda m: m.content == "After the reconnect"))
    assert resynced == [True]


async def test_a_customer_reply_notifies_and_reading_it_reaches_the_other_instances_bell(on_postgresql, client, auth):
    agent = await agents.agent_for_token(auth["Authorization"].removeprefix("Bearer "))
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender)
    patched = await client.patch(
        f"/api/v1/conversations/{conversation['id']}", json={"assignee_id": agent.id}, headers=auth
    )
    assert patched.status_code == 200, patched.text
    async with another_instance() as other:
        created, read = heard(other.notification_created), heard(other.notifications_read)
        await customer_writes(client, auth, sender=sender, text="Are you there?")
        (told,) = await eventually(arrived(created))
        assert (told.agent_id, told.type.value) == (agent.id, "customer_replied")
        marked = await client.post("/api/v1/notifications/read-all", headers=auth)
        assert marked.json() == {"marked": 1}
        (change,) = await eventually(arrived(read))
    assert change.agent_id == agent.id


async def test_a_refused_webhook_reaches_the_other_instances_webhook_log_at_once(on_postgresql, client, auth):
    """Logged by the intake's own commit (the worker never takes a refused one)."""
    async with another_instance() as other:
        logged = heard(other.webhook_logged)
        refused = await post_webhook(client, None, raw=b'{"from": "+15550100", "message": ')
        assert refused.status_code == 400
        log_id = refused.json()["webhook_log_id"]
        [entry] = await eventually(arrived(logged, lambda entry: entry.id == log_id))
    assert (entry.status, entry.http_status) == ("rejected", 400)
