"""The inbox's conversation list: filters, search, and keyset-paged loading (never everything)."""
from __future__ import annotations

from typing import Any

from nicegui import app, ui

from chathub.models import Agent, ConversationStatus
from chathub.pages.layout import avatar
from chathub.pages.widgets import channel_icon, relative_time, status_chip
from chathub.schemas import ConversationOut
from chathub.services import channels, conversations

PAGE_SIZE = 30
DEFAULT_FILTERS = {"status": "open", "channel_id": None, "unread": False, "assigned": "all", "q": ""}
STATUS_OPTIONS = {"open": "Open", "pending": "Pending", "snoozed": "Snoozed", "resolved": "Resolved", "all": "All"}
ASSIGNED_OPTIONS = {"all": "Everyone's", "mine": "Assigned to me", "unassigned": "Unassigned"}


def saved_filters() -> dict[str, Any]:
    return {**DEFAULT_FILTERS, **app.storage.user.get("inbox_filters", {})}


class ConversationList:
    def __init__(self, agent: Agent, agent_names: dict[int, str], selected_id: int | None) -> None:
        self.agent = agent
        self.agent_names = agent_names
        self.selected_id = selected_id
        self.filters = saved_filters()
        self.cursor: str | None = None
        self.items: ui.column
        self.more_button: ui.button

    async def build(self) -> None:
        channel_options = {None: "All channels", **{c.id: c.name for c in await channels.list_channels()}}
        with ui.column().classes("w-full gap-2 p-3 border-b border-slate-200 dark:border-slate-700"):
            ui.input(placeholder="Search name, phone or message", value=self.filters["q"],
                     on_change=lambda e: self._set("q", e.value)).props("outlined dense clearable debounce=300") \
                .classes("w-full").mark("inbox-search")
            with ui.row().classes("w-full gap-2 no-wrap"):
                ui.select(STATUS_OPTIONS, value=self.filters["status"], on_change=lambda e: self._set("status", e.value)) \
                    .props("dense outlined options-dense").classes("w-1/3").mark("filter-status")
                ui.select(channel_options, value=self.filters["channel_id"],
                          on_change=lambda e: self._set("channel_id", e.value)) \
                    .props("dense outlined options-dense").classes("w-1/3").mark("filter-channel")
                ui.select(ASSIGNED_OPTIONS, value=self.filters["assigned"],
                          on_change=lambda e: self._set("assigned", e.value)) \
                    .props("dense outlined options-dense").classes("w-1/3").mark("filter-assigned")
            ui.switch("Unread only", value=self.filters["unread"], on_change=lambda e: self._set("unread", e.value)) \
                .props("dense").classes("text-sm").mark("filter-unread")
        with ui.scroll_area().classes("w-full grow"):
            self.items = ui.column().classes("w-full gap-0")
            with ui.row().classes("w-full justify-center py-2"):
                self.more_button = ui.button("Load more", on_click=self.load_more).props("flat no-caps") \
                    .mark("load-more-conversations")
        await self.reload()

    async def _set(self, key: str, value: Any) -> None:
        self.filters[key] = value if value is not None or key == "channel_id" else DEFAULT_FILTERS[key]
        app.storage.user["inbox_filters"] = self.filters
        await self.reload()

    async def reload(self) -> None:
        self.items.clear()
        self.cursor = None
        await self.load_more()

    async def load_more(self) -> None:
        page = await conversations.list_conversations(**self._query(), limit=PAGE_SIZE, cursor=self.cursor)
        with self.items:
            if not page.items and self.cursor is None:
                self._empty_state()
            for conversation in page.items:
                self.row(conversation)
        self.cursor = page.next_cursor
        self.more_button.visible = page.next_cursor is not None

    def _query(self) -> dict[str, Any]:
        f = self.filters
        return {"status": None if f["status"] == "all" else ConversationStatus(f["status"]),
                "channel_id": f["channel_id"], "unread": f["unread"] or None, "q": f["q"] or None,
                "assignee_id": self.agent.id if f["assigned"] == "mine" else None,
                "unassigned": f["assigned"] == "unassigned"}

    def _empty_state(self) -> None:
        with ui.column().classes("w-full items-center py-12 text-slate-500 gap-1"):
            ui.icon("inbox", size="lg")
            ui.label("No conversations here.")

    def row(self, conversation: ConversationOut) -> ui.link:
        selected = conversation.id == self.selected_id
        background = "bg-indigo-50 dark:bg-slate-700" if selected else "hover:bg-slate-100 dark:hover:bg-slate-800"
        with ui.link(target=f"/conversations/{conversation.id}") \
                .classes(f"no-underline text-inherit w-full {background}") \
                .mark(f"conversation-{conversation.id}") as link:
            with ui.row().classes("w-full items-start gap-3 px-3 py-3 no-wrap border-b "
                                  "border-slate-100 dark:border-slate-800"):
                avatar(conversation.customer.name)
                with ui.column().classes("grow min-w-0 gap-0"):
                    with ui.row().classes("w-full items-center gap-1 no-wrap"):
                        weight = "font-semibold" if conversation.unread_count else "font-medium"
                        ui.label(conversation.customer.name).classes(f"{weight} truncate")
                        channel_icon(conversation.channel.type)
                        ui.space()
                        ui.label(relative_time(conversation.last_message_at)).classes("text-xs text-slate-500 shrink-0")
                    with ui.row().classes("w-full items-center gap-1 no-wrap"):
                        ui.label(conversation.last_message_preview).classes("text-sm text-slate-500 truncate grow")
                        if conversation.unread_count:
                            ui.badge(str(conversation.unread_count)).props("rounded").classes("unread-badge")
                    with ui.row().classes("items-center gap-2 mt-1"):
                        if self.filters["status"] == "all":
                            status_chip(conversation.status)
                        if conversation.assignee_id:
                            ui.label(f"→ {self.agent_names.get(conversation.assignee_id, 'someone')}") \
                                .classes("text-xs text-slate-500")
        return link
