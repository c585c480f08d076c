"""Webhook logs: what every channel sent, how processing went, and a replay for the failures.

The list and the counts follow the bus (`webhook_logged`): the subscriber only marks the view stale and, if
no redraw is due yet, schedules one in half a second, so a burst of webhooks costs each open tab a couple
of queries. Nothing runs while nothing happens.
"""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi import Request
from nicegui import ui

from chathub import bus
from chathub.models import Agent, Channel, WebhookStatus, utcnow
from chathub.pages import session
from chathub.pages.components.layout import frame, sees_all_only_notice
from chathub.pages.components.widgets import channel_icon, local_time, relative_time, status_chip
from chathub.schemas import Page, WebhookLogDetail, WebhookLogOut
from chathub.services import channels, visibility, webhook_retention, webhooks
from chathub.services.errors import NotFound, ServiceError

PAGE_SIZE = 25
SHOWN_BODY_CHARS = 100_000
STATUSES = {
    "all": "All statuses",
    WebhookStatus.received.value: "Received",
    WebhookStatus.processed.value: "Processed",
    WebhookStatus.failed.value: "Failed",
    WebhookStatus.rejected.value: "Rejected",
}
TIME_RANGES = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "all": ("All time", None),
}
ALL_CHANNELS = "all"
REDRAW_SECONDS = 0.5


async def page(request: Request):
    agent = await session.require_agent(request)
    if not isinstance(agent, Agent):
        return agent
    async with frame("Webhook logs", agent, sees_all_only=True):
        if not visibility.sees_all(agent):  # the raw webhooks hold every customer's messages
            sees_all_only_notice()
            return
        view = WebhookLogView({c.id: c for c in await channels.list_channels()})
        with ui.column().classes("w-full max-w-6xl mx-auto p-3 sm:p-6 gap-4"):
            view.summary()
            view.filters()
            with ui.card().classes("w-full p-0 gap-0 overflow-hidden"):
                view.table()
            ui.label(_retention_note(webhook_retention.kept_days())).classes("text-xs text-slate-500").mark("retention")
        view.detail = LogDetail(view)
        await view.reload()
        bus.webhook_logged.subscribe(view.on_logged)


def _retention_note(days: int) -> str:
    return (
        f"Processed and rejected webhooks are deleted {days} day{'s' if days != 1 else ''} after they finished "
        "(CHATHUB_WEBHOOK_LOG_DAYS); waiting and failed ones are kept until they are processed or replayed."
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


class WebhookLogView:
    """Filters, the failure count and one page of logs; cursors of the pages before are kept for "Newer"."""

    def __init__(self, channels_by_id: dict[int, Channel]) -> None:
        self.channels = channels_by_id
        self.status, self.channel, self.time_range = "all", ALL_CHANNELS, "all"
        self.cursors: list[str | None] = [None]  # the cursor of each page up to the shown one
        self.page: Page[WebhookLogOut] | None = None
        self.depths = {"webhooks_failed_24h": 0, "webhooks_waiting": 0}
        self.stale = False
        self.redraw_due = False
        self.detail: LogDetail | None = None
        self._generation = 0

    # ---- data ----

    async def reload(self) -> None:
        self._generation += 1
        generation = self._generation
        since = TIME_RANGES[self.time_range][1]
        page = await webhooks.list_webhook_logs(
            status=None if self.status == "all" else WebhookStatus(self.status),
            channel_id=None if self.channel == ALL_CHANNELS else self.channel,
            since=utcnow() - since if since else None,
            limit=PAGE_SIZE,
            cursor=self.cursors[-1],
        )
        depths = await webhooks.queue_depths()
        if generation != self._generation:
            return
        self.page, self.depths = page, depths
        self.summary.refresh()
        self.table.refresh()

    def on_logged(self, log: WebhookLogOut) -> None:
        """Bus subscriber: cheap on purpose (see the module docstring)."""
        if not self.redraw_due:
            self.redraw_due = True
            ui.timer(REDRAW_SECONDS, self.redraw_if_stale, once=True)
        self.stale = True
        if self.detail is not None:
            self.detail.on_logged(log)

    async def redraw_if_stale(self) -> None:
        self.redraw_due = False
        if self.detail is not None and self.detail.stale:
            await self.detail.reload()
        if not self.stale:
            return
        self.stale = False
        if len(self.cursors) == 1:  # the newest page follows along; older pages stay put while being read
            await self.reload()
        else:
            self.depths = await webhooks.queue_depths()
            self.summary.refresh()

    async def _filter(self, **changes: str | int) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.cursors = [None]
        if await session.may_read():
            await self.reload()

    async def _refresh(self) -> None:
        if await session.may_read():
            await self.reload()

    async def _turn_older(self) -> None:
        if self.page and self.page.next_cursor and await session.may_read():
            self.cursors.append(self.page.next_cursor)
            await self.reload()

    async def _turn_newer(self) -> None:
        if len(self.cursors) > 1 and await session.may_read():
            self.cursors.pop()
            await self.reload()

    def channel_label(self, log: WebhookLogOut) -> tuple[str | None, str]:
        channel = self.channels.get(log.channel_id) if log.channel_id is not None else None
        if channel is not None:
            return channel.type, channel.name
        if log.channel_id is not None:
            return None, f"Channel {log.channel_id}"
        return None, f"Unknown {log.channel_type or 'channel'}"

    # ---- building ----

    @ui.refreshable_method
    def summary(self) -> None:
        failed, waiting = self.depths["webhooks_failed_24h"], self.depths["webhooks_waiting"]
        with ui.element("div").classes("grid grid-cols-2 gap-3 w-full sm:max-w-xl"):
            with (
                ui.card()
                .classes("gap-1 p-4 cursor-pointer " + ("border-l-4 border-red-500" if failed else ""))
                .on("click", self._show_failures)
                .mark("failed-24h-card")
            ):
                with ui.row().classes("items-center gap-2"):
                    ui.icon("error" if failed else "check_circle", size="sm").classes(
                        "text-red-500" if failed else "text-green-600"
                    )
                    ui.label("Failed in the last 24 h").classes("text-sm text-slate-500")
                ui.label(str(failed)).classes("text-3xl font-bold " + ("text-red-600" if failed else "")).mark(
                    "failed-24h"
                )
            with ui.card().classes("gap-1 p-4"):
                with ui.row().classes("items-center gap-2"):
                    ui.icon("hourglass_top", size="sm").classes("text-slate-400")
                    ui.label("Waiting to be processed").classes("text-sm text-slate-500")
                ui.label(str(waiting)).classes("text-3xl font-bold").mark("waiting-count")

    def _show_failures(self) -> None:
        self.status_select.value, self.time_select.value = "failed", "24h"  # their handlers reload

    def filters(self) -> None:
        channel_options: dict[str | int, str] = {ALL_CHANNELS: "All channels"}
        channel_options.update({c.id: c.name for c in self.channels.values()})
        with ui.row().classes("w-full items-center gap-3"):
            self.status_select = (
                ui.select(STATUSES, value=self.status, label="Status", on_change=lambda e: self._filter(status=e.value))
                .props("outlined dense options-dense")
                .classes("w-36 sm:w-40 bg-[#fff] dark:bg-slate-800 rounded")
                .mark("filter-status")
            )
            ui.select(
                channel_options, value=self.channel, label="Channel", on_change=lambda e: self._filter(channel=e.value)
            ).props("outlined dense options-dense").classes("w-36 sm:w-44 bg-[#fff] dark:bg-slate-800 rounded").mark(
                "filter-channel"
            )
            self.time_select = (
                ui.select(
                    {k: label for k, (label, _) in TIME_RANGES.items()},
                    value=self.time_range,
                    label="Received",
                    on_change=lambda e: self._filter(time_range=e.value),
                )
                .props("outlined dense options-dense")
                .classes("w-36 sm:w-40 bg-[#fff] dark:bg-slate-800 rounded")
                .mark("filter-time")
            )
            ui.space()
            ui.button(icon="refresh", on_click=self._refresh).props("flat round").tooltip("Refresh").mark(
                "refresh-logs"
            )

    @ui.refreshable_method
    def table(self) -> None:
        if self.page is None:
            with ui.row().classes("w-full justify-center p-8"):
                ui.spinner(size="lg")
            return
        if not self.page.items:
            with ui.column().classes("w-full items-center gap-2 py-16 px-4 text-center"):
                ui.icon("webhook", size="xl").classes("text-slate-300")
                ui.label(
                    "No webhooks match these filters." if self._filtered() else "No webhooks received yet."
                ).classes("text-lg")
                ui.label("Every request a channel sends is logged here, accepted or not.").classes("text-slate-500")
            self._pager()
            return
        with ui.row().classes(
            "w-full items-center gap-3 px-4 py-2 flex-nowrap text-xs uppercase tracking-wide "
            "text-slate-500 border-b border-slate-200 dark:border-slate-700 max-sm:hidden"
        ):
            ui.label("Status").classes("w-24 shrink-0")
            ui.label("Channel").classes("w-40 shrink-0")
            ui.label("Result").classes("flex-1 min-w-0")
            ui.label("Received").classes("w-24 shrink-0 text-right")
        for log in self.page.items:
            self._row(log)
        self._pager()

    def _filtered(self) -> bool:
        return (self.status, self.channel, self.time_range) != ("all", ALL_CHANNELS, "all")

    def _row(self, log: WebhookLogOut) -> None:
        channel_type, channel_name = self.channel_label(log)
        with (
            ui.row()
            .classes(
                "w-full items-center gap-x-3 gap-y-1 px-4 py-3 cursor-pointer flex-wrap "
                "sm:flex-nowrap border-b border-slate-100 dark:border-slate-700 hover:bg-slate-50 "
                "dark:hover:bg-slate-700/50"
            )
            .props("tabindex=0 role=button")
            .on("click", lambda: self.detail.show(log.id))
            .on("keydown.enter", lambda: self.detail.show(log.id))
            .mark(f"log-{log.id}")
        ):
            with ui.row().classes("w-24 max-sm:w-auto shrink-0 items-center gap-1"):
                status_chip(log.status)
            with ui.row().classes(
                "w-40 max-sm:w-auto shrink-0 items-center gap-1 flex-nowrap min-w-0 max-sm:order-first"
            ):
                if channel_type is not None:
                    channel_icon(channel_type)
                ui.label(channel_name).classes("text-sm truncate")
            with ui.column().classes("flex-1 min-w-0 gap-0 max-sm:basis-full max-sm:order-last"):
                ui.label(_result_line(log)).classes(
                    "text-sm truncate max-w-full "
                    + ("text-red-600" if log.error else "text-slate-600 dark:text-slate-300")
                )
                ui.label(
                    f"#{log.id} · HTTP {log.http_status} · {log.attempts} attempt{'s' if log.attempts != 1 else ''}"
                ).classes("text-xs text-slate-500 font-mono")
            ui.label(relative_time(log.received_at)).classes(
                "w-24 max-sm:w-auto shrink-0 text-right text-xs text-slate-500 max-sm:order-1 max-sm:ml-auto"
            ).tooltip(local_time(log.received_at))

    def _pager(self) -> None:
        with ui.row().classes("w-full items-center gap-2 px-4 py-2 text-sm text-slate-500"):
            ui.label(f"Page {len(self.cursors)} · newest first").mark("logs-page")
            ui.space()
            ui.button("Newer", icon="chevron_left", on_click=self._turn_newer).props("flat dense no-caps").mark(
                "logs-newer"
            ).set_enabled(len(self.cursors) > 1)
            ui.button("Older", on_click=self._turn_older).props("flat dense no-caps icon-right=chevron_right").mark(
                "logs-older"
            ).set_enabled(bool(self.page and self.page.next_cursor))


def _result_line(log: WebhookLogOut) -> str:
    if log.error:
        return " ".join(log.error.split())[:300]
    return {
        WebhookStatus.processed: "Processed" + (f" · message #{log.message_id}" if log.message_id else ""),
        WebhookStatus.received: "Waiting to be processed",
        WebhookStatus.processing: "Processing",
    }.get(log.status, log.status.value.capitalize())


class LogDetail:
    """A side panel with everything about one log, and Replay for failed ones; follows the log live."""

    def __init__(self, view: WebhookLogView) -> None:
        self.view = view
        self.log: WebhookLogDetail | None = None
        self.conversation_id: int | None = None
        self.replayed = False
        self.stale = False
        with ui.dialog().props("position=right full-height") as self.dialog:
            self.card = (
                ui.card()
                .classes("w-[44rem] max-w-[100vw] h-full rounded-none gap-3 flex-nowrap overflow-y-auto")
                .mark("webhook-detail")
            )
        self.dialog.on_value_change(self._toggled)

    def on_logged(self, log: WebhookLogOut) -> None:
        if self.log is not None and log.id == self.log.id:
            self.stale = True

    async def show(self, log_id: int) -> None:
        if not await session.may_read():
            return
        self.replayed = False
        self.log = None
        await self._load(log_id)
        if self.log is not None:
            self.dialog.open()

    async def reload(self) -> None:
        self.stale = False
        if self.log is not None and self.dialog.value:
            await self._load(self.log.id)

    async def _load(self, log_id: int) -> None:
        try:
            log = await webhooks.get_webhook_log(log_id)
        except NotFound:
            ui.notify(f"Webhook #{log_id} no longer exists.", type="warning")
            return
        self.conversation_id = (
            await webhooks.conversation_id_of_message(message_id=log.message_id) if log.message_id else None
        )
        self.log = log
        self.card.clear()
        with self.card:
            self._build(log)

    def _toggled(self, event) -> None:
        if not event.value:  # closed: nothing of it stays on the page
            self.card.clear()
            self.log = None

    def _build(self, log: WebhookLogDetail) -> None:
        channel_type, channel_name = self.view.channel_label(log)
        with ui.row().classes("items-center gap-2 w-full flex-nowrap"):
            ui.label(f"Webhook #{log.id}").classes("text-lg font-semibold")
            status_chip(log.status).mark("detail-status")
            ui.space()
            ui.button(icon="close", on_click=self.dialog.close).props("flat round dense").mark("close-detail")
        if self.replayed:
            self._replay_outcome(log)
        if log.error:
            with ui.row().classes("w-full items-start gap-2 p-3 rounded bg-red-50 dark:bg-red-950 flex-nowrap"):
                ui.icon("error_outline").classes("text-red-600 shrink-0")
                ui.label(log.error).classes(
                    "text-sm text-red-700 dark:text-red-300 whitespace-pre-wrap break-all"
                ).mark("detail-error")
        with ui.element("div").classes("grid grid-cols-2 sm:grid-cols-3 gap-x-4 gap-y-2 w-full"):
            _fact("Channel", channel_name, icon_type=channel_type)
            _fact("HTTP status", str(log.http_status))
            _fact("Attempts", str(log.attempts), marker="detail-attempts")
            _fact("Received", local_time(log.received_at))
            _fact("Finished", local_time(log.processed_at))
        with ui.row().classes("items-center gap-3 w-full"):
            if self.conversation_id is not None:
                ui.link(f"Open conversation #{self.conversation_id}", f"/conversations/{self.conversation_id}").classes(
                    "text-primary"
                ).mark("detail-conversation")
            elif log.message_id:
                ui.label(f"Message #{log.message_id}").classes("text-sm text-slate-500")
            ui.space()
            if log.status == WebhookStatus.failed:
                ui.button("Replay", icon="replay", on_click=self._replay).props("unelevated no-caps").mark(
                    "replay-webhook"
                )
        _section("Headers")
        if log.headers:
            with (
                ui.element("div")
                .classes("grid grid-cols-[minmax(0,12rem)_minmax(0,1fr)] gap-x-3 gap-y-1 w-full text-xs font-mono")
                .mark("detail-headers")
            ):
                for name, value in sorted(log.headers.items()):
                    ui.label(str(name)).classes("text-slate-500 break-all")
                    ui.label(value if isinstance(value, str) else json.dumps(value)).classes("break-all")
        else:
            ui.label("No headers were kept.").classes("text-sm text-slate-500")
        body = webhooks.pretty_body(log.body)
        with ui.row().classes("items-center w-full"):
            _section(f"Body · {len(log.body)} characters")
            ui.space()
            ui.button(icon="content_copy", on_click=lambda: self._copy(log.body)).props(
                "flat round dense size=sm"
            ).tooltip("Copy the raw body")
        shown = body if len(body) <= SHOWN_BODY_CHARS else body[:SHOWN_BODY_CHARS] + "\n… (cut short here)"
        ui.label(shown or "(empty)").classes(
            "w-full text-xs font-mono whitespace-pre-wrap break-all p-3 rounded bg-slate-100 dark:bg-slate-900"
        ).mark("detail-body")

    def _replay_outcome(self, log: WebhookLogDetail) -> None:
        if log.status in (WebhookStatus.received, WebhookStatus.processing):
            colors, icon = "bg-blue-50 dark:bg-blue-950 text-blue-800 dark:text-blue-200", None
            text = f"Replaying… attempt {log.attempts + 1}" if log.attempts else "Replay queued…"
        elif log.status == WebhookStatus.processed:
            colors, icon, text = (
                "bg-green-50 dark:bg-green-950 text-green-800 dark:text-green-200",
                "check_circle",
                "Replay succeeded: the webhook was processed.",
            )
        else:
            colors, icon, text = (
                "bg-red-50 dark:bg-red-950 text-red-800 dark:text-red-200",
                "error",
                f"Replay failed again after {log.attempts} attempt{'s' if log.attempts != 1 else ''}.",
            )
        with ui.row().classes(f"w-full items-center gap-2 p-3 rounded {colors}"):
            if icon:
                ui.icon(icon)
            else:
                ui.spinner(size="sm")
            ui.label(text).classes("text-sm").mark("replay-outcome")

    async def _replay(self) -> None:
        if self.log is None or not await session.may_act():
            return
        try:
            await webhooks.replay_webhook(self.log.id)
        except ServiceError as error:
            ui.notify(_sentence(str(error)), type="negative")
            return
        self.replayed = True
        await self._load(self.log.id)

    def _copy(self, body: str) -> None:
        ui.clipboard.write(body)
        ui.notify("Body copied")


def _section(title: str) -> None:
    ui.label(title).classes("text-xs uppercase tracking-wide text-slate-500 font-semibold pt-2")


def _fact(label: str, value: str, *, icon_type: str | None = None, marker: str | None = None) -> None:
    with ui.column().classes("gap-0 min-w-0"):
        ui.label(label).classes("text-xs text-slate-500")
        with ui.row().classes("items-center gap-1 flex-nowrap min-w-0"):
            if icon_type is not None:
                channel_icon(icon_type)
            value_label = ui.label(value).classes("text-sm truncate")
            if marker:
                value_label.mark(marker)
