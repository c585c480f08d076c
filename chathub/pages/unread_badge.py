"""The unread total beside "Inbox" in the navigation, on every page (unread_badge.js).

It changes whenever a customer writes, in every open tab. As an element update, each change made NiceGUI's
browser side render the whole page again (see conversation_rows.py); the new total goes to the badge through
its `show` method instead.
"""
from __future__ import annotations

from nicegui import ui


class UnreadBadge(ui.element, component="unread_badge.js"):
    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count
        self._props["count"] = count

    def show(self, count: int) -> None:
        self.count = count
        with self._props.suspend_updates():  # for a page served again
            self._props["count"] = count
        self.run_method("show", count)

    def _displayed_contents(self, *, only_visible: bool) -> list:
        """What the badge shows, for `user.should_see` in page tests."""
        return [str(self.count)] if self.count else []
