"""Labels (admin only): the names, colours and descriptions agents pick from to tag conversations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from nicegui import ui
from pydantic import ValidationError

from chathub import bus
from chathub.models import Agent
from chathub.pages import session
from chathub.pages.components import widgets
from chathub.pages.components.conversation_tags import FALLBACK_COLOR, label_chip
from chathub.pages.components.layout import admin_only_notice, frame
from chathub.schemas import LabelIn, LabelOut, LabelPatch
from chathub.services import agents, labels
from chathub.services.errors import ServiceError

CONTENT = "w-full max-w-4xl mx-auto p-4 gap-4"

Refresh = Callable[[], Awaitable[None]]


async def page(request: Request):
    agent = await session.require_agent(request)
    if not isinstance(agent, Agent):
        return agent
    async with frame("Labels", agent, admin_only=True):
        if not agents.is_admin(agent):
            admin_only_notice()
            return

        @ui.refreshable
        async def label_list() -> None:
            found = await labels.list_labels()
            for label in found:
                _label_row(label, label_list.refresh)
            if not found:
                ui.label("No labels yet. Add one, and agents can put it on conversations.").classes(
                    "px-4 py-6 text-slate-500"
                )

        with ui.column().classes(CONTENT):
            with ui.row().classes("w-full items-center gap-3"):
                with ui.column().classes("gap-0 grow min-w-[12rem]"):
                    ui.label("Labels").classes("text-xl font-semibold")
                    ui.label("Agents tag conversations with these, and filter the inbox by them.").classes(
                        "text-sm text-slate-500"
                    )
                ui.button("Add label", icon="new_label", on_click=lambda: _open_form(None, label_list.refresh)).props(
                    "no-caps unelevated"
                ).mark("add-label-button")
            with ui.card().props("flat bordered").classes("w-full p-0 gap-0"):
                await label_list()

        async def on_label_changed(_: int) -> None:  # another admin's change, or this one's in another tab
            await label_list.refresh()

        bus.label_changed.subscribe(on_label_changed)


def _label_row(label: LabelOut, refresh: Refresh) -> None:
    with (
        ui.row()
        .classes("w-full items-center gap-3 px-4 py-3 no-wrap border-b border-slate-100 dark:border-slate-700")
        .mark(f"label-{label.id}")
    ):
        with ui.column().classes("gap-1 grow min-w-0"):
            label_chip(label.name, label.color)
            if label.description:
                ui.label(label.description).classes("text-sm text-slate-500 break-words")
        ui.button(icon="edit", on_click=lambda: _open_form(label, refresh)).props("flat round dense").tooltip(
            "Edit"
        ).mark(f"edit-label-{label.id}")
        ui.button(icon="delete", on_click=lambda: _confirm_delete(label, refresh)).props(
            "flat round dense color=negative"
        ).tooltip("Delete").mark(f"delete-label-{label.id}")


def _open_form(label: LabelOut | None, refresh: Refresh) -> None:
    """Add a label (`label` None) or edit one."""
    dialog = widgets.disposable_dialog()
    with dialog, ui.card().classes("w-full max-w-md p-6 gap-3"):
        ui.label(f"Edit {label.name}" if label else "Add a label").classes("text-lg font-semibold")
        name = (
            ui.input("Name", value=label.name if label else "")
            .props("outlined autofocus maxlength=50")
            .classes("w-full")
            .mark("label-name")
        )
        color = (
            ui.color_input("Colour", value=label.color if label else FALLBACK_COLOR, preview=True)
            .props("outlined")
            .classes("w-full")
            .mark("label-color")
        )
        description = (
            ui.textarea("Description (optional)", value=label.description if label else "")
            .props("outlined autogrow maxlength=500")
            .classes("w-full")
            .mark("label-description")
        )
        error = ui.label().classes("text-negative text-sm").mark("label-error")
        error.visible = False

        async def save() -> None:
            if not await session.may_act(admin=True):
                return
            values = {"name": name.value or "", "color": color.value or "", "description": description.value or ""}
            try:
                if label is None:
                    saved = await labels.create_label(LabelIn(**values))
                else:
                    saved = await labels.update_label(label.id, LabelPatch(**values))
            except ValidationError as problem:
                _show(error, _sentences(problem))
                return
            except ServiceError as problem:
                _show(error, widgets.sentence(str(problem)))
                return
            ui.notify(f"Label {saved.name} saved", type="positive")
            await refresh()
            dialog.close()  # last: the closed dialog is deleted, and with it the slot this handler speaks from

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Save", on_click=save).props("no-caps unelevated").mark("save-label")
    dialog.open()


def _confirm_delete(label: LabelOut, refresh: Refresh) -> None:
    dialog = widgets.disposable_dialog()
    with dialog, ui.card().classes("w-full max-w-md p-6 gap-3"):
        ui.label(f"Delete {label.name}?").classes("text-lg font-semibold")
        ui.label("It is taken off every conversation that has it.").classes("text-sm text-slate-500")

        async def delete() -> None:
            if not await session.may_act(admin=True):
                return
            try:
                await labels.delete_label(label.id)
            except ServiceError as problem:
                ui.notify(widgets.sentence(str(problem)), type="negative")
            else:
                ui.notify(f"Label {label.name} deleted", type="positive")
            await refresh()
            dialog.close()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Delete", on_click=delete).props("no-caps unelevated color=negative").mark("confirm-delete-label")
    dialog.open()


def _sentences(problem: ValidationError) -> str:
    return " ".join(widgets.sentence(error["msg"].removeprefix("Value error, ")) for error in problem.errors())


def _show(label: ui.label, text: str) -> None:
    label.set_text(text)
    label.visible = True
