"""Snoozing a conversation: a few usual moments, or a date and time the agent picks, in the agent's zone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from nicegui import ui

from chathub.pages.components.agent_zone import from_agent_clock, local
from chathub.pages.components.widgets import clock_time, disposable_dialog

PICKER_FORMAT = "%Y-%m-%dT%H:%M"  # what a datetime-local input holds


def snooze_presets(now: datetime) -> list[tuple[str, str, datetime]]:
    """(marker key, label, moment): soon, later today, tomorrow morning, next Monday morning (at 09:00 on the
    agent's clock)."""
    today = local(now)

    def nine_am(days_ahead: int) -> datetime:
        day = today.date() + timedelta(days=days_ahead)
        return from_agent_clock(datetime(day.year, day.month, day.day, 9))

    return [
        ("1h", "In 1 hour", now + timedelta(hours=1)),
        ("3h", "In 3 hours", now + timedelta(hours=3)),
        ("tomorrow", "Tomorrow morning", nine_am(1)),
        ("next-week", "Next week", nine_am(7 - today.weekday())),
    ]


def picked_moment(value: str | None, now: datetime) -> datetime | str:
    """The picker's date and time (on the agent's clock) as a moment, or why it cannot be one."""
    try:
        moment = from_agent_clock(datetime.strptime((value or "").strip(), PICKER_FORMAT))
    except ValueError:
        return "Pick a date and a time."
    return moment if moment > now else "Pick a time in the future."


class SnoozeDialog:
    def __init__(self, snooze: Callable[[datetime], Awaitable[bool]]) -> None:
        self.snooze = snooze
        now = datetime.now(UTC)
        self.dialog = disposable_dialog()
        with self.dialog, ui.card().classes("w-80 max-w-full gap-1").mark("snooze-dialog"):
            ui.label("Snooze until").classes("text-lg font-semibold")
            for key, label, moment in snooze_presets(now):
                ui.button(f"{label} · {clock_time(moment, now)}", on_click=lambda m=moment: self._choose(m)).props(
                    "flat no-caps align=left"
                ).classes("w-full").mark(f"snooze-{key}")
            ui.separator()
            self.picker = (
                ui.input("Or pick a date and time", value=local(snooze_presets(now)[2][2]).strftime(PICKER_FORMAT))
                .props("type=datetime-local outlined dense stack-label")
                .classes("w-full")
                .mark("snooze-at")
            )
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button("Snooze", on_click=self._choose_picked).props("unelevated").mark("snooze-custom")

    def open(self) -> None:
        self.dialog.open()

    async def _choose_picked(self) -> None:
        moment = picked_moment(self.picker.value, datetime.now(UTC))
        if isinstance(moment, str):
            self.picker.error = moment
            return
        await self._choose(moment)

    async def _choose(self, moment: datetime) -> None:
        if await self.snooze(moment.astimezone(UTC)):
            self.dialog.close()
