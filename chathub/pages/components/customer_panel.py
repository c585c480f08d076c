"""The thread's side panel: who the customer is, the team's notes on them, where they write from, their other
conversations."""

from __future__ import annotations

from nicegui import ui

from chathub.models import Agent
from chathub.pages import session
from chathub.pages.components.layout import avatar
from chathub.pages.components.widgets import relative_time, sentence, status_chip
from chathub.schemas import ConversationOut, CustomerOut, CustomerPatch
from chathub.services import channels, conversations, customers, visibility
from chathub.services.errors import ServiceError


async def customer_panel(conversation: ConversationOut, agent: Agent) -> None:
    customer = await customers.get_customer(conversation.customer.id)
    channel_names = {c.id: c.name for c in await channels.list_channels()}
    with ui.column().classes("items-center w-full gap-1"):
        avatar(customer.name, size="xl")
        ui.label(customer.name).classes("text-lg font-semibold text-center break-all")
        for value, icon in ((customer.phone, "phone"), (customer.email, "mail")):
            if value:
                with ui.row().classes("items-center gap-1 text-sm text-slate-500"):
                    ui.icon(icon, size="xs")
                    ui.label(value)
        ui.link("Customer details", f"/customers/{customer.id}").classes("text-sm")
    ui.separator()
    _notes(customer, agent)
    ui.separator()
    ui.label("Identities").classes("text-xs uppercase text-slate-500 font-semibold")
    for identity in customer.identities:
        with ui.row().classes("items-center gap-1 text-sm"):
            ui.label(channel_names.get(identity.channel_id, f"Channel {identity.channel_id}")).classes("font-medium")
            ui.label(identity.external_id).classes("text-slate-500 break-all")
    others = [
        c
        for c in (await conversations.list_conversations(customer_id=customer.id, limit=10, viewer=agent)).items
        if c.id != conversation.id
    ]
    ui.separator()
    ui.label("Other conversations").classes("text-xs uppercase text-slate-500 font-semibold")
    if not others:
        ui.label("None").classes("text-sm text-slate-500")
    for other in others:
        with ui.link(target=f"/conversations/{other.id}").classes("no-underline text-inherit w-full"):
            with ui.column().classes("w-full gap-0 rounded p-2 hover:bg-slate-100 dark:hover:bg-slate-700"):
                with ui.row().classes("items-center gap-2 w-full"):
                    status_chip(other.status)
                    ui.label(other.channel.name).classes("text-xs")
                    ui.space()
                    ui.label(relative_time(other.last_message_at)).classes("text-xs text-slate-500")
                ui.label(other.last_message_preview).classes("text-sm text-slate-500 truncate w-full")


def _notes(customer: CustomerOut, agent: Agent) -> None:
    """The notes, editable in place (shown as text, whoever wrote them)."""
    ui.label("Notes").classes("text-xs uppercase text-slate-500 font-semibold")
    notes = (
        ui.textarea(value=customer.notes, placeholder="Notes for the team about this customer")
        .props("outlined dense autogrow")
        .classes("w-full")
        .mark("customer-notes")
    )

    async def save() -> None:
        if not await session.may_act():
            return
        try:
            await visibility.require_customer(agent, customer.id)
            await customers.update_customer(customer.id, CustomerPatch(notes=notes.value or ""))
        except ServiceError as error:
            ui.notify(sentence(str(error)), type="negative")
            return
        ui.notify("Notes saved", type="positive")

    ui.button("Save notes", on_click=save).props("flat dense no-caps").classes("self-end").mark("save-notes")
