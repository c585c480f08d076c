"""Sign-in, and the first-run page that creates the admin when no agent exists yet."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from chathub.pages import session
from chathub.pages.components.layout import BRAND
from chathub.services import agents
from chathub.services.errors import ServiceError
from chathub.services.throttle import TooManyAttempts, sign_in


def _card(title: str, subtitle: str) -> ui.card:
    ui.colors(primary=BRAND)
    ui.query("body").classes("bg-slate-100 dark:bg-slate-900")
    with ui.column().classes("w-full items-center mt-[10vh] px-4"):
        with ui.row().classes("items-center gap-2 mb-4"):
            ui.icon("forum", size="md").classes("text-indigo-600")
            ui.label("ChatHub").classes("text-2xl font-bold")
        card = ui.card().classes("w-full max-w-sm p-6 gap-3")
        with card:
            ui.label(title).classes("text-lg font-semibold")
            ui.label(subtitle).classes("text-sm text-slate-500")
    return card


async def signin_page(request: Request, next: str | None = None, ended: str | None = None):
    """`ended` names why a tab was sent here (see `session.Refusal`)."""
    if await agents.agent_count() == 0:
        return RedirectResponse("/setup")
    if await session.signed_in_agent() is not None:
        return RedirectResponse(session.safe_next(next))
    ui.page_title("Sign in · ChatHub")

    async def try_sign_in() -> None:
        try:
            client_ip = request.client.host if request.client else None
            agent = await sign_in(email.value or "", password.value or "", client_ip)
        except TooManyAttempts as refused:
            agent, problem = None, _sentence(str(refused))
        else:
            problem = "Wrong email or password."
        if agent is None:
            password.value = ""  # typed again, not resubmitted with Enter
            error.set_text(problem)
            error.visible = True
            return
        session.complete_sign_in(agent, next)

    with _card("Sign in", "Answer every channel from one inbox."):
        if (refusal := session.ENDED.get(ended or "")) is not None:
            ui.label(refusal.for_sign_in()).classes("text-sm text-amber-800 dark:text-amber-300").mark("ended")
        email = ui.input("Email").props("outlined autofocus type=email").classes("w-full")
        password = ui.input("Password", password=True).props("outlined").classes("w-full")
        password.on("keydown.enter", try_sign_in)
        error = ui.label().classes("text-negative text-sm")
        error.visible = False
        ui.button("Sign in", on_click=try_sign_in).classes("w-full").mark("sign-in")


async def setup_page():
    if await agents.agent_count() > 0:
        return RedirectResponse("/signin")
    ui.page_title("Welcome · ChatHub")

    async def create_admin() -> None:
        if password.value != repeat.value:
            error.set_text("The two passwords differ.")
            error.visible = True
            return
        try:
            agent = await agents.create_first_admin(
                email=email.value or "", name=name.value or "", password=password.value or ""
            )
        except ServiceError as problem:
            error.set_text(_sentence(str(problem)))
            error.visible = True
            return
        session.complete_sign_in(agent, "/")

    with _card("Create the admin", "ChatHub has no agents yet. The first one manages channels and agents."):
        name = ui.input("Your name").props("outlined autofocus").classes("w-full")
        email = ui.input("Email").props("outlined type=email").classes("w-full")
        password = ui.input("Password", password=True).props("outlined").classes("w-full")
        repeat = ui.input("Repeat the password", password=True).props("outlined").classes("w-full")
        error = ui.label().classes("text-negative text-sm")
        error.visible = False
        ui.button("Create admin and sign in", on_click=create_admin).classes("w-full").mark("create-admin")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
