"""A plain text message as one element whose content is data, drawn by the browser (text_bubble.js).

Most of a thread is plain text. As a tree of NiceGUI elements each bubble cost about ten elements of server
memory in every open tab; as data it is one. Media, failed replies (with their Retry button) and the other
kinds keep the full bubble of message_view.py.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from nicegui import ui

from chathub.models import ContentType, MessageDirection, MessageKind, MessageStatus
from chathub.pages.components.agent_zone import local
from chathub.pages.components.widgets import local_time
from chathub.schemas import MessageOut

URL_PATTERN = re.compile(r"https?://[^\s<>\"']+")
STATUS_ICONS = {
    MessageStatus.pending: ("schedule", "text-slate-400", "Sending…"),
    MessageStatus.sent: ("done", "text-slate-400", "Sent"),
    MessageStatus.delivered: ("done_all", "text-slate-400", "Delivered"),
    MessageStatus.read: ("done_all", "text-sky-500", "Read"),
    MessageStatus.failed: ("error", "text-red-600", "Failed"),
}


def fits_text_bubble(message: MessageOut) -> bool:
    return (
        message.kind == MessageKind.message
        and message.content_type == ContentType.text
        and message.media_url is None
        and message.media_status is None
        and message.status != MessageStatus.failed
        and not message.possibly_sent_twice
    )


class TextBubble(ui.element, component="text_bubble.js"):
    def __init__(self, message: MessageOut, *, agent_name: str | None) -> None:
        super().__init__()
        self.data: dict = {}
        self.show(message, agent_name=agent_name)

    def show(self, message: MessageOut, *, agent_name: str | None) -> None:
        self.data = bubble_data(message, agent_name=agent_name)
        self._props["data"] = json.dumps(self.data, ensure_ascii=False)
        self.update()

    def _displayed_contents(self, *, only_visible: bool) -> list:
        """What the bubble shows as text, for `user.should_see` in page tests."""
        data = self.data
        return [
            "".join(s["text"] for s in data["segments"]),
            data["agent"],
            data["time"],
            data["received"],
            "edited" if data["edited"] else None,
        ]


def bubble_data(message: MessageOut, *, agent_name: str | None) -> dict:
    icon, color, label = (
        STATUS_ICONS[message.status] if message.direction == MessageDirection.outbound else ("", "", "")
    )
    return {
        "outbound": message.direction == MessageDirection.outbound,
        "segments": text_segments(message.content),
        "agent": agent_name or "",
        "edited": f"Edited {local_time(message.edited_at)}" if message.edited_at else "",
        "time": local_time(message.created_at, "%H:%M"),
        "time_title": time_title(message),
        "received": received_note(message),
        "status_icon": icon,
        "status_label": label,
        "status_class": f"{color} status-{message.status.value}" if icon else "",
    }


LATE_AFTER = timedelta(minutes=1)


def received_note(message: MessageOut) -> str:
    """ "received 09:24" when a message reached ChatHub more than a minute after its provider time: the bubble
    sits at the provider time in the thread, the inbox lists it by arrival, and both are shown true."""
    received = message.received_at
    if received is None or received - message.created_at <= LATE_AFTER:
        return ""
    same_day = local(received).date() == local(message.created_at).date()
    return "received " + local_time(received, "%H:%M" if same_day else "%d %b %Y %H:%M")


def time_title(message: MessageOut) -> str:
    note = received_note(message)
    return local_time(message.created_at) + (f" · received {local_time(message.received_at)}" if note else "")


def text_segments(text: str) -> list[dict]:
    """The text cut into plain pieces and http(s) links, in order."""
    segments, position = [], 0
    for match in URL_PATTERN.finditer(text):
        if match.start() > position:
            segments.append({"text": text[position : match.start()], "href": None})
        segments.append({"text": match.group(0), "href": match.group(0)})
        position = match.end()
    if position < len(text) or not segments:
        segments.append({"text": text[position:], "href": None})
    return segments
