"""One customer: edit the profile, see identities and every conversation, merge a duplicate into it."""

from __future__ import annotations

import pydantic
from fastapi import Request
from nicegui import ui

from chathub.models import Agent, Channel
from chathub.pages import session
from chathub.pages.components.layout import avatar, frame
from chathub.pages.components.widgets import channel_icon, local_time, notice, relative_time, status_chip
from chathub.schemas import ConversationOut, CustomerOut, CustomerPatch, IdentityOut
from chathub.services import channels, conversations, customers, visibility
from chathub.services.customers import MergePreview
from chathub.services.errors import NotFound, ServiceError

CONVERSATIONS_PAGE = 20
MERGE_CANDIDATES = 6


async def page(request: Request, customer_id: str):
    agent = await session.require_agent(request)
    if not isinstance(agent, Agent):
        return agent
    customer = await _find(customer_id, agent)
    async with frame(customer.name if customer else "Customer not found", agent):
        if customer is None:
            not_found()
            return
        view = CustomerView(agent, customer, {c.id: c for c in await channels.list_channels()})
        with ui.column().classes("w-full max-w-6xl mx-auto p-3 sm:p-6 gap-4"):
            view.render()
        await view.reload()


async def _find(customer_id: str, agent: Agent) -> CustomerOut | None:
    if not customer_id.isdecimal() or len(customer_id) > 18:
        return None
    try:
        await visibility.require_customer(agent, int(customer_id))
        return await customers.get_customer(int(customer_id))
    except NotFound:
        return None


def not_found() -> None:
    notice(
        "person_off",
        "This customer does not exist.",
        "It may have been merged into another customer, or the link is wrong.",
        "Back to customers",
        "/customers",
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


class CustomerView:
    """The page body. `reload()` fetches the customer and the first conversations the agent sees, then redraws.
    Merging is for agents who see every conversation: it moves conversations an agent limited to their own may
    not see, and its preview would count them."""

    def __init__(self, agent: Agent, customer: CustomerOut, channels_by_id: dict[int, Channel]) -> None:
        self.agent = agent
        self.customer = customer
        self.channels = channels_by_id
        self.conversations: list[ConversationOut] = []
        self.next_cursor: str | None = None
        self.loaded = False
        self.gone = False

    @property
    def id(self) -> int:
        return self.customer.id

    async def reload(self) -> None:
        try:
            await visibility.require_customer(self.agent, self.id)
            customer = await customers.get_customer(self.id)
            page = await conversations.list_conversations(
                customer_id=self.id, limit=CONVERSATIONS_PAGE, viewer=self.agent
            )
        except NotFound:
            self.gone = True
        else:
            self.customer, self.conversations, self.next_cursor = customer, page.items, page.next_cursor
        self.loaded = True
        self.render.refresh()

    def channel_name(self, channel_id: int) -> str:
        channel = self.channels.get(channel_id)
        return channel.name if channel else f"Channel {channel_id}"

    @ui.refreshable_method
    def render(self) -> None:
        if self.gone:
            not_found()
            return
        ui.link("← All customers", "/customers").classes("text-sm no-underline text-primary")
        self._heading()
        with ui.element("div").classes("grid grid-cols-1 lg:grid-cols-3 gap-4 w-full items-start"):
            with ui.column().classes("gap-4 min-w-0"):
                self._profile()
                self._identities()
            with ui.column().classes("gap-4 min-w-0 lg:col-span-2"):
                self._conversations()
                if visibility.sees_all(self.agent):
                    MergePanel(self).build()

    def _heading(self) -> None:
        customer = self.customer
        with ui.row().classes("items-center gap-4 w-full flex-nowrap"):
            avatar(customer.name, size="xl")
            with ui.column().classes("gap-0 min-w-0"):
                ui.label(customer.name).classes("text-2xl font-semibold break-all").mark("customer-title")
                ui.label(
                    f"Customer since {local_time(customer.created_at, '%d %b %Y')} · "
                    f"{_plural(len(customer.identities), 'identity', 'identities')}"
                ).classes("text-sm text-slate-500")

    # ---- profile ----

    def _profile(self) -> None:
        customer = self.customer
        with ui.card().classes("w-full gap-2"):
            ui.label("Profile").classes("font-semibold")
            name = (
                ui.input("Name", value=customer.name)
                .props("outlined dense maxlength=200")
                .classes("w-full")
                .mark("customer-name-input")
            )
            email = (
                ui.input("Email", value=customer.email or "")
                .props("outlined dense type=email")
                .classes("w-full")
                .mark("customer-email-input")
            )
            phone = (
                ui.input("Phone", value=customer.phone or "")
                .props("outlined dense")
                .classes("w-full")
                .mark("customer-phone-input")
            )
            notes = (
                ui.textarea("Notes", value=customer.notes)
                .props("outlined dense autogrow")
                .classes("w-full")
                .mark("customer-notes-input")
            )
            problem = ui.label().classes("text-negative text-sm").mark("profile-error")
            problem.visible = False

            async def save() -> None:
                name.error = email.error = None
                problem.visible = False
                text = (name.value or "").strip()
                if not text:
                    name.error = "Enter a name."
                    return
                if not await session.may_act():
                    return
                try:
                    patch = CustomerPatch(
                        name=text,
                        email=(email.value or "").strip() or None,
                        phone=(phone.value or "").strip() or None,
                        notes=notes.value or "",
                    )
                    await visibility.require_customer(self.agent, self.id)
                    updated = await customers.update_customer(self.id, patch)
                except pydantic.ValidationError:
                    name.error = "The name can have at most 200 characters."
                    return
                except NotFound:
                    problem.set_text("This customer no longer exists: it was merged into another one or removed.")
                    problem.visible = True
                    return
                except ServiceError as error:
                    message = _sentence(str(error))
                    if "email" in message.lower():
                        email.error = message
                    else:
                        problem.set_text(message)
                        problem.visible = True
                    return
                self.customer = updated
                ui.notify("Saved", type="positive")
                self.render.refresh()

            with ui.row().classes("w-full justify-end"):
                ui.button("Save changes", icon="save", on_click=save).props("unelevated no-caps").mark("save-customer")

    # ---- identities ----

    def _identities(self) -> None:
        with ui.card().classes("w-full gap-1"):
            ui.label("Identities").classes("font-semibold")
            ui.label("Where this customer writes from: one identity per channel account.").classes(
                "text-xs text-slate-500"
            )
            if not self.customer.identities:
                ui.label("None").classes("text-sm text-slate-500")
            for identity in self.customer.identities:
                self._identity(identity)

    def _identity(self, identity: IdentityOut) -> None:
        channel = self.channels.get(identity.channel_id)
        with ui.row().classes("items-center gap-2 w-full flex-nowrap py-1").mark("identity"):
            if channel is not None:
                channel_icon(channel.type, size="sm")
            with ui.column().classes("gap-0 min-w-0"):
                ui.label(self.channel_name(identity.channel_id)).classes("text-sm font-medium truncate")
                ui.label(identity.external_id).classes("text-xs font-mono text-slate-500 break-all")

    # ---- conversations ----

    def _conversations(self) -> None:
        with ui.card().classes("w-full gap-0 p-0 overflow-hidden"):
            with ui.row().classes("items-center w-full px-4 pt-3 pb-2"):
                ui.label("Conversations").classes("font-semibold")
            if not self.loaded:
                with ui.row().classes("w-full justify-center p-6"):
                    ui.spinner()
                return
            if not self.conversations:
                ui.label("No conversations yet.").classes("text-sm text-slate-500 px-4 pb-4")
                return
            for conversation in self.conversations:
                self._conversation(conversation)
            if self.next_cursor:
                with ui.row().classes("w-full justify-center py-2"):
                    ui.button("Show older conversations", on_click=self._more).props("flat no-caps").mark(
                        "more-conversations"
                    )

    def _conversation(self, conversation: ConversationOut) -> None:
        with (
            ui.link(target=f"/conversations/{conversation.id}")
            .classes("no-underline text-inherit w-full")
            .mark(f"conversation-{conversation.id}")
        ):
            with ui.row().classes(
                "items-center gap-3 w-full flex-nowrap px-4 py-3 border-t border-slate-100 "
                "dark:border-slate-700 hover:bg-slate-50 dark:hover:bg-slate-700/50"
            ):
                channel_icon(conversation.channel.type, size="sm")
                with ui.column().classes("gap-0 min-w-0 flex-1"):
                    with ui.row().classes("items-center gap-2 flex-nowrap min-w-0"):
                        ui.label(conversation.channel.name).classes("text-xs text-slate-500 truncate")
                        status_chip(conversation.status)
                        if conversation.unread_count:
                            ui.badge(str(conversation.unread_count)).props("rounded")
                    ui.label(conversation.last_message_preview or "—").classes("text-sm truncate max-w-full")
                ui.label(relative_time(conversation.last_message_at)).classes(
                    "text-xs text-slate-500 shrink-0"
                ).tooltip(local_time(conversation.last_message_at))

    async def _more(self) -> None:
        if not await session.may_read():
            return
        page = await conversations.list_conversations(
            customer_id=self.id, limit=CONVERSATIONS_PAGE, cursor=self.next_cursor, viewer=self.agent
        )
        self.conversations += page.items
        self.next_cursor = page.next_cursor
        self.render.refresh()


class MergePanel:
    """Pick a duplicate, see what will move, confirm, merge."""

    def __init__(self, view: CustomerView) -> None:
        self.view = view
        self._generation = 0

    def build(self) -> None:
        with ui.card().classes("w-full gap-2"):
            ui.label("Merge a duplicate into this customer").classes("font-semibold")
            ui.label(
                "Found the same person twice? Pick the other record: its identities and conversations move "
                "here, and it is removed."
            ).classes("text-xs text-slate-500")
            with (
                ui.input(placeholder="Search name, phone or email", on_change=lambda e: self._search(e.value))
                .props("outlined dense clearable debounce=300 maxlength=200")
                .classes("w-full")
                .mark("merge-search") as search
            ):
                with search.add_slot("prepend"):
                    ui.icon("search").classes("text-slate-400")
            self.results = ui.column().classes("w-full gap-0")

    async def _search(self, text: str | None) -> None:
        self._generation += 1
        generation = self._generation
        text = (text or "").strip()
        if text and not await session.may_read():
            return
        found = (
            (await customers.browse_customers(q=text, sort="name", limit=MERGE_CANDIDATES + 1)).items if text else []
        )
        if generation != self._generation or self.results.is_deleted:
            return
        candidates = [c for c in found if c.id != self.view.id][:MERGE_CANDIDATES]
        self.results.clear()
        with self.results:
            if text and not candidates:
                ui.label("No other customer matches.").classes("text-sm text-slate-500 py-2")
            for candidate in candidates:
                self._candidate(candidate)

    def _candidate(self, candidate: CustomerOut) -> None:
        with ui.row().classes(
            "items-center gap-3 w-full flex-nowrap py-2 border-t border-slate-100 dark:border-slate-700"
        ):
            avatar(candidate.name, size="sm")
            with ui.column().classes("gap-0 min-w-0 flex-1"):
                ui.label(candidate.name).classes("text-sm font-medium truncate max-w-full")
                ui.label(
                    " · ".join(filter(None, (candidate.email, candidate.phone)))
                    or _plural(len(candidate.identities), "identity", "identities")
                ).classes("text-xs text-slate-500 truncate max-w-full")
            ui.button("Merge…", on_click=lambda: self._confirm(candidate.id)).props("outline dense no-caps").classes(
                "shrink-0"
            ).mark(f"merge-pick-{candidate.id}")

    async def _confirm(self, duplicate_id: int) -> None:
        try:
            preview = await customers.merge_preview(keep_id=self.view.id, duplicate_id=duplicate_id)
        except ServiceError as error:
            ui.notify(_sentence(str(error)), type="negative")
            return
        with ui.dialog() as dialog, ui.card().classes("w-full max-w-lg gap-3").mark("merge-dialog"):
            self._explain(preview)
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat no-caps").mark("cancel-merge")
                ui.button("Merge", icon="merge", on_click=lambda: dialog.submit(True)).props(
                    "unelevated no-caps color=negative"
                ).mark("confirm-merge")
        confirmed = await dialog
        if not dialog.is_deleted:
            dialog.delete()
        if confirmed:
            await self._merge(preview)

    def _explain(self, preview: MergePreview) -> None:
        duplicate, keep = preview.duplicate, preview.keep
        ui.label("Merge these customers?").classes("text-lg font-semibold")
        with ui.row().classes("items-center gap-2 w-full flex-nowrap"):
            avatar(duplicate.name, size="sm")
            ui.label(duplicate.name).classes("font-medium truncate min-w-0")
            ui.icon("arrow_forward").classes("text-slate-400 shrink-0")
            avatar(keep.name, size="sm")
            ui.label(keep.name).classes("font-medium truncate min-w-0")
        ui.label("Moves to the customer you are viewing:").classes("text-sm")
        with ui.column().classes("gap-1 pl-2 text-sm"):
            identities = ", ".join(
                f"{self.view.channel_name(i.channel_id)} · {i.external_id}" for i in duplicate.identities
            )
            count = _plural(len(duplicate.identities), "identity", "identities")
            ui.label(f"• {count}: {identities}" if identities else f"• {count}").classes("break-all")
            ui.label(f"• {_plural(preview.conversation_count, 'conversation', 'conversations')}, with all messages")
            if preview.filled_fields:
                fields = " and ".join(preview.filled_fields)
                ui.label(
                    f"• Their {fields} {'fills' if len(preview.filled_fields) == 1 else 'fill'} the empty "
                    f"{'one' if len(preview.filled_fields) == 1 else 'ones'} here."
                )
            if preview.notes_joined:
                ui.label("• Their notes are added to the notes here.")
        ui.label("The duplicate is then deleted and its page no longer exists. This cannot be undone.").classes(
            "text-sm text-negative"
        )

    async def _merge(self, preview: MergePreview) -> None:
        if not await session.may_act():
            return
        try:
            await customers.merge_customers(keep_id=preview.keep.id, duplicate_id=preview.duplicate.id)
        except ServiceError as error:
            ui.notify(_sentence(str(error)), type="negative")
            return
        ui.notify(f"Merged {preview.duplicate.name} into {preview.keep.name}", type="positive")
        await self.view.reload()
