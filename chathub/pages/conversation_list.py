"""The inbox's conversation list: filters, search, and keyset-paged loading (never everything)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from nicegui import app, ui

from chathub import bus
from chathub.models import Agent, ConversationStatus
from chathub.pages.layout import avatar
from chathub.pages.widgets import CONVERSATION_STATUS_COLORS, channel_icon, relative_time, status_chip
from chathub.schemas import ConversationOut
from chathub.services import channels, conversations
from chathub.services.paging import encode_cursor

log = logging.getLogger(__name__)

PAGE_SIZE = 30
LIVE_BATCH_SECONDS = 0.2  # live changes reach an open inbox list at most this late, applied together
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
        self.window = PAGE_SIZE  # rows kept: what was loaded; newer conversations push the oldest out
        self.items: ui.column
        self.more_button: ui.button
        self.shown: dict[int, ConversationRow] = {}
        self.pending: dict[int, ConversationOut] = {}  # live changes not drawn yet (see on_conversation_updated)
        self.apply_scheduled = False

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
            self.items = ui.column().classes("w-full gap-0").mark("conversation-list")
            with ui.row().classes("w-full justify-center py-2"):
                self.more_button = ui.button("Load more", on_click=self.load_more).props("flat no-caps") \
                    .mark("load-more-conversations")
        await self.reload()
        bus.conversation_updated.subscribe(self.on_conversation_updated)

    async def _set(self, key: str, value: Any) -> None:
        self.filters[key] = value if value is not None or key == "channel_id" else DEFAULT_FILTERS[key]
        app.storage.user["inbox_filters"] = self.filters
        await self.reload()

    async def reload(self) -> None:
        self.items.clear()
        self.shown.clear()
        self.pending.clear()  # the reload reads them fresh
        self.cursor = None
        await self.load_more()

    async def load_more(self) -> None:
        page = await conversations.list_conversations(**self._query(), limit=PAGE_SIZE, cursor=self.cursor)
        with self.items:
            if not page.items and self.cursor is None:
                self._empty_state()
            for conversation in page.items:
                self.shown[conversation.id] = ConversationRow(conversation, self)
        self.cursor = page.next_cursor
        self.more_button.visible = page.next_cursor is not None
        self.window = max(PAGE_SIZE, len(self.shown))

    def _query(self) -> dict[str, Any]:
        f = self.filters
        return {"status": None if f["status"] == "all" else ConversationStatus(f["status"]),
                "channel_id": f["channel_id"], "unread": f["unread"] or None, "q": f["q"] or None,
                "assignee_id": self.agent.id if f["assigned"] == "mine" else None,
                "unassigned": f["assigned"] == "unassigned"}

    def matches(self, conversation: ConversationOut) -> bool:
        """Whether the tab's filters let this conversation in (the list's live twin of `_query`)."""
        f = self.filters
        q = (f["q"] or "").strip().lower()
        return ((f["status"] == "all" or conversation.status.value == f["status"])
                and (f["channel_id"] is None or conversation.channel.id == f["channel_id"])
                and (not f["unread"] or conversation.unread_count > 0)
                and (f["assigned"] != "mine" or conversation.assignee_id == self.agent.id)
                and (f["assigned"] != "unassigned" or conversation.assignee_id is None)
                and (not q or q in conversation.customer.name.lower() or q in conversation.last_message_preview.lower()))

    def on_conversation_updated(self, conversation: ConversationOut) -> None:
        """Every open inbox hears every change, inside the worker that announced it: only note the newest
        version of the conversation here, and apply the noted ones together a moment later. A customer's burst
        of messages then moves their row once, and ingest does not wait for every tab to redraw."""
        self.pending[conversation.id] = conversation
        if not self.apply_scheduled:
            self.apply_scheduled = True
            asyncio.get_running_loop().call_later(LIVE_BATCH_SECONDS, self._apply_pending)

    def _apply_pending(self) -> None:
        self.apply_scheduled = False
        pending, self.pending = self.pending, {}
        if self.items.is_deleted:
            return
        try:
            for conversation in sorted(pending.values(), key=lambda c: (c.last_message_at, c.id)):
                self._apply(conversation)
        except Exception:  # a callback of the event loop: say what failed rather than lose it
            log.exception("the inbox list could not apply a live update")

    def _apply(self, conversation: ConversationOut) -> None:
        """Update, move, insert or drop one row in place: newest activity stays on top. Rows are updated,
        not rebuilt, since every open inbox runs this for every change."""
        row = self.shown.get(conversation.id)
        if not self.matches(conversation):
            if row is not None:
                self.shown.pop(conversation.id).link.delete()
            return
        newer = sum(1 for other in self.shown.values() if other.conversation.id != conversation.id
                    and other.sort_key > (conversation.last_message_at, conversation.id))
        if row is None:
            if newer == len(self.shown) and self.cursor is not None:
                return  # older than everything loaded: it comes with "Load more"
            if not self.shown:
                self.items.clear()  # the empty state
            with self.items:
                row = self.shown[conversation.id] = ConversationRow(conversation, self)
        else:
            row.update(conversation)
        if self.items.default_slot.children.index(row.link) != newer:
            row.link.move(target_index=newer)
        self._trim()

    def _trim(self) -> None:
        """The oldest rows beyond the window go (they come back with "Load more"): an inbox left open keeps
        the rows it loaded, not one for every conversation that wrote since. Under load every open list
        drew a row per new customer and held it: memory and the cost of each update grew without end."""
        while len(self.shown) > self.window:
            oldest = min(self.shown.values(), key=lambda row: row.sort_key)
            self.shown.pop(oldest.conversation.id).link.delete()
            last = min(self.shown.values(), key=lambda row: row.sort_key).conversation
            self.cursor = encode_cursor(last.last_message_at.isoformat(), last.id)  # as list_conversations does
            self.more_button.visible = True

    def _empty_state(self) -> None:
        with ui.column().classes("w-full items-center py-12 text-slate-500 gap-1"):
            ui.icon("inbox", size="lg")
            ui.label("No conversations here.")


class ConversationRow:
    """One inbox row; `update` changes only what differs."""

    def __init__(self, conversation: ConversationOut, owner: ConversationList) -> None:
        self.owner = owner
        self.conversation = conversation
        selected = conversation.id == owner.selected_id
        background = "bg-indigo-50 dark:bg-slate-700" if selected else "hover:bg-slate-100 dark:hover:bg-slate-800"
        with ui.link(target=f"/conversations/{conversation.id}") \
                .classes(f"no-underline text-inherit w-full {background}") \
                .mark(f"conversation-{conversation.id}") as self.link:
            with ui.row().classes("w-full items-start gap-3 px-3 py-3 no-wrap border-b "
                                  "border-slate-100 dark:border-slate-800"):
                avatar(conversation.customer.name)
                with ui.column().classes("grow min-w-0 gap-0"):
                    with ui.row().classes("w-full items-center gap-1 no-wrap"):
                        self.name = ui.label(conversation.customer.name).classes("truncate")
                        channel_icon(conversation.channel.type)
                        ui.space()
                        self.time = ui.label().classes("text-xs text-slate-500 shrink-0")
                    with ui.row().classes("w-full items-center gap-1 no-wrap"):
                        self.preview = ui.label().classes("text-sm text-slate-500 truncate grow")
                        self.unread = ui.badge().props("rounded").classes("unread-badge")
                    with ui.row().classes("items-center gap-2 mt-1"):
                        self.status = status_chip(conversation.status)
                        self.assignee = ui.label().classes("text-xs text-slate-500")
        self._show(conversation)

    @property
    def sort_key(self) -> tuple:
        return self.conversation.last_message_at, self.conversation.id

    def update(self, conversation: ConversationOut) -> None:
        self.conversation = conversation
        self._show(conversation)

    def _show(self, conversation: ConversationOut) -> None:
        unread = conversation.unread_count
        self.name.classes(replace="truncate " + ("font-semibold" if unread else "font-medium"))
        self.time.set_text(relative_time(conversation.last_message_at))
        self.preview.set_text(conversation.last_message_preview)
        self.unread.set_text(str(unread))
        self.unread.visible = unread > 0
        self.status.set_text(conversation.status.value)
        self.status.props(f"color={CONVERSATION_STATUS_COLORS[conversation.status]}")
        self.status.visible = self.owner.filters["status"] == "all"
        names = self.owner.agent_names
        self.assignee.set_text(f"→ {names.get(conversation.assignee_id, 'someone')}" if conversation.assignee_id else "")
        self.assignee.visible = conversation.assignee_id is not None
