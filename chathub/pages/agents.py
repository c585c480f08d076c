"""Agents (admin only): the team, their roles, who may sign in, and password resets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from nicegui import ui

from chathub.models import Agent, AgentRole, Visibility
from chathub.pages import session
from chathub.pages.components import widgets
from chathub.pages.components.layout import admin_only_notice, avatar, frame
from chathub.schemas import AgentIn
from chathub.services import agents
from chathub.services.errors import ServiceError

CONTENT = "w-full max-w-4xl mx-auto p-4 gap-4"
ROLE_LABELS = {AgentRole.agent: "Agent", AgentRole.admin: "Admin"}
ROLE_DUTIES = {AgentRole.agent: "answers conversations", AgentRole.admin: "also manages channels and agents"}
SEES_LABELS = {Visibility.all: "Sees all conversations", Visibility.mine_and_unassigned: "Sees own and unassigned"}
SEES_ACTIONS = {
    Visibility.all: "Let them see all conversations",
    Visibility.mine_and_unassigned: "Limit to own and unassigned conversations",
}

Refresh = Callable[[], Awaitable[None]]


async def page(request: Request):
    agent = await session.require_agent(request)
    if not isinstance(agent, Agent):
        return agent
    async with frame("Agents", agent, admin_only=True):
        if not agents.is_admin(agent):
            admin_only_notice()
            return

        @ui.refreshable
        async def agent_list() -> None:
            for member in await agents.list_agents():
                _agent_row(member, me=agent, refresh=agent_list.refresh)

        with ui.column().classes(CONTENT):
            with ui.row().classes("w-full items-center gap-3"):
                with ui.column().classes("gap-0 grow min-w-[12rem]"):
                    ui.label("Team").classes("text-xl font-semibold")
                    ui.label("Agents answer conversations; admins also manage channels and the team.").classes(
                        "text-sm text-slate-500"
                    )
                ui.button("Add agent", icon="person_add", on_click=lambda: _open_create(agent_list.refresh)).props(
                    "no-caps unelevated"
                ).mark("add-agent")
            with ui.card().props("flat bordered").classes("w-full p-0 gap-0"):
                await agent_list()


def _agent_row(member: Agent, *, me: Agent, refresh: Refresh) -> None:
    dimmed = "" if member.is_active else " opacity-60"
    with (
        ui.row()
        .classes("w-full items-center gap-3 px-4 py-3 no-wrap border-b border-slate-100 dark:border-slate-700" + dimmed)
        .mark(f"agent-{member.id}")
    ):
        avatar(member.name)
        with ui.column().classes("gap-0 grow min-w-0"):
            with ui.row().classes("items-center gap-2 no-wrap"):
                widgets.presence_dot(member.id)
                ui.label(member.name).classes("font-medium truncate")
                if member.id == me.id:
                    ui.badge("You", color="grey").props("outline")
            ui.label(member.email).classes("text-sm text-slate-500 truncate")
            if member.role != AgentRole.admin and member.sees == Visibility.mine_and_unassigned:
                ui.label(SEES_LABELS[member.sees]).classes("text-xs text-slate-500 sm:hidden")
        with ui.row().classes("items-center gap-2 justify-end"):
            _sees_control(member, refresh)
            ui.badge(ROLE_LABELS[member.role], color="primary" if member.role == AgentRole.admin else "grey").props(
                "outline"
            ).mark(f"role-{member.id}")
            if member.is_active:
                ui.badge("Active", color="green").props("outline")
            else:
                ui.badge("Deactivated", color="red").props("outline")
        with ui.button(icon="more_vert").props("flat round dense").mark(f"agent-actions-{member.id}"):
            with ui.menu():
                other_role = AgentRole.agent if member.role == AgentRole.admin else AgentRole.admin
                ui.menu_item(
                    f"Make {ROLE_LABELS[other_role].lower()}", lambda: _change(member, me, refresh, role=other_role)
                ).mark(f"make-{other_role.value}-{member.id}")
                _sees_menu_item(member, refresh)
                ui.menu_item("Reset password", lambda: _open_reset_password(member)).mark(f"reset-password-{member.id}")
                if member.is_active:
                    ui.menu_item("Deactivate", lambda: _change(member, me, refresh, is_active=False)).classes(
                        "text-negative"
                    ).mark(f"deactivate-{member.id}")
                else:
                    ui.menu_item("Reactivate", lambda: _change(member, me, refresh, is_active=True)).mark(
                        f"reactivate-{member.id}"
                    )


def _sees_control(member: Agent, refresh: Refresh) -> None:
    """Which conversations an agent sees (admins always see all): a picker beside the role on a wide screen, an
    item of the row's menu (`_sees_menu_item`) and a line under the email on a phone."""
    if member.role == AgentRole.admin:
        ui.label(SEES_LABELS[Visibility.all]).classes("text-xs text-slate-500 max-sm:hidden").mark(f"sees-{member.id}")
        return
    ui.select(
        dict(SEES_LABELS), value=member.sees, on_change=lambda e: _change_sees(member, Visibility(e.value), refresh)
    ).props("dense outlined options-dense").classes("w-56 max-sm:hidden").mark(f"sees-{member.id}")


def _sees_menu_item(member: Agent, refresh: Refresh) -> None:
    if member.role == AgentRole.admin:
        return
    other = Visibility.all if member.sees == Visibility.mine_and_unassigned else Visibility.mine_and_unassigned
    ui.menu_item(SEES_ACTIONS[other], lambda: _change_sees(member, other, refresh)).mark(
        f"make-sees-{other.value}-{member.id}"
    )


async def _change_sees(member: Agent, sees: Visibility, refresh: Refresh) -> None:
    if sees == member.sees or not await session.may_act(admin=True):
        return
    try:
        changed = await agents.update_agent(member.id, sees=sees)
    except ServiceError as problem:
        ui.notify(widgets.sentence(str(problem)), type="negative")
        return
    ui.notify(f"{changed.name}: {SEES_LABELS[changed.sees].lower()}", type="positive")
    await refresh()


async def _change(
    member: Agent, me: Agent, refresh: Refresh, *, role: AgentRole | None = None, is_active: bool | None = None
) -> None:
    if not await session.may_act(admin=True):
        return
    try:
        changed = await agents.update_agent(member.id, role=role, is_active=is_active)
    except ServiceError as problem:
        ui.notify(widgets.sentence(str(problem)), type="negative")
        return
    if role is not None:
        ui.notify(
            f"{changed.name} is now {'an admin' if changed.role == AgentRole.admin else 'an agent'}", type="positive"
        )
    else:
        ui.notify(
            f"{changed.name} {'can sign in again' if changed.is_active else 'can no longer sign in'}", type="positive"
        )
    if member.id == me.id:  # an admin who demoted or deactivated themselves: the page no longer applies
        ui.navigate.to("/agents")
        return
    await refresh()


def _open_create(refresh: Refresh) -> None:
    dialog = widgets.disposable_dialog()
    with dialog, ui.card().classes("w-full max-w-md p-6 gap-3"):
        ui.label("Add an agent").classes("text-lg font-semibold")
        name = ui.input("Name").props("outlined autofocus").classes("w-full").mark("new-agent-name")
        email = ui.input("Email").props("outlined type=email").classes("w-full").mark("new-agent-email")
        password = (
            ui.input("Password", password=True, password_toggle_button=True)
            .props("outlined hint='At least 8 characters; share it with them, they can change it later.'")
            .classes("w-full")
            .mark("new-agent-password")
        )
        role = (
            ui.select(
                {r.value: f"{ROLE_LABELS[r]} · {ROLE_DUTIES[r]}" for r in AgentRole},
                label="Role",
                value=AgentRole.agent.value,
            )
            .props("outlined")
            .classes("w-full")
            .mark("new-agent-role")
        )
        error = ui.label().classes("text-negative text-sm").mark("agent-error")
        error.visible = False

        async def create() -> None:
            if not await session.may_act(admin=True):
                return
            try:
                created = await agents.create_agent(
                    AgentIn(
                        name=name.value or "",
                        email=email.value or "",
                        password=password.value or "",
                        role=AgentRole(role.value),
                    )
                )
            except ServiceError as problem:
                _show(error, widgets.sentence(str(problem)))
                return
            ui.notify(f"{created.name} can now sign in as {created.email}", type="positive")
            await refresh()
            dialog.close()  # last: the closed dialog is deleted, and with it the slot this handler speaks from

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Add agent", on_click=create).props("no-caps unelevated").mark("save-agent")
    dialog.open()


def _open_reset_password(member: Agent) -> None:
    dialog = widgets.disposable_dialog()
    with dialog, ui.card().classes("w-full max-w-md p-6 gap-3"):
        ui.label(f"New password for {member.name}").classes("text-lg font-semibold")
        ui.label("Their current password, API tokens and signed-in browsers stop working at once.").classes(
            "text-sm text-slate-500"
        )
        password = (
            ui.input("New password", password=True, password_toggle_button=True)
            .props("outlined")
            .classes("w-full")
            .mark("reset-password")
        )
        repeat = (
            ui.input("Repeat the new password", password=True)
            .props("outlined")
            .classes("w-full")
            .mark("reset-password-repeat")
        )
        error = ui.label().classes("text-negative text-sm").mark("reset-error")
        error.visible = False

        async def reset() -> None:
            if not await session.may_act(admin=True):
                return
            if (password.value or "") != (repeat.value or ""):
                _show(error, "The two passwords differ.")
                return
            try:
                await agents.update_agent(member.id, password=password.value or "", keep=session.session_token())
            except ServiceError as problem:
                _show(error, widgets.sentence(str(problem)))
                return
            ui.notify(f"{member.name}'s password was changed", type="positive")
            dialog.close()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Set password", on_click=reset).props("no-caps unelevated").mark("save-password")
    dialog.open()


def _show(label: ui.label, text: str) -> None:
    label.set_text(text)
    label.visible = True
