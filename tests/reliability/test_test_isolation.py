"""Tests start and stop the whole app once each, every one on an event loop of its own. A task an app started
on an earlier test's loop must not break or hang a later test's shutdown (conftest.forget_tasks_of_other_loops)."""

from __future__ import annotations

import asyncio

import pytest
from nicegui import background_tasks, core

from tests.helpers.app import running_app


@pytest.mark.parametrize("earlier_loop", ["closed", "left open"])
def test_a_task_left_pending_on_an_earlier_event_loop_does_not_break_the_next_shutdown(earlier_loop, monkeypatch):
    earlier = asyncio.new_event_loop()
    monkeypatch.setattr(core, "loop", earlier)

    async def start_a_task_late():  # as a page's timer can, while its app shuts down
        background_tasks.create(asyncio.sleep(3600), name="started while shutting down")

    earlier.run_until_complete(start_a_task_late())
    if earlier_loop == "closed":
        earlier.close()

    async def start_and_stop_the_app():
        async with running_app() as http:
            assert (await http.get("/healthz")).status_code == 200

    asyncio.run(asyncio.wait_for(start_and_stop_the_app(), timeout=30))
