"""The inbox's conversation list: filters, search, and keyset-paged loading (never everything)."""

from __future__ import annotations

import logging
from typing import Any

from nicegui import app, ui

from chathub import bus
from chathub.models import Agent, ConversationStatus, Priority
from chathub.pages import session
from chathub.pages.components.conversation_rows import ConversationRows
from chathub.pages.components.conversation_tags import PRIORITY_OPTIONS, colors_by_name
from chathub.pages.components.live_pace import LivePace
from chathub.schemas import AccessChanged, ConversationOut
from chathub.services import channels, conversations, labels, visibility
from chathub.services.conversations import PRIORITY_RANK, ConversationSort

log = logging.getLogger(__name__)

PAGE_SIZE = 30
DEFAULT_FILTERS = {
    "status": "open",
    "channel_id": None,
    "unread": False,
    "assigned": "all",
    "label": None,
    "priority": None,
    "sort": "activity",
    "q": "",
}
NULLABLE_FILTERS = {"channel_id", "label", "priority"}  # None: any
STATUS_OPTIONS = {"open": "Open", "pending": "Pending", "snoozed": "Snoozed", "resolved": "Resolved", "all": "All"}
ASSIGNED_OPTIONS = {"all": "Everyone's", "mine": "Assigned to me", "unassigned": "Unassigned"}
PRIORITY_FILTER_OPTIONS = {None: "Any priority", **{p.value: text for p, text in PRIORITY_OPTIONS.items()}}
SORT_OPTIONS = {"activity": "Newest first", "priority": "Priority first"}


def saved_filters() -> dict[str, Any]:
    return {**DEFAULT_FILTERS, **app.storage.user.get("inbox_filters", {})}


class ConversationList:
    def __init__(self, agent: Agent, agent_names: dict[int, str], selected_id: int | None) -> None:
        self.agent = agent
        self.agent_names = agent_names
        self.selected_id = selected_id
        self.selected_index: int | None = None  # where the selected row was last drawn (it may leave the list)
        self.filters = saved_filters()
        self.cursor: str | None = None
        self.window = PAGE_SIZE  # rows kept: what was loaded; newer conversations push the oldest out
        self.rows: ConversationRows
        self.empty_state: ui.column
        self.more_button: ui.button
        self.label_colors: dict[str, str] = {}
        self.label_filter: ui.select
        self.shown: dict[int, ConversationOut] = {}
        self.pending: dict[int, ConversationOut] = {}  # live changes not drawn yet (see on_conversation_updated)
        # In a background browser tab the list waits: drawn when the agent looks again, or read afresh when
        # more changed meanwhile than it shows.
        self.hidden = False
        self.stale = False
        self.pace = LivePace(self._apply_pending)
        ui.context.client.on_delete(self.pace.stop)

    async def build(self) -> None:
        channel_options = {None: "All channels", **{c.id: c.name for c in await channels.list_channels()}}
        with ui.column().classes("w-full gap-2 p-3 border-b border-slate-200 dark:border-slate-700"):
            self.search = (
                ui.input(
                    placeholder="Search name, phone or message",
                    value=self.filters["q"],
                    on_change=lambda e: self._set("q", e.value),
                )
                .props("outlined dense clearable debounce=300")
                .classes("w-full")
                .mark("inbox-search")
            )
            # Each filter is as wide as its label and they wrap onto a second line before one is cut short.
            with ui.row().classes("w-full gap-2 items-center"):
                for options, key in (
                    (STATUS_OPTIONS, "status"),
                    (channel_options, "channel_id"),
                    (ASSIGNED_OPTIONS, "assigned"),
                    (PRIORITY_FILTER_OPTIONS, "priority"),
                    (SORT_OPTIONS, "sort"),
                ):
                    self._filter(options, key)
                self.label_filter = self._filter(await self._label_options(), "label")
                ui.switch(
                    "Unread only", value=self.filters["unread"], on_change=lambda e: self._set("unread", e.value)
                ).props("dense").classes("text-sm shrink-0").mark("filter-unread")
        # the content is exactly as wide as the list, so a long row truncates rather than scrolling sideways
        with (
            ui.scroll_area()
            .classes("w-full grow")
            .props('content-style="width: 100%" content-active-style="width: 100%"')
        ):
            self.rows = ConversationRows(self.selected_id).classes("w-full").mark("conversation-list")
            self.empty_state = _empty_state()
            with ui.row().classes("w-full justify-center py-2"):
                self.more_button = (
                    ui.button("Load more", on_click=self._more).props("flat no-caps").mark("load-more-conversations")
                )
        await self.reload()
        bus.conversation_updated.subscribe(self.on_conversation_updated)
        bus.resynced.subscribe(self.reload)  # changes on other instances were missed: read the list again
        bus.access_changed.subscribe(self._on_access_changed)
        bus.label_changed.subscribe(self._on_label_changed)
        ui.on("chathub_visibility", self._on_visibility)  # sent by the page frame (layout.VISIBILITY_JS)

    def _filter(self, options: dict, key: str) -> ui.select:
        return (
            ui.select(options, value=self.filters[key], on_change=lambda e: self._set(key, e.value))
            .props("dense outlined options-dense")
            .classes("grow min-w-fit")
            .mark("filter-" + key.removesuffix("_id"))
        )

    async def _label_options(self) -> dict[str | None, str]:
        """The label filter's choices (reading the chips' colours too); a filter by a label that is gone (deleted
        or renamed) is dropped."""
        found = await labels.list_labels()
        self.label_colors = colors_by_name(found)
        chosen = (self.filters["label"] or "").casefold()
        self.filters["label"] = next((label.name for label in found if label.name.casefold() == chosen), None)
        return {None: "Any label", **{label.name: label.name for label in found}}

    async def _on_label_changed(self, _: int) -> None:
        """A label was renamed, recoloured or deleted: rows show it afresh (conversations carry label names)."""
        if self.rows.is_deleted:
            return
        with self.rows:
            self.label_filter.set_options(await self._label_options(), value=self.filters["label"])
            await self.reload()

    async def _set(self, key: str, value: Any) -> None:
        self.filters[key] = value if value is not None or key in NULLABLE_FILTERS else DEFAULT_FILTERS[key]
        if not await session.may_read():
            return
        app.storage.user["inbox_filters"] = self.filters
        await self.reload()

    async def reload(self) -> None:
        self.shown.clear()
        self.pending.clear()  # the reload reads them fresh
        self.stale = False
        self.cursor = None
        await self.load_more()

    async def _more(self) -> None:
        if await session.may_read():
            await self.load_more()

    async def load_more(self) -> None:
        query = self._query()
        page = await conversations.list_conversations(**query, limit=PAGE_SIZE, cursor=self.cursor, viewer=self.agent)
        if query != self._query():  # the filters changed while it read: the reload for the new ones draws
            return
        self.shown.update((conversation.id, conversation) for conversation in page.items)
        self.cursor = page.next_cursor
        self.more_button.visible = page.next_cursor is not None
        self.window = max(PAGE_SIZE, len(self.shown))
        self._draw()

    def _draw(self) -> None:
        newest_first = sorted(self.shown.values(), key=self._sort_key, reverse=True)
        self.rows.show(
            newest_first,
            show_status=self.filters["status"] == "all",
            agent_names=self.agent_names,
            query=self.filters["q"] or "",
            label_colors=self.label_colors,
        )
        self.empty_state.visible = not self.shown
        self._note_selected_index()

    # ---- the open conversation, and moving from it ----

    def select(self, conversation_id: int | None) -> None:
        """Mark the open conversation's row; the rows stay as they are."""
        self.selected_id = conversation_id
        self.rows.select(conversation_id)
        self._note_selected_index()

    def _note_selected_index(self) -> None:
        ids = self._shown_ids()
        if self.selected_id in ids:
            self.selected_index = ids.index(self.selected_id)

    def _shown_ids(self) -> list[int]:
        return [row["id"] for row in self.rows.rows]

    def neighbour(self, step: int) -> int | None:
        """The conversation `step` rows below (or above) the open one; the first row when none is open. When the
        open one left the list (resolved, say), the row that took its place counts as the next one."""
        ids = self._shown_ids()
        if self.selected_id in ids:
            index = ids.index(self.selected_id) + step
        elif self.selected_id is not None and self.selected_index is not None:
            index = self.selected_index if step > 0 else self.selected_index - 1
        else:
            index = 0
        return ids[index] if 0 <= index < len(ids) else None

    def focus_search(self) -> None:
        self.search.run_method("focus")

    def _query(self) -> dict[str, Any]:
        f = self.filters
        return {
            "status": None if f["status"] == "all" else ConversationStatus(f["status"]),
            "channel_id": f["channel_id"],
            "unread": f["unread"] or None,
            "q": f["q"] or None,
            "assignee_id": self.agent.id if f["assigned"] == "mine" else None,
            "unassigned": f["assigned"] == "unassigned",
            "labels": [f["label"]] if f["label"] else [],
            "priority": Priority(f["priority"]) if f["priority"] else None,
            "sort": self._sort(),
        }

    def _sort(self) -> ConversationSort:
        return ConversationSort.priority if self.filters["sort"] == "priority" else ConversationSort.activity

    def _sort_key(self, conversation: ConversationOut) -> tuple:
        """The list's order, as list_conversations sorts: the priority's rank first when sorted by it."""
        rank = PRIORITY_RANK[conversation.priority] if self._sort() == ConversationSort.priority else 0
        return rank, conversation.last_message_at, conversation.id

    def matches(self, conversation: ConversationOut) -> bool:
        """Whether the agent sees this conversation and the tab's filters let it in (the list's live twin of
        `_query`): a conversation handed to someone else leaves the list of an agent limited to their own."""
        f = self.filters
        q = (f["q"] or "").strip().lower()
        return (
            visibility.may_see(self.agent, conversation)
            and (f["status"] == "all" or conversation.status.value == f["status"])
            and (f["channel_id"] is None or conversation.channel.id == f["channel_id"])
            and (not f["unread"] or conversation.unread_count > 0)
            and (f["assigned"] != "mine" or conversation.assignee_id == self.agent.id)
            and (f["assigned"] != "unassigned" or conversation.assignee_id is None)
            and (not f["label"] or f["label"].casefold() in (name.casefold() for name in conversation.labels))
            and (not f["priority"] or conversation.priority.value == f["priority"])
            and (
                not q
                or q in conversation.customer.name.lower()
                or q in conversation.last_message_preview.lower()
                or conversation.search_match is not None
            )
        )

    def on_conversation_updated(self, conversation: ConversationOut) -> None:
        """Every open inbox hears every change, inside the worker that announced it: only note the newest
        version of the conversation here, and apply the noted ones together a moment later (see live_pace). A
        customer's burst of messages then moves their row once, and ingest does not wait for every tab to redraw."""
        if self.stale:
            return
        self.pending[conversation.id] = conversation
        if not self.hidden:
            self.pace.changed()
        elif len(self.pending) > self.window:  # more than it shows: reading the list again costs less
            self.pending.clear()
            self.stale = True

    async def _on_access_changed(self, change: AccessChanged) -> None:
        """An admin changed which conversations the agent sees (or their role): the list is read again."""
        if change.agent_id == self.agent.id and await session.follow_changes_of(self.agent):
            if not self.rows.is_deleted:
                await self.reload()

    async def _on_visibility(self, event) -> None:
        self.hidden = event.args == "hidden"
        if self.hidden or self.rows.is_deleted:
            return
        if self.stale and await session.may_read():
            await self.reload()
        elif self.pending:
            self._apply_pending()

    def _apply_pending(self) -> None:
        pending, self.pending = self.pending, {}
        if self.rows.is_deleted:
            return
        try:
            with self.rows:  # the tab's context (a timer's callback has none): its agent's time zone
                for conversation in pending.values():
                    self._apply(conversation)
                self._trim()
                self._draw()
        except Exception:  # a callback of the event loop: say what failed rather than lose it
            log.exception("the inbox list could not apply a live update")

    def _apply(self, conversation: ConversationOut) -> None:
        """Take in, update or drop one conversation; `_draw` puts the newest activity on top."""
        shown = self.shown.get(conversation.id)
        if shown is not None and shown.search_match is not None and conversation.search_match is None:
            # a search result stays one, showing the match it was found by (live updates carry no snippet)
            conversation = conversation.model_copy(update={"search_match": shown.search_match})
        if not self.matches(conversation):
            self.shown.pop(conversation.id, None)
            return
        if (
            conversation.id not in self.shown
            and self.cursor is not None
            and self.shown
            and self._sort_key(conversation) < min(map(self._sort_key, self.shown.values()))
        ):
            return  # older than everything loaded: it comes with "Load more"
        self.shown[conversation.id] = conversation

    def _trim(self) -> None:
        """The oldest rows beyond the window go (they come back with "Load more"): an inbox left open keeps
        the rows it loaded, not one for every conversation that wrote since."""
        if len(self.shown) <= self.window:
            return
        kept = sorted(self.shown.values(), key=self._sort_key, reverse=True)[: self.window]
        self.shown = {conversation.id: conversation for conversation in kept}
        self.cursor = conversations.page_cursor(kept[-1], self._sort())  # as list_conversations does
        self.more_button.visible = True


def _empty_state() -> ui.column:
    with ui.column().classes("w-full items-center py-12 text-slate-500 gap-1") as column:
        ui.icon("inbox", size="lg")
        ui.label("No conversations here.")
    return column
