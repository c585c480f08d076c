"""One message as a chat bubble: every content type shown properly, customer text always as text."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from nicegui import ui

from chathub.models import ContentType, MediaStatus, MessageDirection, MessageKind, MessageStatus
from chathub.pages.components.text_bubble import (
    STATUS_ICONS,
    TextBubble,
    fits_text_bubble,
    received_note,
    text_segments,
    time_title,
)
from chathub.pages.components.widgets import local_time
from chathub.schemas import MessageOut


def is_chathub_media(url: str | None) -> bool:
    """A file ChatHub fetched or received and serves itself (/media/<id>, for signed-in agents): the only
    address a thread loads anything from. A customer's URL never is one."""
    return bool(url) and url.startswith("/media/")


def text_with_links(text: str) -> None:
    """Plain text where only http(s) URLs become links; nothing is interpreted as HTML."""
    with ui.element("div").classes("whitespace-pre-wrap break-words text-[15px] leading-snug"):
        for segment in text_segments(text):
            if segment["href"]:
                ui.link(segment["text"], segment["href"], new_tab=True).classes("inline break-all underline")
            else:
                ui.label(segment["text"]).classes("inline")


def raw_text(text: str) -> ui.label:
    """Customer data shown as it is (a raw payload, a URL): one text node, never markdown or HTML."""
    return ui.label(text).classes("font-mono text-xs whitespace-pre-wrap break-all")


MEDIA_ICONS = {"file": "description", "audio": "audiotrack", "video": "movie", "image": "image", "sticker": "image"}
MEDIA_KINDS = frozenset(
    {ContentType.image, ContentType.sticker, ContentType.audio, ContentType.video, ContentType.file}
)


def message_body(message: MessageOut) -> None:
    kind = message.content_type
    payload = message.payload or {}
    if message.media_status == MediaStatus.pending:
        with ui.row().classes("items-center gap-2 text-sm text-slate-500").mark(f"media-pending-{message.id}"):
            ui.spinner(size="sm")
            ui.label(f"Fetching the {'photo' if kind == ContentType.image else kind.value}…")
    elif message.media_status == MediaStatus.failed:
        _not_shown_media(message, message.error or "The file could not be fetched.")
    elif kind in MEDIA_KINDS and not is_chathub_media(message.media_url):
        _not_shown_media(
            message,
            "Sent from an outside address, not loaded here."
            if message.direction == MessageDirection.outbound
            else "Not shown: ChatHub shows only files it fetched itself.",
        )
    elif kind in (ContentType.image, ContentType.sticker):
        size = "w-32" if kind == ContentType.sticker else "w-64 max-w-full rounded-lg"
        with ui.link(target=message.media_url, new_tab=True):
            ui.image(message.media_url).classes(size).props("fit=contain")
    elif kind in (ContentType.audio, ContentType.video):
        player = ui.audio if kind == ContentType.audio else ui.video
        player(message.media_url).classes("max-w-full" + (" w-72" if kind == ContentType.video else ""))
        _file_link(message, kind)
    elif kind == ContentType.file:
        _file_link(message, kind)
    elif kind == ContentType.location and "latitude" in payload:
        lat, lon = payload["latitude"], payload["longitude"]
        url = f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"
        with ui.row().classes("items-center gap-1"):
            ui.icon("place").classes("text-red-500")
            label = " · ".join(str(p) for p in (payload.get("name"), payload.get("address")) if p)
            ui.link(label or f"Location {float(lat):.5f}, {float(lon):.5f}", url, new_tab=True).classes("underline")
    elif kind == ContentType.contact:
        phones = payload.get("phones") or [payload.get("phone") or ""]
        with ui.row().classes("items-center gap-2 bg-black/5 rounded p-2"):
            ui.icon("contact_phone")
            with ui.column().classes("gap-0"):
                ui.label(payload.get("name") or message.content).classes("font-medium")
                ui.label(", ".join(str(p) for p in phones if p)).classes("text-xs")
    elif kind == ContentType.reaction:
        with ui.row().classes("items-center gap-1 text-sm italic text-slate-600"):
            ui.label(f"Reacted {message.content} to a message" if message.content else "Removed a reaction")
        return
    elif kind == ContentType.unsupported:
        ui.label("Unsupported message").classes("italic")
        with ui.expansion("Raw payload").classes("text-xs w-full").props("dense"):
            raw_text(json.dumps(payload, indent=2, ensure_ascii=False)).mark(f"raw-payload-{message.id}")
    if message.content and kind not in (ContentType.contact,):
        text_with_links(message.content)


def _not_shown_media(message: MessageOut, reason: str) -> None:
    """Media that is not ChatHub's own file: the reason, and the address it came with as plain text."""
    with ui.row().classes("items-center gap-2 text-sm text-red-600 no-wrap"):
        ui.icon(MEDIA_ICONS.get(message.content_type.value, "attachment"))
        ui.label(reason).mark(f"media-not-shown-{message.id}")
    address = (message.payload or {}).get("source_url") or message.media_url
    if address:
        raw_text(str(address)).classes("text-slate-500").mark(f"media-address-{message.id}")


def _file_link(message: MessageOut, kind: ContentType) -> None:
    with ui.row().classes("items-center gap-1"):
        ui.icon(MEDIA_ICONS.get(kind.value, "attachment"))
        size = f" · {message.media_size / 1000:.0f} kB" if message.media_size else ""
        ui.link((message.file_name or f"Open {kind.value}") + size, message.media_url, new_tab=True).classes(
            "underline break-all"
        )


def status_line(
    message: MessageOut, *, agent_name: str | None, on_retry: Callable[[int], Awaitable[None]] | None = None
) -> None:
    with ui.row().classes("items-center gap-1 text-[11px] text-slate-500 justify-end w-full"):
        if agent_name:
            ui.label(agent_name).classes("font-medium")
        if message.edited_at is not None:
            ui.label("edited").classes("italic").tooltip(f"Edited {local_time(message.edited_at)}")
        ui.label(local_time(message.created_at, "%H:%M")).tooltip(time_title(message))
        if late := received_note(message):
            ui.label(f"· {late}").classes("received-late italic").tooltip(time_title(message))
        if message.direction == MessageDirection.outbound:
            icon, color, label = STATUS_ICONS[message.status]
            ui.icon(icon, size="14px").classes(f"{color} status-{message.status.value}").tooltip(label)
    if message.possibly_sent_twice:
        ui.label("May have been sent twice: the server stopped during an earlier send").classes(
            "text-xs text-amber-700 w-full text-right possibly-sent-twice"
        )
    if message.status == MessageStatus.failed:
        with ui.row().classes("items-center gap-2 text-xs text-red-600 w-full no-wrap"):
            ui.label(message.error or "Not delivered").classes("message-error")
            if on_retry:
                ui.button("Retry", icon="refresh", on_click=lambda: on_retry(message.id)).props(
                    "flat dense size=sm color=negative"
                ).mark(f"retry-{message.id}")


class MessageBubble:
    """A message's bubble: one TextBubble element for plain text, the full tree for everything else. A
    receipt, an edit or fetched media updates it in place."""

    def __init__(
        self, message: MessageOut, *, agent_name: str | None, on_retry: Callable[[int], Awaitable[None]]
    ) -> None:
        self.message = message
        self.agent_name = agent_name
        self.on_retry = on_retry
        self.row = self._build(message)

    def _build(self, message: MessageOut) -> ui.element:
        if message.kind == MessageKind.note:
            return note_bubble(message, agent_name=self.agent_name)
        if message.kind == MessageKind.activity:
            return activity_line(message)
        if fits_text_bubble(message):
            return TextBubble(message, agent_name=self.agent_name).mark(f"message-{message.id}")
        outbound = message.direction == MessageDirection.outbound
        with ui.row().classes("w-full " + ("justify-end" if outbound else "justify-start")) as row:
            colors = "bg-indigo-100 dark:bg-indigo-900" if outbound else "bg-[#fff] dark:bg-slate-700"
            if message.status == MessageStatus.failed:
                colors = "bg-red-50 dark:bg-red-950 border border-red-300"
            with (
                ui.column()
                .classes(f"{colors} rounded-2xl px-3 py-2 gap-1 max-w-[80%] sm:max-w-[70%] shadow-sm chat-bubble")
                .mark(f"message-{message.id}")
            ):
                message_body(message)
                status_line(message, agent_name=self.agent_name, on_retry=self.on_retry)
        return row

    def update(self, message: MessageOut) -> None:
        """A receipt, an edit, or media that finished fetching."""
        self.message = message
        if isinstance(self.row, TextBubble) and fits_text_bubble(message):
            self.row.show(message, agent_name=self.agent_name)
            return
        old = self.row
        with old.parent_slot:
            self.row = self._build(message)
        self.row.move(target_index=old.parent_slot.children.index(old))
        old.delete()


def note_bubble(message: MessageOut, *, agent_name: str | None) -> ui.element:
    """A private note: amber, on the agents' side, saying who wrote it and that the customer never sees it."""
    with ui.row().classes("w-full justify-end") as row:
        with (
            ui.column()
            .classes(
                "bg-amber-100 dark:bg-amber-900 border border-amber-300 dark:border-amber-700 rounded-2xl px-3 py-2 "
                "gap-1 max-w-[80%] sm:max-w-[70%] shadow-sm chat-bubble note-bubble"
            )
            .mark(f"message-{message.id}")
        ):
            with ui.row().classes("items-center gap-1 text-[11px] text-amber-900 dark:text-amber-100 no-wrap"):
                ui.icon("lock", size="14px")
                ui.label("Only agents see this")
            text_with_links(message.content)
            with ui.row().classes("items-center gap-1 text-[11px] text-slate-600 dark:text-slate-300 self-end"):
                ui.label(agent_name or "An agent").classes("font-medium")
                ui.label(local_time(message.created_at, "%H:%M")).tooltip(time_title(message))
    return row


def activity_line(message: MessageOut) -> ui.element:
    """What happened to the conversation ("Alice resolved the conversation"): a small centred line."""
    with ui.row().classes("w-full justify-center items-baseline gap-2 my-1 text-xs activity-line") as row:
        text = ui.label(message.content).classes("text-slate-500 dark:text-slate-400 text-center")
        text.mark(f"message-{message.id}")
        ui.label(local_time(message.created_at, "%H:%M")).classes("text-slate-400").tooltip(time_title(message))
    return row


def day_separator(label: str) -> None:
    with ui.row().classes("w-full justify-center my-2"):
        ui.label(label).classes("text-xs text-slate-500 bg-slate-200 dark:bg-slate-700 rounded-full px-3 py-0.5")
