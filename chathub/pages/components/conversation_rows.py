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

from chathub.models import ConversationStatus
from chathub.pages.components.conversation_tags import PRIORITY_LOOKS, chip_style, priority_title
from chathub.pages.components.layout import avatar_hue, initials
from chathub.pages.components.live_value import LiveValueElement
from chathub.pages.components.widgets import CONVERSATION_STATUS_COLORS, local_time, relative_time, snoozed_until
from chathub.schemas import ConversationOut
from chathub.services import channels, search


class ConversationRows(LiveValueElement, component="conversation_rows.js"):
    def __init__(self, selected_id: int | None) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self._props["data"] = "[]"
        self._in_page = False  # the first rows go out with the page itself
        self._props["selected"] = _row_id(selected_id)

    def show(
        self,
        conversations: list[ConversationOut],
        *,
        show_status: bool,
        agent_names: dict[int, str],
        query: str = "",
        label_colors: dict[str, str] | None = None,
    ) -> None:
        self.rows = [
            row_data(c, show_status=show_status, agent_names=agent_names, query=query, label_colors=label_colors)
            for c in conversations
        ]
        self._set_live_value("data", json.dumps(self.rows, ensure_ascii=False), send=self._in_page)
        self._in_page = True

    def select(self, conversation_id: int | None) -> None:
        """Mark this row as the open one (and scroll it into view): a method call, not a redraw of the rows."""
        self._set_live_value("selected", _row_id(conversation_id), method="select")

    def _displayed_contents(self, *, only_visible: bool) -> list:
        """What the rows show as text, for `user.should_see` in page tests."""
        return [text for row in self.rows for text in shown_text(row)]


def _row_id(conversation_id: int | None) -> int | None:
    """An id typed into the URL may be beyond 64 bits, which the props' JSON cannot carry: no such row anyway."""
    return conversation_id if conversation_id is not None and 0 < conversation_id < 2**63 else None


def shown_text(row: dict) -> list[str]:
    preview = "".join(part["text"] for part in row["match"]) if row["match"] else row["preview"]
    labels = [label["name"] for label in row["labels"]]
    fixed = [row["name"], row["priority_title"], row["failed_label"], preview, row["time"], row["status"]]
    return [*fixed, row["snoozed"], row["assignee"], *labels]


def row_data(
    conversation: ConversationOut,
    *,
    show_status: bool,
    agent_names: dict[int, str],
    query: str = "",
    label_colors: dict[str, str] | None = None,
) -> dict:
    name, assignee_id = conversation.customer.name, conversation.assignee_id
    colors = label_colors or {}
    return {
        "id": conversation.id,
        "name": name,
        "initials": initials(name),
        "hue": avatar_hue(name),
        "channel_icon": channels.channel_kind(conversation.channel.type).icon,
        "channel_label": conversation.channel.type.capitalize(),
        "time": relative_time(conversation.last_message_at),
        "time_title": local_time(conversation.last_message_at),
        "preview": conversation.last_message_preview,
        "match": matched_parts(conversation, query),
        "unread": conversation.unread_count,
        "failed": conversation.failed_replies > 0,
        "failed_label": "Failed to send" if conversation.failed_replies else "",
        "status": conversation.status.value if show_status else "",
        "status_color": CONVERSATION_STATUS_COLORS[conversation.status],
        "snoozed": snoozed_until(conversation.snoozed_until)
        if conversation.status == ConversationStatus.snoozed
        else "",
        "assignee": f"→ {agent_names.get(assignee_id, 'someone')}" if assignee_id else "",
        "labels": [{"name": label, "style": chip_style(colors.get(label.casefold()))} for label in conversation.labels],
        "priority_title": priority_title(conversation.priority),
        "priority_class": PRIORITY_LOOKS.get(conversation.priority, ""),
    }


def matched_parts(conversation: ConversationOut, query: str) -> list[dict] | None:
    """In search results, the preview as plain pieces and matched words (`hit`), drawn as text: the latest
    preview where the words are in it, else the snippet of the message that matched; None outside a search."""
    if not query.strip():
        return None
    text, match = conversation.last_message_preview, conversation.search_match
    spans = search.highlights(text, query)
    if not spans and match is not None:
        text, spans = match.snippet, match.highlights
    if not spans:
        return None
    parts, position = [], 0
    for start, end in spans:
        if start > position:
            parts.append({"text": text[position:start], "hit": False})
        parts.append({"text": text[start:end], "hit": True})
        position = end
    if position < len(text):
        parts.append({"text": text[position:], "hit": False})
    return parts
