"""A conversation's labels and priority as the inbox rows and the thread header show them.

Label names are drawn as text. A label's colour reaches the page only as a `#rrggbb` checked here again (the
service stores nothing else), in a style attribute, with black or white text, whichever reads better on it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from nicegui import ui

from chathub.models import Priority
from chathub.schemas import ConversationOut, LabelOut

FALLBACK_COLOR = "#64748b"
# icon colour (Tailwind) and name, by level; no priority shows nothing
PRIORITY_LOOKS = {
    Priority.urgent: "text-red-600",
    Priority.high: "text-orange-500",
    Priority.medium: "text-amber-500",
    Priority.low: "text-sky-500",
}
PRIORITY_OPTIONS = {
    Priority.none: "No priority",
    Priority.low: "Low",
    Priority.medium: "Medium",
    Priority.high: "High",
    Priority.urgent: "Urgent",
}


def safe_color(color: str | None) -> str:
    return color if color and re.fullmatch(r"#[0-9a-fA-F]{6}", color) else FALLBACK_COLOR


def chip_style(color: str | None) -> str:
    color = safe_color(color)
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    text = "#000" if red * 0.299 + green * 0.587 + blue * 0.114 > 150 else "#fff"
    return f"background:{color};color:{text}"


def colors_by_name(labels: list[LabelOut]) -> dict[str, str]:
    """Label colours by case-folded name: conversations carry names only."""
    return {label.name.casefold(): label.color for label in labels}


def marker_of(name: str) -> str:
    """A label name as part of an element's marker (markers are split on spaces)."""
    return "-".join(name.casefold().split())


def priority_title(priority: Priority) -> str:
    return f"Priority: {priority.value}" if priority != Priority.none else ""


def label_chip(name: str, color: str | None, on_remove: Callable[[], Awaitable[None]] | None = None) -> ui.element:
    with (
        ui.element("span")
        .classes("label-chip inline-flex items-center gap-0.5 rounded-full px-2 text-xs leading-5 max-w-[10rem]")
        .style(chip_style(color))
        .mark(f"label-chip-{marker_of(name)}") as chip
    ):
        ui.label(name).classes("truncate min-w-0")
        if on_remove is not None:
            ui.button(icon="close", on_click=on_remove).props("flat round dense size=8px color=inherit").classes(
                "-mr-1"
            ).tooltip(f"Remove {name}").mark(f"remove-label-{marker_of(name)}")
    return chip


def priority_icon(priority: Priority) -> ui.icon | None:
    if priority == Priority.none:
        return None
    return (
        ui.icon("flag", size="18px")
        .classes(f"priority-icon shrink-0 {PRIORITY_LOOKS[priority]}")
        .props(f'aria-label="{priority_title(priority)}" role=img')
        .tooltip(priority_title(priority))
    )


def header_tags(
    conversation: ConversationOut,
    choices: list[LabelOut],
    *,
    on_priority: Callable[[Priority], Awaitable[None]],
    on_add: Callable[[str], Awaitable[None]],
    on_remove: Callable[[str], Awaitable[None]],
) -> None:
    """The thread's priority select, its label chips (each removable) and a menu of the labels to add."""
    colors = colors_by_name(choices)
    priority_icon(conversation.priority)
    ui.select(PRIORITY_OPTIONS, value=conversation.priority, on_change=lambda e: on_priority(e.value)).props(
        "dense borderless options-dense"
    ).classes("shrink-0 text-sm").mark("priority")
    for name in conversation.labels:
        label_chip(name, colors.get(name.casefold()), on_remove=lambda name=name: on_remove(name))
    _label_menu(choices, {name.casefold() for name in conversation.labels}, on_add)


def _label_menu(choices: list[LabelOut], on_it: set[str], on_add: Callable[[str], Awaitable[None]]) -> None:
    with ui.button(icon="new_label").props("flat round dense").tooltip("Add a label").mark("add-label"):
        with ui.menu().mark("label-menu"):
            for label in choices:
                if label.name.casefold() in on_it:
                    continue
                item = ui.menu_item(on_click=lambda name=label.name: on_add(name))
                with item.mark(f"add-label-{marker_of(label.name)}"), ui.row().classes("items-center gap-2 no-wrap"):
                    ui.element("span").classes("w-3 h-3 rounded-full shrink-0").style(chip_style(label.color))
                    ui.label(label.name)
            if not choices:
                ui.menu_item("No labels yet: admins add them on the Labels page").props("disable")
            elif len(on_it) >= len(choices):
                ui.menu_item("Every label is on this conversation").props("disable")
