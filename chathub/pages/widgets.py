"""Small display pieces several pages share: times, channel icons, status chips."""
from __future__ import annotations

from datetime import datetime, timezone

from nicegui import ui

from chathub.models import ChannelType, ConversationStatus, WebhookStatus

CHANNEL_ICONS = {ChannelType.simulator: "smartphone", ChannelType.telegram: "send",
                 ChannelType.whatsapp: "chat", ChannelType.twilio: "sms"}
CONVERSATION_STATUS_COLORS = {ConversationStatus.open: "green", ConversationStatus.pending: "orange",
                              ConversationStatus.resolved: "grey", ConversationStatus.snoozed: "blue"}
WEBHOOK_STATUS_COLORS = {WebhookStatus.received: "blue", WebhookStatus.processing: "blue",
                         WebhookStatus.processed: "green", WebhookStatus.failed: "red",
                         WebhookStatus.rejected: "orange"}


def relative_time(moment: datetime, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} d"
    return moment.astimezone().strftime("%d %b")


def local_time(moment: datetime | None, fmt: str = "%d %b %Y %H:%M:%S") -> str:
    return moment.astimezone().strftime(fmt) if moment else "—"


def channel_icon(channel_type: ChannelType, *, size: str = "xs") -> ui.icon:
    return ui.icon(CHANNEL_ICONS.get(channel_type, "forum"), size=size).classes("text-slate-400") \
        .tooltip(channel_type.value.capitalize())


def status_chip(status: ConversationStatus | WebhookStatus) -> ui.badge:
    colors = CONVERSATION_STATUS_COLORS if isinstance(status, ConversationStatus) else WEBHOOK_STATUS_COLORS
    return ui.badge(status.value, color=colors.get(status, "grey")).props("outline")


def sentence(text: str) -> str:
    """A service's message ("the name is empty") as a sentence to show ("The name is empty.")."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def disposable_dialog() -> ui.dialog:
    """A dialog that deletes itself once closed: build it when needed, open it, forget it."""
    dialog = ui.dialog()
    dialog.on_value_change(lambda e: None if e.value else dialog.delete())
    return dialog


def copy_button(text: str, *, what: str = "Text") -> ui.button:
    """A small icon button that puts `text` on the clipboard and says so."""
    def copy() -> None:
        ui.clipboard.write(text)
        ui.notify(f"{what} copied to the clipboard", type="positive")

    return ui.button(icon="content_copy", on_click=copy).props("flat round dense size=sm").tooltip("Copy")
