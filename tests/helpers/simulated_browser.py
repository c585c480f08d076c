"""NiceGUI's simulated browser (`User`), made to behave as a real tab does where page tests depend on it."""

from __future__ import annotations

import gc
import re
import weakref
from uuid import uuid4

from nicegui import Client
from nicegui.context import context
from nicegui.nicegui import _on_handshake
from nicegui.testing import User
from nicegui.testing.user_navigate import UserNavigate
from nicegui.testing.user_notify import UserNotify

_record_notification = UserNotify.__call__


def notify_through_the_tab(self: UserNotify, message: str, **options) -> None:
    """The simulated browser records notifications without asking for the tab, which the real `ui.notify`
    reaches through the current slot's element: a toast said from a deleted element (a closed disposable
    dialog, a refreshed row) raises in a real tab and must fail here too. Collecting garbage first makes the
    deleted element as gone as a busy server would."""
    gc.collect()
    client = context.client  # raises as the real notify does when the element is gone
    owner = _browser_showing(client)
    _record_notification(object.__getattribute__(owner, "notify") if owner else self, message, **options)


# NiceGUI's User points the global `ui.navigate` and `ui.notify` at whichever simulated browser had an attribute
# read last, and a browser's own live updates read its attributes: with two browsers, one tab's sign-in
# navigation could open in the other browser. Both are sent to the browser showing the tab that asked.
_simulated_browsers: weakref.WeakSet[User] = weakref.WeakSet()
_left_pages: weakref.WeakSet[Client] = weakref.WeakSet()
_create_browser = User.__init__
_open_target = UserNavigate.to


def remember_browser(self: User, *args, **kwargs) -> None:
    _create_browser(self, *args, **kwargs)
    _simulated_browsers.add(self)


def _browser_showing(client) -> User | None:
    return next(
        (browser for browser in list(_simulated_browsers) if object.__getattribute__(browser, "client") is client), None
    )


def navigate_the_tabs_browser(self: UserNavigate, target, new_tab: bool = False) -> None:
    try:
        client = context.client
    except RuntimeError:  # called by the test itself, outside any tab: the browser it was called on
        client = None
    if client in _left_pages:
        return  # a real browser's page goes when the tab opens another one; here it lives on, unseen
    owner = _browser_showing(client) if client is not None else None
    _open_target(object.__getattribute__(owner, "navigate") if owner else self, target, new_tab)


async def open_answering_from_the_start(self: User, path: str, *, clear_forward_history: bool = True) -> Client:
    """NiceGUI's `User.open`, with the simulated browser answering the page's JavaScript from the handshake on.
    NiceGUI's own begins answering after the handshake, so a request a page makes on connect now and then went
    out unanswered, and NiceGUI logged an ERROR a second later, which fails a page test (seen in CI)."""
    response = await self.http_client.get(path, follow_redirects=True)
    assert response.status_code == 200, f"Expected status code 200, got {response.status_code}"
    if response.headers.get("X-Nicegui-Content") != "page":
        raise ValueError(f"Expected a page response, got {response.text}")
    match = re.search(r"'client_id': '([0-9a-f-]+)'", response.text)
    assert match is not None
    if (shown := object.__getattribute__(self, "client")) is not None:
        _left_pages.add(shown)
    self.client = Client.instances[match.group(1)]
    self.sio.on("connect")
    self._patch_outbox_emit_function()
    await _on_handshake(
        f"test-{uuid4()}", {"client_id": self.client.id, "tab_id": self.tab_id, "document_id": str(uuid4())}
    )
    self.back_history.append(path)
    if clear_forward_history:
        self.forward_history.clear()
    return self.client
