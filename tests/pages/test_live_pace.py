"""An open tab redraws a lone change at once (after a short gather), and a flood of changes at a steady
pace: under a stream of webhooks 20 open tabs must not each redraw twice a second."""

from __future__ import annotations

import asyncio

import pytest

from chathub.pages.components import live_pace
from chathub.pages.components.live_pace import LivePace


@pytest.fixture(autouse=True)
def short_pace(monkeypatch):
    monkeypatch.setattr(live_pace, "FIRST_DELAY_SECONDS", 0.05)
    monkeypatch.setattr(live_pace, "BUSY_INTERVAL_SECONDS", 0.4)


async def test_a_lone_change_is_drawn_after_the_first_delay_only():
    loop = asyncio.get_running_loop()
    drawn: list[float] = []
    pace = LivePace(lambda: drawn.append(loop.time()))
    changed_at = loop.time()
    pace.changed()
    pace.changed()  # the same moment: one redraw
    await asyncio.sleep(0.3)
    assert len(drawn) == 1 and drawn[0] - changed_at < 0.3


async def test_a_stream_of_changes_is_drawn_at_most_once_per_busy_interval_and_ends_drawn():
    loop = asyncio.get_running_loop()
    drawn: list[float] = []
    changes = {"made": 0, "shown": 0}

    def redraw():
        drawn.append(loop.time())
        changes["shown"] = changes["made"]

    pace = LivePace(redraw)
    for _ in range(60):  # 1.2 s of changes, one every 20 ms
        changes["made"] += 1
        pace.changed()
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)
    gaps = [later - earlier for earlier, later in zip(drawn, drawn[1:])]
    assert len(drawn) <= 5 and all(gap >= 0.39 for gap in gaps)  # not one redraw per change
    assert changes["shown"] == 60  # the last change is on screen


async def test_a_closed_tab_draws_nothing_more():
    drawn: list[str] = []
    pace = LivePace(lambda: drawn.append("drawn"))
    pace.changed()
    pace.stop()  # as the tab's deletion does
    await asyncio.sleep(0.2)
    assert drawn == []
