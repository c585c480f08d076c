"""The unread total beside "Inbox" in the navigation, on every page (unread_badge.js).

It changes whenever a customer writes, in every open tab, so a new total reaches it through a method call (see
live_value.py).
"""
from __future__ import annotations

from chathub.pages.live_value import LiveValueElement


class UnreadBadge(LiveValueElement, component="unread_badge.js"):
    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count
        self._props["count"] = count

    def show(self, count: int) -> None:
        self.count = count
        self._set_live_value("count", count)

    def _displayed_contents(self, *, only_visible: bool) -> list:
        """What the badge shows, for `user.should_see` in page tests."""
        return [str(self.count)] if self.count else []
