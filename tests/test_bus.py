"""Events about a conversation reach the tabs of that conversation and the ones that follow them all, and
no other tab: with many tabs open, a message costs only the tabs showing its conversation a callback."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chathub import bus, process_state
from chathub.settings import Settings


@pytest.fixture(autouse=True)
def running():
    """The bus's subscribers belong to a run: these tests are one, without the rest of the app."""
    process_state.begin(Settings())
    yield
    process_state.end()


def message_in(conversation_id: int) -> SimpleNamespace:
    return SimpleNamespace(conversation_id=conversation_id)


def test_a_thread_hears_its_own_conversation_and_an_inbox_hears_every_one():
    in_thread_1, in_thread_2, in_inbox = [], [], []
    bus.message_created.subscribe_to(1, in_thread_1.append)
    bus.message_created.subscribe_to(2, in_thread_2.append)
    bus.message_created.subscribe(in_inbox.append)
    first, second, third = message_in(1), message_in(2), message_in(3)
    for message in (first, second, third):
        bus.message_created.emit(message)
    assert (in_thread_1, in_thread_2, in_inbox) == ([first], [second], [first, second, third])
    assert bus.subscriber_count() == 3


def test_a_message_nobody_shows_is_not_even_built():
    bus.message_created.subscribe_to(1, lambda message: None)
    assert bus.message_created.listened(1)
    assert not bus.message_created.listened(2)  # the worker skips its model
    bus.message_created.subscribe(lambda message: None)
    assert bus.message_created.listened(2)


def test_a_closed_threads_place_is_dropped():
    heard = []
    bus.message_created.subscribe_to(1, heard.append)
    bus.message_created.by_conversation[1].callbacks.clear()  # what NiceGUI does when the tab goes
    bus.message_created.subscribe_to(2, heard.append)
    assert list(bus.message_created.by_conversation) == [2]
    bus.message_created.emit(message_in(1))
    assert heard == [] and bus.subscriber_count() == 1
