"""The inbox (`/` and `/conversations/{id}`): the conversation list, and on a wide screen the open thread beside it.

Opening a conversation swaps only the thread (NiceGUI's sub pages: the URL changes, back and forward swap the
thread again): the list keeps its filters, its loaded rows and its scroll position.
"""

from __future__ import annotations

import asyncio

from fastapi import Request
from nicegui import ui

from chathub.models import Agent
from chathub.pages import session
from chathub.pages.components.conversation_list import ConversationList
from chathub.pages.components.layout import frame
from chathub.pages.components.shortcuts import Shortcuts
from chathub.pages.components.thread import ThreadView, thread
from chathub.services import agents, conversations, visibility
from chathub.services.errors import NotFound

ON_PHONE_HIDDEN = "max-md:hidden"  # a phone shows the list or the thread, not both
# j/k leave the focus outside fields, so that more j/k follow; Alt+arrows come from typing, and keep the agent typing
MOVES = {"next": (1, False), "previous": (-1, False), "next-typing": (1, True), "previous-typing": (-1, True)}


async def page(request: Request):
    return await show(request, selected_id=None)


async def conversation_page(request: Request, conversation_id: int):
    """A direct load of a conversation: the inbox with this thread open (later ones swap in place)."""
    return await show(request, selected_id=conversation_id)


async def show(request: Request, *, selected_id: int | None):
    agent = await session.require_agent(request)
    if not isinstance(agent, Agent):
        return agent
    if selected_id is not None:  # a direct load reads it before the list and the total are drawn
        await _mark_read(agent, selected_id)
    await Inbox(agent, selected_id).build()


async def _mark_read(agent: Agent, conversation_id: int) -> None:
    try:
        await visibility.require_conversation(agent, conversation_id)
        await conversations.mark_read(conversation_id)
    except NotFound:
        pass


class Inbox:
    def __init__(self, agent: Agent, selected_id: int | None) -> None:
        self.agent = agent
        self.selected_id = selected_id
        self.thread: ThreadView | None = None
        self.quiet_open: int | None = None  # opened by j/k: the focus stays out of the reply box, for more j/k
        self.agent_names: dict[int, str] = {}
        self.first_thread_drawn = asyncio.Event()

    async def build(self) -> None:
        self.agent_names = {a.id: a.name for a in await agents.list_agents() if a.is_active}
        async with frame("Inbox", self.agent, full_height=True):
            with ui.row().classes("w-full h-full no-wrap gap-0"):
                self.list_pane = ui.column().classes(
                    "h-full gap-0 w-full md:w-96 shrink-0 border-r border-slate-200 "
                    "dark:border-slate-700 bg-[#fff] dark:bg-slate-800"
                )
                with self.list_pane:
                    self.list = ConversationList(self.agent, self.agent_names, self.selected_id)
                    await self.list.build()
                self.thread_pane = ui.column().classes("inbox-thread h-full grow min-w-0 gap-0")
                with self.thread_pane:
                    ui.sub_pages(
                        {"/": self._show_nothing, "/conversations/{conversation_id}": self._show_thread}, show_404=False
                    ).classes("w-full h-full")
            self._show_panes(self.selected_id)
            if self.selected_id is not None:  # a direct load comes with its thread drawn (sub pages draw it apart)
                await self.first_thread_drawn.wait()
            self.shortcuts = Shortcuts(self._on_shortcut)
        ui.context.client.on_delete(self._close_thread)

    # ---- the thread pane ----

    def _show_nothing(self) -> None:
        self._close_thread()
        self._select(None)
        with ui.column().classes("w-full h-full items-center justify-center text-slate-400 gap-2"):
            ui.icon("forum", size="xl")
            ui.label("Pick a conversation to read and reply.")

    async def _show_thread(self, conversation_id: str) -> None:
        try:
            await self._open(conversation_id)
        finally:
            self.first_thread_drawn.set()

    async def _open(self, conversation_id: str) -> None:
        self._close_thread()
        number = int(conversation_id) if conversation_id.isdecimal() else -1  # -1: no such conversation
        self._select(number)
        if not await session.may_read():  # signed out or deactivated since the tab opened: it leaves
            return
        await _mark_read(self.agent, number)
        self.thread = await thread(self.agent, number, self.agent_names)
        if self.thread is not None and self.quiet_open != number:
            self.thread.focus_reply()
        self.quiet_open = None

    def _close_thread(self) -> None:
        if self.thread is not None:
            self.thread.close()
            self.thread = None

    def _select(self, conversation_id: int | None) -> None:
        self.selected_id = conversation_id
        self.list.select(conversation_id)
        self._show_panes(conversation_id)

    def _show_panes(self, conversation_id: int | None) -> None:
        shown, hidden = (
            (self.thread_pane, self.list_pane) if conversation_id is not None else (self.list_pane, self.thread_pane)
        )
        shown.classes(remove=ON_PHONE_HIDDEN)
        hidden.classes(add=ON_PHONE_HIDDEN)

    # ---- the keyboard ----

    async def _on_shortcut(self, action: str) -> None:
        if action in MOVES:
            step, keep_typing = MOVES[action]
            self._move(step, quiet=not keep_typing)
        elif action == "search":
            self.list.focus_search()
        elif action == "help":
            self.shortcuts.show_help()
        elif self.thread is not None and action in ("reply", "note", "resolve", "snooze", "assign"):
            await self._on_thread_shortcut(action)

    async def _on_thread_shortcut(self, action: str) -> None:
        if action == "reply":
            self.thread.start_reply()
        elif action == "note":
            self.thread.start_note()
        elif action == "resolve":
            await self.thread.resolve()
        elif action == "snooze":
            self.thread.open_snooze()
        else:
            self.thread.open_assignment()

    def _move(self, step: int, *, quiet: bool) -> None:
        target = self.list.neighbour(step)
        if target is not None:
            self.quiet_open = target if quiet else None
            self._select(target)  # at once: a key pressed before the thread is drawn moves on from here
            ui.navigate.to(f"/conversations/{target}")
