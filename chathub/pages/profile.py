"""Profile (every agent): their own name, password, notifications and API tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from nicegui import ui

from chathub import bus
from chathub.models import Agent, AgentRole, ApiToken
from chathub.pages import session
from chathub.pages.components import widgets
from chathub.pages.components.layout import avatar, frame
from chathub.schemas import ApiTokenUsed
from chathub.services import agents
from chathub.services.errors import ServiceError

CONTENT = "w-full max-w-3xl mx-auto p-4 gap-4"
CARD = "w-full p-5 gap-3"
USED_TICK_SECONDS = 30.0

Refresh = Callable[[], Awaitable[None]]


async def page(request: Request):
    agent = await session.require_agent(request)
    if not isinstance(agent, Agent):
        return agent
    async with frame("Profile", agent):
        with ui.column().classes(CONTENT):
            _name_card(agent)
            _password_card(agent)
            _notifications_card(agent)
            await _tokens_card(agent)


def _card_title(title: str, subtitle: str) -> None:
    with ui.column().classes("gap-0"):
        ui.label(title).classes("text-lg font-semibold")
        ui.label(subtitle).classes("text-sm text-slate-500")


def _error_label(marker: str) -> ui.label:
    label = ui.label().classes("text-negative text-sm").mark(marker)
    label.visible = False
    return label


def _show(label: ui.label, text: str) -> None:
    label.set_text(text)
    label.visible = True


def _name_card(agent: Agent) -> None:
    with ui.card().props("flat bordered").classes(CARD):
        with ui.row().classes("items-center gap-4 no-wrap w-full"):
            avatar(agent.name, size="lg")
            with ui.column().classes("gap-0 min-w-0"):
                ui.label(agent.email).classes("text-slate-500 truncate")
                ui.badge(
                    "Admin" if agent.role == AgentRole.admin else "Agent",
                    color="primary" if agent.role == AgentRole.admin else "grey",
                ).props("outline")
        with ui.row().classes("items-start gap-2 w-full no-wrap"):
            name = ui.input("Your name", value=agent.name).props("outlined").classes("grow").mark("profile-name")
            save = ui.button("Save").props("no-caps unelevated").classes("mt-2").mark("save-name")
        error = _error_label("name-error")

        async def save_name() -> None:
            error.visible = False
            if not await session.may_act():
                return
            try:
                await agents.update_agent(agent.id, name=name.value or "")
            except ServiceError as problem:
                _show(error, widgets.sentence(str(problem)))
                return
            ui.notify("Your name was saved", type="positive")

        save.on_click(save_name)
        name.on("keydown.enter", save_name)


# In the click itself: browsers ask for permission only in answer to what the user does.
ASK_PERMISSION_JS = (
    "() => { if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission(); }"
)


def _notifications_card(agent: Agent) -> None:
    with ui.card().props("flat bordered").classes(CARD):
        _card_title("Notifications", "The bell in the header counts mentions, assignments and customers' replies.")

        async def changed(event) -> None:
            if not await session.may_act():
                return
            await agents.set_browser_notifications(agent.id, event.value)
            ui.notify("Browser notifications are on" if event.value else "Browser notifications are off")

        ui.switch(
            "Also show them as browser notifications while ChatHub is in the background",
            value=agent.browser_notifications,
            on_change=changed,
        ).mark("browser-notifications").on("click", js_handler=ASK_PERMISSION_JS)


def _password_card(agent: Agent) -> None:
    with ui.card().props("flat bordered").classes(CARD):
        _card_title("Password", "At least 8 characters, mixing letters with digits, capitals or symbols.")
        current = (
            ui.input("Current password", password=True)
            .props("outlined autocomplete=current-password")
            .classes("w-full")
            .mark("current-password")
        )
        with ui.element("div").classes("w-full grid grid-cols-1 sm:grid-cols-2 gap-3"):
            new = (
                ui.input("New password", password=True, password_toggle_button=True)
                .props("outlined autocomplete=new-password")
                .mark("new-password")
            )
            repeat = (
                ui.input("Repeat the new password", password=True)
                .props("outlined autocomplete=new-password")
                .mark("repeat-password")
            )
        error = _error_label("password-error")

        async def change() -> None:
            error.visible = False
            if (new.value or "") != (repeat.value or ""):
                _show(error, "The two new passwords differ.")
                return
            if not await session.may_act():
                return
            try:
                await agents.change_own_password(
                    agent.id, current=current.value or "", new=new.value or "", keep=session.session_token()
                )
            except ServiceError as problem:
                _show(error, widgets.sentence(str(problem)))
                return
            for field in (current, new, repeat):
                field.value = ""
            ui.notify("Your password was changed; your other sessions and API tokens were ended", type="positive")

        with ui.row().classes("w-full justify-end"):
            ui.button("Change password", on_click=change).props("no-caps unelevated").mark("change-password")


async def _tokens_card(agent: Agent) -> None:
    shown = TokenTimes()

    @ui.refreshable
    async def token_list() -> None:
        shown.clear()
        tokens = await agents.list_api_tokens(agent.id)
        if not tokens:
            ui.label("No tokens yet.").classes("text-sm text-slate-500 py-2")
        for token in tokens:
            shown.add(token, _token_row(agent, token, token_list.refresh))

    with ui.card().props("flat bordered").classes(CARD):
        _card_title(
            "API tokens",
            "For scripts and integrations: send one as the Bearer token of REST API "
            "requests. Each acts as you; revoke the ones you no longer use.",
        )
        with ui.row().classes("items-start gap-2 w-full no-wrap"):
            name = (
                ui.input("Token name", placeholder="e.g. CRM sync").props("outlined").classes("grow").mark("token-name")
            )
            create = (
                ui.button("Create token", icon="key").props("no-caps unelevated").classes("mt-2").mark("create-token")
            )
        error = _error_label("token-error")
        with ui.column().classes("w-full gap-0"):
            await token_list()

    async def create_token() -> None:
        error.visible = False
        if not await session.may_act():
            return
        try:
            token = await agents.create_api_token(agent_id=agent.id, name=name.value or "")
        except ServiceError as problem:
            _show(error, widgets.sentence(str(problem)))
            return
        token_name = (name.value or "").strip()
        name.value = ""
        _show_new_token(token_name, token)
        await token_list.refresh()

    create.on_click(create_token)
    name.on("keydown.enter", create_token)
    bus.api_token_used.subscribe(lambda used: shown.used(used) if used.agent_id == agent.id else None)
    ui.timer(USED_TICK_SECONDS, shown.tick)


class TokenTimes:
    """The "last used" line of each listed token, kept current: a use stored by the API shows at once, and
    the relative time moves on as minutes pass, without reading the tokens again."""

    def __init__(self) -> None:
        self._rows: dict[int, tuple[ui.label, ApiToken]] = {}

    def clear(self) -> None:
        self._rows.clear()

    def add(self, token: ApiToken, label: ui.label) -> None:
        self._rows[token.id] = (label, token)

    def used(self, event: ApiTokenUsed) -> None:
        if event.token_id in self._rows:
            label, token = self._rows[event.token_id]
            token.last_used_at = event.last_used_at
            label.set_text(_dates(token))

    def tick(self) -> None:
        for label, token in self._rows.values():
            label.set_text(_dates(token))


def _token_row(agent: Agent, token: ApiToken, refresh: Refresh) -> ui.label:
    """The token's row; returns the label saying when it was created and last used."""
    with (
        ui.row()
        .classes("w-full items-center gap-3 no-wrap py-2 border-t border-slate-100 dark:border-slate-700")
        .mark(f"token-{token.id}")
    ):
        ui.icon("key").classes("text-slate-400")
        with ui.column().classes("gap-0 grow min-w-0"):
            ui.label(token.name).classes("font-medium truncate w-full")
            dates = ui.label(_dates(token)).classes("text-xs text-slate-500").mark(f"token-used-{token.id}")
        ui.button("Revoke", on_click=lambda: _confirm_revoke(agent, token, refresh)).props(
            "flat no-caps color=negative"
        ).mark(f"revoke-token-{token.id}")
    return dates


def _dates(token: ApiToken) -> str:
    used = _ago(token.last_used_at) if token.last_used_at else "never used"
    return f"Created {widgets.local_time(token.created_at, '%d %b %Y')} · {used}"


def _ago(moment) -> str:
    relative = widgets.relative_time(moment)
    if relative == "now":
        return "last used just now"
    if relative.split()[-1] in ("min", "h", "d"):
        return f"last used {relative} ago"
    return f"last used on {relative}"


def _show_new_token(name: str, token: str) -> None:
    dialog = widgets.disposable_dialog().props("persistent")
    with dialog, ui.card().classes("w-full max-w-lg p-6 gap-3"):
        ui.label("Your new token").classes("text-lg font-semibold")
        ui.label(name).classes("text-slate-500 truncate w-full")
        with ui.row().classes("w-full items-center gap-2 no-wrap"):
            ui.input(value=token).props("outlined readonly dense").classes("grow font-mono").mark("new-token")
            widgets.copy_button(token, what="Token").mark("copy-token")
        with ui.row().classes("items-center gap-2 no-wrap text-orange-700 dark:text-orange-300"):
            ui.icon("warning")
            ui.label("Copy it now: it will not be shown again. Only a fingerprint of it is stored.").classes("text-sm")
        with ui.row().classes("w-full justify-end"):
            ui.button("Done", on_click=dialog.close).props("no-caps unelevated").mark("token-done")
    dialog.open()


def _confirm_revoke(agent: Agent, token: ApiToken, refresh: Refresh) -> None:
    dialog = widgets.disposable_dialog()
    with dialog, ui.card().classes("w-full max-w-md p-6 gap-3"):
        ui.label("Revoke this token?").classes("text-lg font-semibold")
        ui.label(token.name).classes("font-medium truncate w-full")
        ui.label("Anything that uses it is refused from now on. This cannot be undone.").classes(
            "text-sm text-slate-500"
        )

        async def revoke() -> None:
            if not await session.may_act():
                return
            try:
                await agents.revoke_api_token(agent.id, token.id)
            except ServiceError as problem:
                ui.notify(widgets.sentence(str(problem)), type="negative")
            else:
                ui.notify("Token revoked", type="positive")
            dialog.close()
            await refresh()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Revoke", on_click=revoke).props("no-caps unelevated color=negative").mark("confirm-revoke")
    dialog.open()
