"""The inbox (`/`): the conversation list, and on a wide screen the open thread beside it."""
from __future__ import annotations

from fastapi import Request
from nicegui import ui

from chathub.models import Agent
from chathub.pages import session
from chathub.pages.conversation import thread
from chathub.pages.conversation_list import ConversationList
from chathub.pages.layout import frame
from chathub.services import agents, conversations
from chathub.services.errors import NotFound


async def page(request: Request):
    agent = await session.require_agent(request)
    if not isinstance(agent, Agent):
        return agent
    await inbox_view(agent, selected_id=None)


async def inbox_view(agent: Agent, *, selected_id: int | None) -> None:
    agent_names = {a.id: a.name for a in await agents.list_agents() if a.is_active}
    if selected_id is not None:  # opening a conversation reads it, before the list and the total are drawn
        try:
            await conversations.mark_read(selected_id)
        except NotFound:
            pass
    async with frame("Inbox", agent, full_height=True):
        with ui.row().classes("w-full h-full no-wrap gap-0"):
            list_classes = "h-full gap-0 w-full md:w-96 shrink-0 border-r border-slate-200 dark:border-slate-700 " \
                           "bg-[#fff] dark:bg-slate-800"
            with ui.column().classes(list_classes + (" max-md:hidden" if selected_id else "")):
                await ConversationList(agent, agent_names, selected_id).build()
            with ui.column().classes("h-full grow min-w-0 gap-0" + ("" if selected_id else " max-md:hidden")):
                if selected_id is None:
                    _nothing_selected()
                else:
                    await thread(agent, selected_id, agent_names)


def _nothing_selected() -> None:
    with ui.column().classes("w-full h-full items-center justify-center text-slate-400 gap-2"):
        ui.icon("forum", size="xl")
        ui.label("Pick a conversation to read and reply.")
