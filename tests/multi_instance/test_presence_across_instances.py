"""An agent's open tab on one instance is seen from every instance on the same database: as a viewer of the
conversation (the collision warning), in the agent's presence, and as reading the conversation. The tabs of an
instance that stops beating (killed) drop out; an instance that stops cleanly takes them along at once.

Two instances here are two runs of the services in this process on one PostgreSQL database, one after the other:
A writes its tabs with its heartbeat and ends without a word, as a killed process would; B's heartbeat reads them."""

from __future__ import annotations

import pytest
from sqlmodel import select

from chathub import bus, db
from chathub.models import Agent, PresenceTab
from chathub.schemas import PresenceChanged, ViewersChanged
from chathub.services import presence, shared_presence
from tests.helpers.waiting import eventually

ADA = Agent(id=1, name="Ada")
CONVERSATION = 7


async def ada_views_the_conversation_on_instance_a(database_url: str, *, then_stops_cleanly: bool = False) -> None:
    async with db.database_only(database_url):
        presence.tab_opened("tab-on-a", ADA, conversation_id=CONVERSATION)
        await shared_presence.heartbeat()
        if then_stops_cleanly:
            await shared_presence.leave()


async def test_an_agent_viewing_a_conversation_on_a_is_a_viewer_on_b(shared_database: str):
    await ada_views_the_conversation_on_instance_a(shared_database)

    async with db.database_only(shared_database):  # instance B, with a tab of its own on the conversation
        heard = []
        bus.viewers_changed.subscribe(heard.append)
        bus.presence_changed.subscribe(heard.append)
        presence.tab_opened("tab-on-b", Agent(id=2, name="Bea"), conversation_id=CONVERSATION)
        assert presence.viewers(CONVERSATION) == {2: "Bea"}
        heard.clear()

        await shared_presence.heartbeat()

        assert presence.viewers(CONVERSATION) == {1: "Ada", 2: "Bea"}  # Bea's thread warns: Ada is here too
        assert heard == [
            ViewersChanged(conversation_id=CONVERSATION, viewers={1: "Ada", 2: "Bea"}),
            PresenceChanged(agent_id=1, status="online"),
        ]
        assert presence.agent_status(1) == "online"
        assert presence.is_being_read(CONVERSATION)  # a customer message arriving on B is read as it comes
        assert presence.tab_count() == 1  # B's own tabs


async def test_the_tabs_of_an_instance_that_stopped_beating_drop_out(
    shared_database: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(shared_presence, "GONE_AFTER_SECONDS", 1.0)  # a short wait here; the product waits five beats
    await ada_views_the_conversation_on_instance_a(shared_database)

    async with db.database_only(shared_database):
        heard = []
        bus.viewers_changed.subscribe(heard.append)
        bus.presence_changed.subscribe(heard.append)

        async def ada_has_gone() -> bool:
            await shared_presence.heartbeat()
            return presence.viewers(CONVERSATION) == {}

        await shared_presence.heartbeat()
        assert presence.viewers(CONVERSATION) == {1: "Ada"}
        await eventually(ada_has_gone, timeout=10, interval=0.2)

        assert heard[-2:] == [
            ViewersChanged(conversation_id=CONVERSATION, viewers={}),
            PresenceChanged(agent_id=1, status="offline"),
        ]
        async with db.read_session() as session:
            assert (await session.exec(select(PresenceTab))).all() == []


async def test_an_instance_that_stops_cleanly_takes_its_tabs_along(shared_database: str):
    await ada_views_the_conversation_on_instance_a(shared_database, then_stops_cleanly=True)

    async with db.database_only(shared_database):
        await shared_presence.heartbeat()

        assert presence.viewers(CONVERSATION) == {}
        assert presence.agent_status(1) == "offline"
