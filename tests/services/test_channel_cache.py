"""Intake looks channels up in a cache that a change empties. A look-up whose read was under way while a change was
committed must not put the old channel back: the simulator's settings page saved two changes in a row, and the
second one stayed invisible to the intake for good."""

from __future__ import annotations

import asyncio

from chathub import db
from chathub.schemas import ChannelPatch
from chathub.services import channels


async def test_a_look_up_under_way_during_a_change_does_not_keep_the_old_channel(client, monkeypatch):
    read_started, change_done = asyncio.Event(), asyncio.Event()
    real_read_session = db.read_session

    def slow_read_session():
        session = real_read_session()

        class Slow:
            async def __aenter__(self):
                return await session.__aenter__()

            async def __aexit__(self, *exc):
                read_started.set()  # the row is read: the change commits before the look-up ends
                await change_done.wait()
                return await session.__aexit__(*exc)

        return Slow()

    channels.forget_cached([1])
    monkeypatch.setattr(db, "read_session", slow_read_session)
    look_up = asyncio.create_task(channels.get_channel(1))
    await read_started.wait()
    monkeypatch.setattr(db, "read_session", real_read_session)
    await channels.update_channel(1, ChannelPatch(name="Renamed meanwhile"))
    change_done.set()
    await look_up

    assert (await channels.get_channel(1)).name == "Renamed meanwhile"
