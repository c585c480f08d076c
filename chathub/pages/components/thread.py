"""The chat thread (`/conversations/{id}`): bubbles, status, actions, composer, customer panel.

The inbox page frames it (see `chathub.pages.inbox.Inbox`): on a wide screen the list stays on the left and
opening another conversation swaps only the thread; on a phone the thread is alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from nicegui import Event, ui

from chathub import bus, process_state
from chathub.models import (
    Agent,
    ContentType,
    ConversationStatus,
    MessageDirection,
    MessageKind,
    MessageStatus,
    Priority,
)
from chathub.pages import session
from chathub.pages.components import widgets
from chathub.pages.components.agent_zone import local
from chathub.pages.components.attachment_upload import AttachmentUpload
from chathub.pages.components.canned_picker import CannedPicker
from chathub.pages.components.conversation_tags import header_tags
from chathub.pages.components.customer_panel import customer_panel
from chathub.pages.components.layout import avatar
from chathub.pages.components.mention_list import MentionList, key_handler
from chathub.pages.components.message_view import MessageBubble, day_separator
from chathub.pages.components.snooze_dialog import SnoozeDialog
from chathub.pages.components.widgets import channel_icon, notice, seconds_ago, snoozed_until, status_chip
from chathub.schemas import (
    AccessChanged,
    ConversationOut,
    ConversationPatch,
    MessageIn,
    MessageOut,
    TypingSignal,
    ViewersChanged,
)
from chathub.services import channels, conversations, labels, media, notes, outbound, presence, visibility
from chathub.services.errors import NotFound, ServiceError
from chathub.services.media import StoredFile

HISTORY_PAGE = 40
REPLY, NOTE = "reply", "note"  # the composer's modes
PLACEHOLDERS = {
    REPLY: "Reply… (Enter sends, Shift+Enter adds a line)",
    NOTE: "Private note… only agents see it; @ mentions an agent",
}
ACTIVITY_TICK_SECONDS = 2.0  # how often "X replied 6 s ago" counts on


async def thread(agent: Agent, conversation_id: int, agent_names: dict[int, str]) -> ThreadView | None:
    """Draw the thread of this conversation here and return its view (None: no such conversation): the inbox's
    keyboard shortcuts act on it, and the caller closes it when it swaps it out."""
    try:
        conversation = await conversations.get_conversation(conversation_id)
    except NotFound:
        conversation = None
    if conversation is None or not visibility.may_see(agent, conversation):  # hidden: as if it never was
        notice("search_off", "This conversation does not exist (any more).", "", "Back to the inbox", "/")
        return None
    view = ThreadView(agent, conversation, agent_names)
    await view.build()
    return view


def _order(message: MessageOut) -> tuple[datetime, int]:
    return message.created_at, message.id


def _header_facts(conversation: ConversationOut) -> tuple:
    return (
        conversation.status,
        conversation.assignee_id,
        conversation.snoozed_until,
        conversation.priority,
        conversation.labels,
    )


def _day_label(moment: datetime) -> str:
    day = local(moment).date()
    today = local(datetime.now(UTC)).date()
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    return day.strftime("%A, %d %B %Y")


class ThreadView:
    def __init__(self, agent: Agent, conversation: ConversationOut, agent_names: dict[int, str]) -> None:
        self.agent = agent
        self.conversation = conversation
        self.agent_names = agent_names
        self.messages: list[MessageOut] = []
        self.bubbles: dict[int, MessageBubble] = {}
        self.older_cursor: str | None = None
        self.loading_older = False
        self.shown_newest = False  # the thread has been scrolled to its newest message once
        self.client_id = uuid.uuid4().hex
        self.attachment: StoredFile | None = None
        self.mode = REPLY
        self.text_limit = channels.text_limit(conversation.channel.type)
        self.optimistic: dict[str, MessageBubble] = {}
        self.viewers: dict[int, str] = {}  # agent id -> name, of the tabs showing this thread
        self.asking: str | None = None  # the collision this agent is asked to confirm, until they answer
        self.typing_until: dict[str, datetime] = {}  # who (other agents, the customer) -> until when
        self.other_reply: tuple[str, datetime] | None = None  # the latest reply by another agent
        self.acknowledged_at = datetime.now(UTC)  # replies before this are known to this agent
        self.warning_label: ui.label | None = None
        self.tab_id = ui.context.client.id

    async def build(self) -> None:
        with ui.row().classes("w-full h-full no-wrap gap-0") as self.root:
            with ui.column().classes("h-full grow min-w-0 gap-0"):
                self.header = ui.row().classes(
                    "w-full items-center gap-2 px-3 py-2 border-b no-wrap thread-header "
                    "border-slate-200 dark:border-slate-700 bg-[#fff] dark:bg-slate-800"
                )
                self.tags = ui.row().classes(
                    "w-full items-center gap-1 px-3 py-1 border-b thread-tags border-slate-200 "
                    "dark:border-slate-700 bg-[#fff] dark:bg-slate-800"
                )
                self.label_choices = await labels.list_labels()
                self._draw_header()
                self.scroller = ui.scroll_area(on_scroll=self._on_scroll).classes(
                    "w-full grow bg-slate-50 dark:bg-slate-900"
                )
                with self.scroller:
                    self.older_button = (
                        ui.button("Load older messages", on_click=self.load_older)
                        .props("flat dense no-caps")
                        .classes("self-center")
                        .mark("load-older")
                    )
                    self.column = ui.column().classes("w-full gap-2 px-2 sm:px-4 py-3")
                self._composer()
            # beside the thread on a wide screen; below 1280 px a drawer over it, opened from the header
            self.customer_drawer = (
                ui.column()
                .classes(
                    "customer-panel h-full w-72 shrink-0 border-l border-slate-200 dark:border-slate-700 bg-[#fff] "
                    "dark:bg-slate-800 p-4 gap-3 overflow-y-auto max-xl:fixed max-xl:inset-y-0 max-xl:right-0 "
                    "max-xl:w-80 max-xl:max-w-[90vw] max-xl:z-[3000] max-xl:shadow-2xl max-xl:hidden"
                )
                .mark("customer-panel")
            )
            with self.customer_drawer:
                ui.button(icon="close", on_click=self.toggle_customer_panel).props("flat round dense").classes(
                    "xl:hidden self-end"
                ).tooltip("Close").mark("customer-panel-close")
                await customer_panel(self.conversation, self.agent)
            # not immediate: a timer's first run waits for the browser, which would send the page half-built
            ui.timer(ACTIVITY_TICK_SECONDS, self._tick_activity, immediate=False)
        page = await outbound.list_messages(conversation_id=self.conversation.id, limit=HISTORY_PAGE)
        self.messages = page.items
        self.older_cursor = page.next_cursor
        self._redraw_messages()
        self.scroller.scroll_to(percent=1.0)
        self._subscribe()
        presence.tab_views(self.tab_id, self.conversation.id)
        self._draw_viewers(presence.viewers(self.conversation.id))

    def _subscribe(self) -> None:
        """The inbox swaps threads within one tab: `close` ends these subscriptions, not the tab's end."""
        for event, callback in self._conversation_subscriptions():
            event.subscribe_to(self.conversation.id, callback, unsubscribe_on_delete=False)
        for event, callback in self._tab_subscriptions():
            event.subscribe(callback, unsubscribe_on_delete=False)

    def _conversation_subscriptions(self) -> list[tuple[bus.ConversationEvent, Callable]]:
        return [
            (bus.message_created, self._on_message_created),
            (bus.message_status_changed, self._on_message_changed),
            (bus.conversation_updated, self._on_conversation_updated),
        ]

    def _tab_subscriptions(self) -> list[tuple[Event, Callable]]:
        return [
            (bus.typing, self._on_typing),
            (bus.viewers_changed, self._on_viewers_changed),
            (bus.presence_changed, self._on_presence_changed),
            (bus.resynced, self._resync),
            (bus.access_changed, self._on_access_changed),
            (bus.label_changed, self._on_label_changed),
            (bus.canned_responses_changed, self.canned.on_replies_changed),
        ]

    def close(self) -> None:
        """The thread leaves the tab (another one opens, or the tab closes): it hears nothing more."""
        for event, callback in [*self._conversation_subscriptions(), *self._tab_subscriptions()]:
            event.unsubscribe(callback)
        presence.tab_views(self.tab_id, None)

    # ---- header and actions ----

    def _draw_header(self) -> None:
        """Everything fits at every width: below 1280 px assignment moves into a menu (with every other action
        below 640 px), labels shrink to icons, the customer panel becomes a drawer, and the title shrinks
        (never over its neighbours)."""
        conversation = self.conversation
        snoozed = conversation.status == ConversationStatus.snoozed
        resolved = conversation.status == ConversationStatus.resolved
        self.header.clear()
        with self.header:
            ui.button(icon="arrow_back", on_click=lambda: ui.navigate.to("/")).props("flat round dense").classes(
                "md:hidden shrink-0"
            )
            avatar(conversation.customer.name, size="sm").classes("shrink-0 max-xl:hidden")
            with ui.column().classes("gap-0 min-w-0 grow overflow-hidden").mark("header-title"):
                ui.link(conversation.customer.name, f"/customers/{conversation.customer.id}").classes(
                    "font-semibold truncate max-w-full no-underline text-inherit"
                )
                with ui.row().classes("items-center gap-1 text-xs text-slate-500 no-wrap min-w-0 max-w-full"):
                    channel_icon(conversation.channel.type)
                    ui.label(conversation.channel.name).classes("truncate min-w-0 max-xl:hidden")
                    if snoozed:
                        ui.badge(snoozed_until(conversation.snoozed_until), color="blue").props("outline").classes(
                            "conversation-status truncate min-w-0"
                        ).mark("snoozed-until")
                    else:
                        status_chip(conversation.status).classes("conversation-status shrink-0")
                    if conversation.assignee_id is not None:
                        ui.label(f"→ {self.agent_names.get(conversation.assignee_id, 'someone')}").classes(
                            "truncate min-w-0 xl:hidden"
                        ).mark("header-assignee")
            self.viewers_row = ui.row().classes("items-center gap-0 no-wrap shrink-0 max-sm:hidden").mark("viewers")
            self.assign_select = self._assign_picker().classes("w-40 shrink-0 max-xl:hidden").mark("assign")
            with ui.row().classes("items-center gap-1 no-wrap shrink-0 max-sm:hidden"):
                ui.button(icon="snooze", on_click=self.open_snooze).props("flat round dense").tooltip("Snooze").mark(
                    "snooze"
                )
                if snoozed:
                    self._labelled_button("Reopen now", "alarm_off", self.reopen, "outline dense").mark("reopen-now")
                if resolved:
                    self._labelled_button("Reopen", "undo", self.reopen, "outline dense").mark("reopen")
                else:
                    self._labelled_button("Resolve", "check", self.resolve, "unelevated dense color=positive").mark(
                        "resolve"
                    )
            ui.button(icon="contact_page", on_click=self.toggle_customer_panel).props("flat round dense").classes(
                "xl:hidden shrink-0"
            ).tooltip("Customer").mark("customer-toggle")
            self._header_menu(snoozed=snoozed, resolved=resolved)
        self._draw_viewers(self.viewers)
        self.tags.clear()
        with self.tags:
            header_tags(
                conversation,
                self.label_choices,
                on_priority=self._set_priority,
                on_add=self._add_label,
                on_remove=self._remove_label,
            )

    @staticmethod
    def _labelled_button(text: str, icon: str, action, props: str) -> ui.button:
        """Icon and word on a wide screen; the icon alone (with the word as tooltip) below 1280 px."""
        with ui.button(icon=icon, on_click=action).props(props).classes("shrink-0 px-2") as button:
            ui.label(text).classes("ml-1 max-xl:hidden")
            ui.tooltip(text)
        return button

    def _header_menu(self, *, snoozed: bool, resolved: bool) -> None:
        """Assignment below 1280 px, and on a phone every action of the header, in one menu."""
        with (
            ui.button(icon="more_vert")
            .props("flat round dense")
            .classes("xl:hidden shrink-0")
            .tooltip("Actions")
            .mark("header-menu")
        ):
            with ui.menu():
                ui.menu_item("Assign…", self.open_assignment).mark("menu-assign")
                ui.menu_item("Snooze…", self.open_snooze).mark("menu-snooze")
                if snoozed:
                    ui.menu_item("Reopen now", self.reopen).mark("menu-reopen-now")
                if resolved:
                    ui.menu_item("Reopen", self.reopen).mark("menu-reopen")
                else:
                    ui.menu_item("Resolve", self.resolve).mark("menu-resolve")

    def _assign_picker(self, on_change=None) -> ui.select:
        return ui.select(
            self._assign_options(),
            value=self.conversation.assignee_id,
            on_change=on_change or (lambda e: self._assign(e.value)),
        ).props("dense outlined options-dense")

    def _assign_options(self) -> dict[int | None, str]:
        """Agents with their presence, so an agent assigns to someone who is around."""
        return {
            None: "Unassigned",
            **{agent_id: f"{name} · {presence.agent_status(agent_id)}" for agent_id, name in self.agent_names.items()},
        }

    def _on_presence_changed(self, _: object) -> None:
        self.assign_select.set_options(self._assign_options(), value=self.assign_select.value)

    async def _assign(self, assignee_id: int | None) -> None:
        if assignee_id != self.conversation.assignee_id:
            name = self.agent_names.get(assignee_id) if assignee_id is not None else None
            await self._update(assignee_id=assignee_id, done=f"Assigned to {name}" if name else "Unassigned")

    async def _assign_and_close(self, assignee_id: int | None, dialog: ui.dialog) -> None:
        with self.root:  # the dialog goes when closed; the thread stays
            await self._assign(assignee_id)
        dialog.close()

    async def _set_priority(self, priority: Priority) -> None:
        if priority != self.conversation.priority:
            await self._update(priority=priority)

    async def _add_label(self, name: str) -> None:
        await self._change_labels(labels.add_to_conversation, name)

    async def _remove_label(self, name: str) -> None:
        await self._change_labels(labels.remove_from_conversation, name)

    async def _change_labels(self, change, name: str) -> None:
        if not await self.may_act():
            return
        try:
            self.conversation = await change(self.conversation.id, name, actor=self.agent)
        except ServiceError as error:
            self._notify(widgets.sentence(str(error)), type="negative")
            return
        self._draw_header()

    async def _on_label_changed(self, _: int) -> None:
        """A label was renamed, recoloured or deleted: the header shows the labels as they are now."""
        if self.root.is_deleted:
            return
        self.label_choices = await labels.list_labels()
        self.conversation = await conversations.get_conversation(self.conversation.id)
        self._draw_header()

    async def _update(self, *, done: str | None = None, **changes) -> bool:
        if not await self.may_act():
            return False
        try:
            self.conversation = await conversations.update_conversation(
                self.conversation.id, ConversationPatch(**changes), actor=self.agent
            )
        except ServiceError as error:
            self._notify(widgets.sentence(str(error)), type="negative")
            return False
        self._draw_header()
        if done:
            self._notify(done, type="positive")
        return True

    async def may_act(self) -> bool:
        """Every action here asks first: the agent may act at all (`session.may_act`), and still sees this
        conversation (a tab that missed its handing over to someone else)."""
        if not await session.may_act():
            return False
        try:
            await visibility.require_conversation(self.agent, self.conversation.id)
        except NotFound:
            self._leave()
            return False
        return True

    def _notify(self, text: str, **kwargs) -> None:
        """A toast from the thread itself: the button, menu or dialog that asked may be gone by now."""
        with self.root:
            ui.notify(text, **kwargs)

    # ---- actions the header and keyboard shortcuts share ----

    async def resolve(self) -> None:
        if self.conversation.status != ConversationStatus.resolved:
            await self._update(status=ConversationStatus.resolved, done="Resolved")

    async def reopen(self) -> None:
        if self.conversation.status != ConversationStatus.open:
            await self._update(status=ConversationStatus.open, done="Reopened")

    async def snooze(self, until: datetime) -> bool:
        return await self._update(status=ConversationStatus.snoozed, snoozed_until=until, done=snoozed_until(until))

    def open_snooze(self) -> None:
        with self.root:
            SnoozeDialog(self.snooze).open()

    def open_assignment(self) -> None:
        with self.root, widgets.disposable_dialog() as dialog, ui.card().classes("w-80 max-w-full"):
            ui.label("Assign to").classes("text-lg font-semibold")
            self._assign_picker(lambda e: self._assign_and_close(e.value, dialog)).classes("w-full").props(
                "autofocus"
            ).mark("assign-dialog")
            ui.button("Cancel", on_click=dialog.close).props("flat").classes("self-end")
        dialog.open()

    def focus_reply(self) -> None:
        self.text.run_method("focus")

    def start_reply(self) -> None:
        self.mode_toggle.value = REPLY
        self.focus_reply()

    def start_note(self) -> None:
        self.mode_toggle.value = NOTE
        self.focus_reply()

    def toggle_customer_panel(self) -> None:
        if "max-xl:hidden" in self.customer_drawer.classes:
            self.customer_drawer.classes(remove="max-xl:hidden")
        else:
            self.customer_drawer.classes(add="max-xl:hidden")

    # ---- messages ----

    def _redraw_messages(self) -> None:
        self.column.clear()
        self.bubbles.clear()
        previous_day = None
        with self.column:
            for message in self.messages:
                previous_day = self._draw(message, previous_day)
        self.older_button.visible = self.older_cursor is not None

    def _draw(self, message: MessageOut, previous_day) -> object:
        day = local(message.created_at).date()
        if day != previous_day:
            day_separator(_day_label(message.created_at))
        name = self.agent_names.get(message.agent_id) if message.agent_id else None
        self.bubbles[message.id] = MessageBubble(message, agent_name=name, on_retry=self._retry)
        return day

    async def load_older(self) -> None:
        if self.older_cursor is None or self.loading_older:
            return
        self.loading_older = True
        try:
            if not await session.may_read():
                return
            page = await outbound.list_messages(
                conversation_id=self.conversation.id, limit=HISTORY_PAGE, cursor=self.older_cursor
            )
            self.messages = page.items + self.messages
            self.older_cursor = page.next_cursor
            self._redraw_messages()
        finally:
            self.loading_older = False

    async def _on_scroll(self, event) -> None:
        # The scroll area first reports itself at the top, before it has moved to the newest message: only
        # a scroll up from there (the agent's) loads older messages, not the opening of the thread.
        if event.vertical_percentage > 0.9:
            self.shown_newest = True
        elif self.shown_newest and event.vertical_position < 40 and self.older_cursor is not None:
            await self.load_older()

    def _on_message_created(self, message: MessageOut) -> None:
        if message.conversation_id != self.conversation.id or message.id in self.bubbles:
            return
        placeholder = self.optimistic.pop(message.client_id, None) if message.client_id else None
        if self.messages and _order(message) < _order(self.messages[-1]):
            self._insert_earlier(message)  # a message the customer sent before the last one shown
            return
        previous_day = local(self.messages[-1].created_at).date() if self.messages else None
        self.messages.append(message)
        with self.column:
            self._draw(message, previous_day)
        if placeholder is not None:  # the stored message takes the optimistic bubble's place
            self.bubbles[message.id].row.move(target_index=placeholder.row.parent_slot.children.index(placeholder.row))
            placeholder.row.delete()
        self.scroller.scroll_to(percent=1.0)
        if message.kind != MessageKind.message:
            return  # a note or an activity line: nobody replied
        if message.direction == MessageDirection.outbound and message.agent_id not in (None, self.agent.id):
            name = self.agent_names.get(message.agent_id, "Another agent")
            self.typing_until.pop(name, None)  # their reply is out: they are no longer typing it
            self.other_reply = (name, message.created_at)
            self._draw_activity()
        elif message.direction == MessageDirection.inbound:
            self.typing_until.pop(self.conversation.customer.name, None)
            self._draw_activity()

    async def _resync(self) -> None:
        """Changes made on other instances were missed: the newest messages and the header are read again."""
        conversation = await conversations.get_conversation(self.conversation.id)
        if not visibility.may_see(self.agent, conversation):
            self._leave()
            return
        page = await outbound.list_messages(conversation_id=self.conversation.id, limit=HISTORY_PAGE)
        self.messages, self.older_cursor = page.items, page.next_cursor
        self._redraw_messages()
        self.scroller.scroll_to(percent=1.0)
        self.conversation = conversation
        self._draw_header()

    def _insert_earlier(self, message: MessageOut) -> None:
        self.messages.append(message)
        self.messages.sort(key=_order)
        self._redraw_messages()

    def _on_message_changed(self, message: MessageOut) -> None:
        bubble = self.bubbles.get(message.id)
        if bubble is not None:
            bubble.update(message)

    async def _on_conversation_updated(self, conversation: ConversationOut) -> None:
        if conversation.id != self.conversation.id:
            return
        if not visibility.may_see(self.agent, conversation):  # handed to someone else
            self._leave()
            return
        if conversation.unread_count and presence.is_being_read(conversation.id):  # someone looks at it: read
            conversation = await conversations.mark_read_while_viewed(conversation.id)
        if _header_facts(conversation) != _header_facts(self.conversation):
            self.conversation = conversation
            self._draw_header()
        self.conversation = conversation

    async def _on_access_changed(self, change: AccessChanged) -> None:
        if change.agent_id == self.agent.id and await session.follow_changes_of(self.agent):
            if not visibility.may_see(self.agent, self.conversation):
                self._leave()

    def _leave(self) -> None:
        """The agent may no longer see this conversation (limited to their own, it went to someone else): the
        thread goes, and nothing more of it reaches the tab."""
        self.close()
        if self.root.is_deleted:
            return
        self.root.clear()
        with self.root:
            notice(
                "visibility_off",
                "This conversation is not available to you any more.",
                "It was assigned to someone else.",
                "Back to the inbox",
                "/",
            )

    # ---- who else is here ----

    def _on_viewers_changed(self, change: ViewersChanged) -> None:
        if change.conversation_id == self.conversation.id:
            self._draw_viewers(change.viewers)

    def _draw_viewers(self, viewers: dict[int, str]) -> None:
        self.viewers = viewers
        self.viewers_row.clear()
        with self.viewers_row:
            for agent_id, name in viewers.items():
                if agent_id != self.agent.id:
                    avatar(name, size="sm").classes("-ml-1 ring-2 ring-white").tooltip(f"{name} is viewing").mark(
                        f"viewer-{agent_id}"
                    )

    def _on_typing(self, signal: TypingSignal) -> None:
        if signal.conversation_id != self.conversation.id or signal.agent_id == self.agent.id:
            return
        self.typing_until[signal.name] = signal.expires_at
        self._draw_activity()
        ui.timer((signal.expires_at - datetime.now(UTC)).total_seconds() + 0.1, self._draw_activity, once=True)

    def _typing_names(self) -> list[str]:
        now = datetime.now(UTC)
        return [name for name, until in self.typing_until.items() if until > now]

    def _collision_warning(self) -> str | None:
        """What this agent should know before sending: someone else answered, or is answering."""
        agents_typing = [n for n in self._typing_names() if n != self.conversation.customer.name]
        if agents_typing:
            return f"{', '.join(agents_typing)} is typing a reply too."
        if self.other_reply and self.other_reply[1] > self.acknowledged_at:
            return f"{self.other_reply[0]} replied {seconds_ago(self.other_reply[1])}."
        return None

    def _warning_text(self) -> str | None:
        if self.asking is not None:  # the question stays until answered, with what is true now
            return f"{self._collision_warning() or self.asking} Send yours anyway?"
        return self._collision_warning()

    def _draw_activity(self) -> None:
        self.activity.clear()
        self.warning_label = None
        with self.activity:
            names = self._typing_names()
            if names:
                ui.label(f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} typing…").classes(
                    "text-xs text-slate-500 italic typing-indicator"
                )
            warning = self._warning_text()
            if warning:
                with ui.row().classes(
                    "items-center gap-2 text-amber-800 bg-amber-50 dark:bg-amber-950 rounded "
                    "px-2 py-1 w-full no-wrap collision-warning"
                ):
                    ui.icon("warning", size="xs")
                    self.warning_label = ui.label(warning).classes("grow min-w-0 text-xs")
                    if self.asking is not None:
                        ui.button("Send anyway", on_click=self._send_anyway).props(
                            "dense unelevated no-caps color=warning"
                        ).mark("send-anyway")
                        ui.button("Cancel", on_click=self._cancel_send).props("dense flat no-caps").mark("send-cancel")

    def _tick_activity(self) -> None:
        """Keep "replied 6 s ago" true while it shows."""
        if self.warning_label is not None:
            text = self._warning_text()
            if text:
                self.warning_label.set_text(text)
            else:
                self._draw_activity()

    async def _send_anyway(self) -> None:
        self.asking = None
        await self.send(anyway=True)

    def _cancel_send(self) -> None:
        self.asking = None
        self._draw_activity()
        self.focus_reply()

    async def _retry(self, message_id: int) -> None:
        if not await self.may_act():
            return
        try:
            await outbound.retry_message(message_id)
        except ServiceError as error:
            ui.notify(str(error), type="negative")

    # ---- composer ----

    def _composer(self) -> None:
        with ui.column().classes(
            "w-full gap-1 px-3 py-2 border-t border-slate-200 dark:border-slate-700 bg-[#fff] dark:bg-slate-800"
        ) as self.composer:
            self.activity = ui.column().classes("w-full gap-1")
            self.attachment_row = ui.row().classes("w-full items-center gap-2")
            self.mode_toggle = (
                ui.toggle({REPLY: "Reply", NOTE: "Note"}, value=REPLY, on_change=self._on_mode_changed)
                .props("dense no-caps unelevated toggle-color=primary")
                .classes("composer-mode")
                .mark("composer-mode")
            )
            mention_slot = ui.column().classes("w-full gap-0")
            with ui.row().classes("w-full items-end gap-2 no-wrap"):
                self._attach_button()
                with ui.element("div").classes("relative grow min-w-0"):
                    self.text = (
                        ui.textarea(placeholder=PLACEHOLDERS[REPLY], on_change=self._check_draft)
                        .props("outlined dense autogrow rows=1")
                        .classes("w-full")
                        .mark("composer")
                    )
                    self.canned = CannedPicker(self.text, self.agent, lambda: self.conversation.customer.name)
                self.send_button = ui.button(icon="send", on_click=self.send).props("round unelevated").mark("send")
            with mention_slot:
                others = {agent_id: name for agent_id, name in self.agent_names.items() if agent_id != self.agent.id}
                self.mentions = MentionList(self.text, others)
            self.text.on("keydown", self._on_composer_key, js_handler=key_handler(self.mentions.element))
            with ui.row().classes("w-full items-center"):
                self.problem = ui.label().classes("text-xs text-red-600 composer-error")
                ui.space()
                self.counter = ui.label().classes("text-xs text-slate-400")

    def _attach_button(self) -> None:
        """A paperclip that picks one file; it goes with the next reply (the text becomes its caption)."""
        limit = process_state.current().settings.max_media_bytes
        self.uploader = (
            AttachmentUpload(
                auto_upload=True,
                max_file_size=limit,
                on_upload=self._on_file_picked,
                on_rejected=lambda: self.problem.set_text(
                    f"That file is too large; at most {media.human_size(limit)} can be sent."
                ),
            )
            .classes("hidden")
            .mark("attachment-upload")
        )
        self.attach_button = (
            ui.button(icon="attach_file", on_click=lambda: self.uploader.run_method("pickFiles"))
            .props("flat round dense")
            .tooltip("Attach a photo or a file")
            .mark("attach")
        )

    async def _on_file_picked(self, event) -> None:
        self.uploader.reset()
        if not await self.may_act():
            return
        try:
            self.attachment = media.store_upload(
                await event.file.read(), file_name=event.file.name, mime_type=event.file.content_type
            )
        except ServiceError as error:
            self.problem.set_text(widgets.sentence(str(error)))
            return
        self._draw_attachment()

    def _draw_attachment(self) -> None:
        self.attachment_row.clear()
        if self.attachment is None:
            return
        with self.attachment_row:
            ui.chip(
                f"{self.attachment.file_name} · {media.human_size(self.attachment.size)}",
                icon="attach_file",
                removable=True,
                on_value_change=lambda e: self._drop_attachment() if not e.value else None,
            ).props("outline").mark("attachment-chip")

    def _drop_attachment(self) -> None:
        self.attachment = None
        self._draw_attachment()

    async def _on_mode_changed(self) -> None:
        """A note is the agents' own: amber, text only (no attachment), and its typing is never signalled."""
        self.mode = self.mode_toggle.value
        note = self.mode == NOTE
        self.composer.classes(
            add="bg-amber-50 dark:bg-amber-950" if note else "bg-[#fff] dark:bg-slate-800",
            remove="bg-[#fff] dark:bg-slate-800" if note else "bg-amber-50 dark:bg-amber-950",
        )
        self.mode_toggle.props(f"toggle-color={'amber-8' if note else 'primary'}")
        self.text.props(f'placeholder="{PLACEHOLDERS[self.mode]}"')
        self.attach_button.set_visibility(not note)
        if note:
            self._drop_attachment()
        else:
            self.mentions.close()
        await self._check_draft()

    async def _on_composer_key(self, event) -> None:
        if event.args == "send":
            if not await self.canned.take_enter():  # the list opened just as Enter was pressed
                await self.send()
        else:
            self.mentions.on_key(str(event.args))

    async def _check_draft(self) -> None:
        await self.canned.follow()
        length = len(self.text.value or "")
        if self.mode == NOTE:
            self.mentions.follow(self.text.value or "")
            too_long = length > notes.MAX_LENGTH
            self.counter.set_text(f"{length}/{notes.MAX_LENGTH}" if length > notes.MAX_LENGTH * 0.8 else "")
            self.problem.set_text(f"A note holds at most {notes.MAX_LENGTH} characters." if too_long else "")
            return
        if length:
            presence.agent_typing(self.conversation.id, self.agent)
        self.counter.set_text(f"{length}/{self.text_limit}" if length > self.text_limit * 0.8 else "")
        self.problem.set_text(
            f"Too long for {self.conversation.channel.type}: {length} of {self.text_limit} characters."
            if length > self.text_limit
            else ""
        )

    async def send(self, *, anyway: bool = False) -> None:
        if not await self.may_act():
            return
        if self.mode == NOTE:
            return await self._send_note()
        content = self.text.value or ""
        attachment = self.attachment
        problem = channels.outbound_problem(
            self.conversation.channel.type,
            content,
            media.content_type_for(attachment.mime_type) if attachment else ContentType.text,
            has_media=attachment is not None,
        )
        if problem:
            self.problem.set_text(problem[:1].upper() + problem[1:] + ".")
            return
        warning = self._collision_warning()
        if warning and not anyway:
            self.asking = warning
            self._draw_activity()
            return
        self.acknowledged_at = datetime.now(UTC)
        self._draw_activity()
        client_id = self.client_id
        self._draw_optimistic(content, client_id)
        try:
            message, _ = await outbound.send_message(
                conversation_id=self.conversation.id,
                agent_id=self.agent.id,
                attachment=attachment,
                message=MessageIn(content=content, client_id=client_id),
            )
        except ServiceError as error:
            self.optimistic.pop(client_id).row.delete()
            self.problem.set_text(str(error))  # the draft stays in the composer
            return
        presence.agent_sent(self.conversation.id, self.agent)
        self._on_message_created(MessageOut.model_validate(message))
        self._clear_draft()

    async def _send_note(self) -> None:
        content = self.text.value or ""
        if not content.strip():
            return
        client_id = self.client_id
        self._draw_optimistic(content, client_id, kind=MessageKind.note)
        try:
            note, _ = await outbound.send_message(
                conversation_id=self.conversation.id,
                agent_id=self.agent.id,
                message=MessageIn(
                    content=content, client_id=client_id, private=True, mentions=self.mentions.mentions_in(content)
                ),
            )
        except ServiceError as error:
            self.optimistic.pop(client_id).row.delete()
            self.problem.set_text(widgets.sentence(str(error)))  # the draft stays in the composer
            return
        self._on_message_created(MessageOut.model_validate(note))
        self._clear_draft()

    def _clear_draft(self) -> None:
        self.text.value = ""
        self.text.run_method("blur")  # the next keys are shortcuts again: reply, then `e` resolves
        self.problem.set_text("")
        self._drop_attachment()
        self.mentions.forget()
        self.client_id = uuid.uuid4().hex  # the next draft is a new message

    def _draw_optimistic(self, content: str, client_id: str, kind: MessageKind = MessageKind.message) -> None:
        """Show the reply at once, as pending; the stored message replaces it (never a second bubble)."""
        draft = MessageOut(
            id=0,
            conversation_id=self.conversation.id,
            channel_id=self.conversation.channel.id,
            direction=MessageDirection.outbound,
            kind=kind,
            content_type=ContentType.text,
            content=content,
            status=MessageStatus.pending,
            attempts=0,
            agent_id=self.agent.id,
            client_id=client_id,
            created_at=datetime.now(UTC),
        )
        with self.column:
            self.optimistic[client_id] = MessageBubble(draft, agent_name=self.agent.name, on_retry=self._retry)
        self.scroller.scroll_to(percent=1.0)
