"""Canned replies: the team's (admins add, edit and delete them; agents read them) and the agent's own, searched;
live in every open tab. What they say is agents' text, shown as text."""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from chathub import bus
from chathub.models import Agent, CannedResponse, CannedScope
from chathub.pages import session
from chathub.pages.components import widgets
from chathub.pages.components.layout import frame
from chathub.schemas import CannedResponseIn, CannedResponsePatch, CannedResponsesChanged
from chathub.services import agents, canned_responses
from chathub.services.errors import ServiceError

CONTENT = "w-full max-w-4xl mx-auto p-3 sm:p-4 gap-4"
VARIABLES = "{{customer.name}}, {{customer.first_name}}, {{agent.name}}"
SECTIONS = {CannedScope.team: "Team replies", CannedScope.personal: "Your replies"}
EMPTY = {
    CannedScope.team: "No team replies yet.",
    CannedScope.personal: "No replies of your own yet: add one only you will see.",
}


async def page(request: Request):
    agent = await session.require_agent(request)
    if not isinstance(agent, Agent):
        return agent
    async with frame("Canned replies", agent):
        await CannedReplies(agent).build()


class CannedReplies:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.admin = agents.is_admin(agent)
        self.q = ""

    async def build(self) -> None:
        with ui.column().classes(CONTENT):
            with ui.row().classes("w-full items-center gap-3"):
                with ui.column().classes("gap-0 grow min-w-[12rem]"):
                    ui.label("Canned replies").classes("text-xl font-semibold")
                    hint = f"Type / and a short code in the reply box to insert one. It may use {VARIABLES}."
                    ui.label(hint).classes("text-sm text-slate-500")
                ui.button("Add reply", icon="add", on_click=lambda: self._open_editor(None)).props(
                    "no-caps unelevated"
                ).mark("add-canned")
            ui.input(placeholder="Search short code or text", on_change=self._search).props(
                "outlined dense clearable"
            ).classes("w-full").mark("canned-search")
            await self.replies()
        bus.canned_responses_changed.subscribe(self._on_changed)

    @ui.refreshable_method
    async def replies(self) -> None:
        rows = await canned_responses.list_canned_responses(self.agent, q=self.q)
        for scope in (CannedScope.team, CannedScope.personal):
            ui.label(SECTIONS[scope]).classes("text-sm font-semibold text-slate-500 uppercase mt-2")
            mine = [row for row in rows if row.scope == scope]
            with ui.card().props("flat bordered").classes("w-full p-0 gap-0").mark(f"canned-{scope.value}"):
                for row in mine:
                    self._row(row)
                if not mine:
                    ui.label("Nothing matches the search." if self.q else EMPTY[scope]).classes(
                        "px-4 py-3 text-sm text-slate-500"
                    )

    def _row(self, row: CannedResponse) -> None:
        with (
            ui.row()
            .classes("w-full items-start gap-3 px-4 py-3 no-wrap border-b border-slate-100 dark:border-slate-700")
            .mark(f"canned-row-{row.id}")
        ):
            with ui.column().classes("gap-1 grow min-w-0"):
                ui.label(f"/{row.short_code}").classes("font-mono text-sm text-indigo-700 dark:text-indigo-300")
                ui.label(row.content).classes("text-sm whitespace-pre-wrap break-words line-clamp-4")
            if self._may_change(row):
                ui.button(icon="edit", on_click=lambda r=row: self._open_editor(r)).props("flat round dense").tooltip(
                    "Edit"
                ).mark(f"edit-canned-{row.id}")
                ui.button(icon="delete", on_click=lambda r=row: self._confirm_delete(r)).props(
                    "flat round dense color=negative"
                ).tooltip("Delete").mark(f"delete-canned-{row.id}")

    def _may_change(self, row: CannedResponse) -> bool:
        return row.owner_id == self.agent.id if row.scope == CannedScope.personal else self.admin

    async def _search(self, event) -> None:
        self.q = (event.value or "").strip()[:200]
        await self.replies.refresh()

    async def _on_changed(self, change: CannedResponsesChanged) -> None:
        if change.owner_id in (None, self.agent.id):
            await self.replies.refresh()

    # ---- dialogs ----

    def _open_editor(self, row: CannedResponse | None) -> None:
        dialog = widgets.disposable_dialog()
        with dialog, ui.card().classes("w-full max-w-lg p-6 gap-3"):
            title = "Add a canned reply" if row is None else f"Edit /{row.short_code}"
            ui.label(title).classes("text-lg font-semibold")
            code = (
                ui.input("Short code", value=row.short_code if row else "")
                .props("outlined autofocus prefix=/ hint='Letters, digits, - and _; typed after / in the reply box.'")
                .classes("w-full")
                .mark("canned-code")
            )
            content = (
                ui.textarea("Reply", value=row.content if row else "")
                .props(f"outlined autogrow maxlength={canned_responses.MAX_CONTENT} hint='It may use {VARIABLES}.'")
                .classes("w-full")
                .mark("canned-content")
            )
            scope = self._scope_choice() if row is None else None
            error = ui.label().classes("text-negative text-sm").mark("canned-error")

            async def save() -> None:
                if not await session.may_act():
                    return
                try:
                    await self._save(row, code.value or "", content.value or "", scope.value if scope else None)
                except ServiceError as problem:
                    error.set_text(widgets.sentence(str(problem)))
                    return
                ui.notify(f"/{(code.value or '').strip().lower()} saved", type="positive")
                dialog.close()  # last: the closed dialog is deleted, and with it the slot this handler speaks from

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
                ui.button("Save", on_click=save).props("no-caps unelevated").mark("save-canned")
        dialog.open()

    def _scope_choice(self) -> ui.select | None:
        if not self.admin:
            ui.label("Only you will see it; admins add the team's replies.").classes("text-sm text-slate-500")
            return None
        return (
            ui.select(
                {CannedScope.team.value: "Team: every agent can use it", CannedScope.personal.value: "Only me"},
                label="Who can use it",
                value=CannedScope.team.value,
            )
            .props("outlined")
            .classes("w-full")
            .mark("canned-scope")
        )

    async def _save(self, row: CannedResponse | None, code: str, content: str, scope: str | None) -> None:
        if row is not None:
            patch = CannedResponsePatch(short_code=code, content=content)
            await canned_responses.update_canned_response(self.agent, row.id, patch)
            return
        data = CannedResponseIn(short_code=code, content=content, scope=CannedScope(scope or CannedScope.personal))
        await canned_responses.create_canned_response(self.agent, data)

    def _confirm_delete(self, row: CannedResponse) -> None:
        dialog = widgets.disposable_dialog()
        with dialog, ui.card().classes("w-full max-w-md p-6 gap-3"):
            ui.label(f"Delete /{row.short_code}?").classes("text-lg font-semibold")
            ui.label("It can no longer be inserted. Replies already sent stay as they are.").classes(
                "text-sm text-slate-500"
            )

            async def delete() -> None:
                if not await session.may_act():
                    return
                try:
                    await canned_responses.delete_canned_response(self.agent, row.id)
                except ServiceError as problem:
                    ui.notify(widgets.sentence(str(problem)), type="negative")
                dialog.close()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
                ui.button("Delete", on_click=delete).props("no-caps unelevated color=negative").mark("confirm-delete")
        dialog.open()
