"""Small display pieces several pages share: times, channel icons, status chips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nicegui import ui

from chathub.models import ConversationStatus, WebhookStatus
from chathub.pages.components.agent_zone import local
from chathub.services import channels

CONVERSATION_STATUS_COLORS = {
    ConversationStatus.open: "green",
    ConversationStatus.pending: "orange",
    ConversationStatus.resolved: "grey",
    ConversationStatus.snoozed: "blue",
}
WEBHOOK_STATUS_COLORS = {
    WebhookStatus.received: "blue",
    WebhookStatus.processing: "blue",
    WebhookStatus.processed: "green",
    WebhookStatus.failed: "red",
    WebhookStatus.rejected: "orange",
}


def relative_time(moment: datetime, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} d"
    return local(moment).strftime("%d %b")


def local_time(moment: datetime | None, fmt: str = "%d %b %Y %H:%M:%S") -> str:
    return local(moment).strftime(fmt) if moment else "—"


def clock_time(moment: datetime, now: datetime | None = None) -> str:
    """A moment to come, in the agent's local time: "Tue 09:00" within the week, else "12 Jan 09:00"."""
    now = now or datetime.now(UTC)
    return local_time(moment, "%a %H:%M" if moment - now < timedelta(days=6) else "%d %b %H:%M")


def snoozed_until(moment: datetime | None) -> str:
    return f"Snoozed until {clock_time(moment)}" if moment else "Snoozed"


def seconds_ago(moment: datetime, now: datetime | None = None) -> str:
    """How long ago, to the second under a minute: for things that happened while the agent watched."""
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    return f"{seconds} s ago" if seconds < 60 else f"{seconds // 60} min ago"


def channel_icon(channel_type: str, *, size: str = "xs") -> ui.icon:
    return (
        ui.icon(channels.channel_kind(channel_type).icon, size=size)
        .classes("text-slate-400")
        .tooltip(channel_type.capitalize())
    )


def status_chip(status: ConversationStatus | WebhookStatus) -> ui.badge:
    colors = CONVERSATION_STATUS_COLORS if isinstance(status, ConversationStatus) else WEBHOOK_STATUS_COLORS
    return ui.badge(status.value, color=colors.get(status, "grey")).props("outline")


def sentence(text: str) -> str:
    """A service's message ("the name is empty") as a sentence to show ("The name is empty.")."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def disposable_dialog() -> ui.dialog:
    """A dialog that deletes itself once closed: build it when needed, open it, forget it. It belongs to the
    page, not to the element that opened it, so redrawing that element (a list refreshed by a live event) does
    not delete it under the admin's hands. Say anything before closing it: its handlers speak from its slot."""
    with ui.context.client.content:
        dialog = ui.dialog()
    dialog.on_value_change(lambda e: None if e.value else dialog.delete())
    return dialog


def copy_button(text: str, *, what: str = "Text") -> ui.button:
    """A small icon button that puts `text` on the clipboard and says so."""

    def copy() -> None:
        ui.clipboard.write(text)
        ui.notify(f"{what} copied to the clipboard", type="positive")

    return ui.button(icon="content_copy", on_click=copy).props("flat round dense size=sm").tooltip("Copy")


PRESENCE_COLORS = {"online": "bg-green-500", "away": "bg-amber-400", "offline": "bg-slate-300"}


def presence_dot(agent_id: int) -> ui.element:
    """A dot saying whether the agent is online, away or offline; it follows changes live."""
    from chathub import bus
    from chathub.services import presence

    def draw(status: str) -> None:
        dot.classes(remove=" ".join(PRESENCE_COLORS.values()), add=PRESENCE_COLORS[status])
        dot.props(f'aria-label="{status}"')
        tip.set_text(status.capitalize())
        dot.mark(f"presence-{agent_id}-{status}")

    dot = ui.element("span").classes("inline-block w-2.5 h-2.5 rounded-full shrink-0")
    with dot:
        tip = ui.tooltip()
    draw(presence.agent_status(agent_id))
    bus.presence_changed.subscribe(lambda change: draw(change.status) if change.agent_id == agent_id else None)
    return dot


def notice(icon: str, title: str, detail: str, link_text: str, link_target: str) -> None:
    """A centred empty/not-found/forbidden notice with a way out."""
    with ui.column().classes("items-center w-full mt-16 gap-2 px-4 text-center"):
        ui.icon(icon, size="xl").classes("text-slate-400")
        ui.label(title).classes("text-lg")
        if detail:
            ui.label(detail).classes("text-slate-500")
        ui.link(link_text, link_target)
