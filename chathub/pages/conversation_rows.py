"""The inbox rows as one element whose rows are data, drawn by the browser (conversation_rows.js).

Every open inbox hears every conversation change. As a tree of a dozen NiceGUI elements per row, each new
customer cost every open tab a row's worth of elements (server CPU and memory per tab); as data, a change
reaches one element.

Once the page is in the browser, new rows reach the element through a method call (see live_value.py). With the
plain rows of conversation_rows.js, a tab taking a new page of rows every 2 s spent about a third less of its
main thread in JavaScript.
"""
from __future__ import annotations

import json

from chathub.pages.layout import avatar_hue, initials
from chathub.pages.live_value import LiveValueElement
from chathub.pages.widgets import CHANNEL_ICONS, CONVERSATION_STATUS_COLORS, relative_time
from chathub.schemas import ConversationOut

SHOWN_TEXT = ("name", "preview", "time", "status", "assignee")


class ConversationRows(LiveValueElement, component="conversation_rows.js"):
    def __init__(self, selected_id: int | None) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self._props["data"] = "[]"
        self._in_page = False  # the first rows go out with the page itself
        self._props["selected"] = _row_id(selected_id)

    def show(self, conversations: list[ConversationOut], *, show_status: bool, agent_names: dict[int, str]) -> None:
        self.rows = [row_data(c, show_status=show_status, agent_names=agent_names) for c in conversations]
        self._set_live_value("data", json.dumps(self.rows, ensure_ascii=False), send=self._in_page)
        self._in_page = True

    def select(self, conversation_id: int | None) -> None:
        """Mark this row as the open one (and scroll it into view): a method call, not a redraw of the rows."""
        self._set_live_value("selected", _row_id(conversation_id), method="select")

    def _displayed_contents(self, *, only_visible: bool) -> list:
        """What the rows show as text, for `user.should_see` in page tests."""
        return [row[key] for row in self.rows for key in SHOWN_TEXT]


def _row_id(conversation_id: int | None) -> int | None:
    """An id typed into the URL may be beyond 64 bits, which the props' JSON cannot carry: no such row anyway."""
    return conversation_id if conversation_id is not None and 0 < conversation_id < 2**63 else None


def row_data(conversation: ConversationOut, *, show_status: bool, agent_names: dict[int, str]) -> dict:
    name, assignee_id = conversation.customer.name, conversation.assignee_id
    return {
        "id": conversation.id, "name": name, "initials": initials(name), "hue": avatar_hue(name),
        "channel_icon": CHANNEL_ICONS.get(conversation.channel.type, "forum"),
        "channel_label": conversation.channel.type.value.capitalize(),
        "time": relative_time(conversation.last_message_at), "preview": conversation.last_message_preview,
        "unread": conversation.unread_count,
        "status": conversation.status.value if show_status else "",
        "status_color": CONVERSATION_STATUS_COLORS[conversation.status],
        "assignee": f"→ {agent_names.get(assignee_id, 'someone')}" if assignee_id else "",
    }
