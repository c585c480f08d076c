"""The frame every signed-in page shares: navigation, unread total, the agent, dark mode."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from nicegui import app, ui

from chathub.models import Agent, AgentRole
from chathub.pages import session
from chathub.services import conversations

NAVIGATION = [
    ("Inbox", "/", "inbox", False),
    ("Customers", "/customers", "people", False),
    ("Webhook logs", "/webhooks", "webhook", False),
    ("Simulator", "/simulator", "smartphone", False),
    ("Channels", "/channels", "hub", True),
    ("Agents", "/agents", "support_agent", True),
]
BRAND = "#4f46e5"


def initials(name: str) -> str:
    parts = [p for p in name.replace("+", " ").split() if p]
    letters = "".join(p[0] for p in parts[:2]).upper()
    return letters or "?"


def avatar(name: str, size: str = "md") -> ui.avatar:
    """Initials on a colour derived from the name. The initials go in as text: Quasar would read the
    avatar's icon argument as an icon name or an "img:" URL, which a customer's name must never become."""
    hue = sum(map(ord, name)) % 360
    with ui.avatar(color=None, text_color="white", size=size) \
            .style(f"background: hsl({hue} 55% 45%)") as element:
        ui.label(initials(name)).classes("font-semibold leading-none")
    return element


@asynccontextmanager
async def frame(title: str, agent: Agent, *, full_height: bool = False) -> AsyncIterator[None]:
    """`async with frame("Inbox", agent): ...` builds the shared frame and yields inside its body."""
    unread_total = await conversations.unread_conversation_count()
    ui.colors(primary=BRAND)
    ui.page_title(f"({unread_total}) ChatHub" if unread_total else "ChatHub")
    dark = ui.dark_mode(app.storage.user.get("dark_mode", False))
    ui.query("body").classes("bg-slate-50 dark:bg-slate-900")
    with ui.left_drawer(bordered=True).classes("bg-white dark:bg-slate-800 p-0").props("width=220") as drawer:
        _navigation(agent, unread_total)
    with ui.header(elevated=False).classes("bg-white dark:bg-slate-800 text-slate-800 dark:text-slate-100 "
                                           "border-b border-slate-200 dark:border-slate-700 items-center px-3 py-2"):
        ui.button(icon="menu", on_click=drawer.toggle).props("flat round dense").classes("lg:hidden")
        ui.label(title).classes("text-lg font-semibold")
        ui.space()
        ui.button(icon="dark_mode", on_click=lambda: _toggle_dark(dark)).props("flat round dense") \
            .tooltip("Dark mode")
        _agent_menu(agent)
    if full_height:  # the inbox fills the window below the header; its panes scroll on their own
        ui.query(".nicegui-content").classes("p-0")
    classes = "w-full p-0 gap-0" + (" h-[calc(100vh-57px)] overflow-hidden" if full_height else "")
    with ui.column().classes(classes):
        yield


def _navigation(agent: Agent, unread_total: int | None) -> None:
    with ui.row().classes("items-center gap-2 px-4 py-4"):
        ui.icon("forum", size="sm").classes("text-primary")
        ui.label("ChatHub").classes("text-xl font-bold")
    for label, path, icon, admin_only in NAVIGATION:
        if admin_only and agent.role != AgentRole.admin:
            continue
        with ui.link(target=path).classes("no-underline text-inherit w-full"):
            with ui.row().classes("items-center gap-3 px-4 py-2 w-full hover:bg-slate-100 "
                                  "dark:hover:bg-slate-700 rounded-none"):
                ui.icon(icon).classes("text-slate-500")
                ui.label(label)
                if path == "/" and unread_total:
                    ui.space()
                    ui.badge(str(unread_total)).props("rounded").classes("unread-total")


def _agent_menu(agent: Agent) -> None:
    with ui.button().props("flat round dense no-caps"):
        avatar(agent.name, size="sm")
        with ui.menu():
            with ui.column().classes("px-4 py-2 gap-0"):
                ui.label(agent.name).classes("font-medium")
                ui.label(agent.email).classes("text-xs text-slate-500")
            ui.separator()
            ui.menu_item("Profile and API tokens", lambda: ui.navigate.to("/profile"))
            ui.menu_item("Sign out", _sign_out)


def _sign_out() -> None:
    session.forget()
    ui.navigate.to("/signin")


def _toggle_dark(dark: ui.dark_mode) -> None:
    dark.toggle()
    app.storage.user["dark_mode"] = dark.value


def admin_only_notice() -> None:
    with ui.column().classes("items-center w-full mt-16 gap-2"):
        ui.icon("lock", size="xl").classes("text-slate-400")
        ui.label("Only admins can open this page.").classes("text-lg")
        ui.link("Back to the inbox", "/")
