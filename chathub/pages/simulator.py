"""The simulator panel: a tester plays a customer of a simulator channel on a fake phone.

Everything the phone sends goes through the channel's real webhook route (signed when the channel has a
secret), so the inbox, the webhook logs and de-duplication see exactly what a provider would post, and
the pane shows the HTTP answer under each message. Agents' replies appear when the simulated provider
takes them (the driver's `outbox` calls this tab's listener); receipts come back through the same route,
automatically or by hand from the phone. Customer text is only ever rendered as text.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from nicegui import Client, app, ui

from chathub import bus, process_state
from chathub.models import Agent, Channel, MessageDirection, MessageStatus
from chathub.pages import session
from chathub.pages.components.layout import avatar, frame, sees_all_only_notice
from chathub.pages.components.widgets import local_time, notice
from chathub.schemas import MessageOut
from chathub.services import agents, presence, simulator, visibility
from chathub.services.errors import ServiceError
from chathub.services.simulator import FakeCustomer, OutboxEntry, PostResult

log = logging.getLogger(__name__)

SAVED_KEY = "simulator_customers"  # the tester's fake customers: [{"name", "phone"}], newest first
SELECTED_KEY = "simulator_selected"  # {channel id: {"name", "phone"}}: who the phone plays, per channel
CHANNEL_KEY = "simulator_channel"
MAX_SAVED = 12
SAMPLE_IMAGE = "https://picsum.photos/seed/{seed}/400"
MALFORMED_BODY = b'{"from": "+15550000000", "type": "text", "message": "this body stops mid-string'
SAMPLE_LOCATION = (52.52, 13.405)
FAKE_NAMES = (
    "Ann Lee",
    "Bruno Diaz",
    "Chen Wei",
    "Dana Novak",
    "Emeka Obi",
    "Fatima Khan",
    "Goran Petrov",
    "Hana Sato",
    "Ines Moreau",
    "Jonas Berg",
)
RECEIPT_LABELS = {
    MessageStatus.sent: ("done", "sent"),
    MessageStatus.delivered: ("done_all", "delivered"),
    MessageStatus.read: ("done_all", "read"),
    MessageStatus.failed: ("error_outline", "failed"),
}
NOTE = "note"  # a bubble kind of this pane only: something the tester did that is no message
RAW = "raw"  # a bubble kind of this pane only: bytes posted as they are
ADMINS_ONLY = "Only admins can change how the simulated provider behaves."


@dataclass
class Bubble:
    """One line of the phone's chat: the customer's (mine), an agent's reply, or a note."""

    key: str
    mine: bool
    kind: str
    text: str = ""
    media_url: str | None = None
    location: tuple[float, float] | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    answer: str | None = None  # the HTTP answer to the request that carried it
    answer_ok: bool = True
    status: MessageStatus | None = None
    stored: bool = False  # a customer message the inbox has stored


def _location(payload: dict[str, Any] | None) -> tuple[float, float] | None:
    try:
        return float(payload["latitude"]), float(payload["longitude"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None


def bubble_of_message(message: MessageOut) -> Bubble:
    mine = message.direction == MessageDirection.inbound
    return Bubble(
        key=message.external_id or f"db-{message.id}",
        mine=mine,
        kind=message.content_type.value,
        text=message.content,
        media_url=message.media_url,
        location=_location(message.payload),
        at=message.created_at if mine else (message.sent_at or message.created_at),
        status=None if mine else message.status,
        stored=mine,
    )


def bubble_of_delivery(entry: OutboxEntry) -> Bubble:
    return Bubble(
        key=entry.external_id,
        mine=False,
        kind=entry.content_type.value,
        text=entry.content,
        media_url=entry.media_url,
        location=_location(entry.payload),
        at=entry.sent_at,
        status=MessageStatus.sent,
    )


def _is_chathub_file(url: str) -> bool:
    """A file ChatHub serves (a stored message's, or the signed link a provider gets): the only kind this pane
    loads. A customer's own URL is shown as text: whoever opens the pane would otherwise fetch it."""
    return url.startswith(("/media/", f"{process_state.current().settings.public_url}/media/public/"))


def answer_text(result: PostResult) -> str:
    reason = result.body.get("status") if result.accepted else result.body.get("detail")
    return f"{result.status_code} · {reason or 'no reason given'}"


def random_customer() -> FakeCustomer:
    return FakeCustomer(name=random.choice(FAKE_NAMES), phone=f"+1555{random.randrange(10**7):07d}")


def _saved_customers() -> list[FakeCustomer]:
    saved = app.storage.user.get(SAVED_KEY) or []
    return [FakeCustomer(name=str(c.get("name") or ""), phone=str(c["phone"])) for c in saved if c.get("phone")]


def _remember_customer(customer: FakeCustomer) -> None:
    others = [c for c in _saved_customers() if c.phone != customer.phone]
    app.storage.user[SAVED_KEY] = [vars(c) for c in [customer, *others][:MAX_SAVED]]


def _forget_customer(phone: str) -> None:
    app.storage.user[SAVED_KEY] = [vars(c) for c in _saved_customers() if c.phone != phone]


def _stored_selection(channel_id: int) -> FakeCustomer | None:
    chosen = (app.storage.user.get(SELECTED_KEY) or {}).get(str(channel_id))
    return FakeCustomer(name=chosen.get("name") or "", phone=chosen["phone"]) if chosen else None


def _store_selection(channel_id: int, customer: FakeCustomer | None) -> None:
    selected = dict(app.storage.user.get(SELECTED_KEY) or {})
    if customer is None:
        selected.pop(str(channel_id), None)
    else:
        selected[str(channel_id)] = vars(customer)
    app.storage.user[SELECTED_KEY] = selected


def _pick_channel(channels: list[Channel], wanted: int | None) -> Channel:
    by_id = {c.id: c for c in channels}
    return by_id.get(wanted or -1) or by_id.get(app.storage.user.get(CHANNEL_KEY) or -1) or channels[0]


async def page(request: Request, channel: int | None = None):
    agent = await session.require_agent(request)
    if not isinstance(agent, Agent):
        return agent
    async with frame("Simulator", agent, sees_all_only=True):
        if not visibility.sees_all(agent):  # its phones show every simulated customer's conversation
            sees_all_only_notice()
            return
        channels = await simulator.simulator_channels()
        if not channels:
            _no_channel_notice()
            return
        chosen = _pick_channel(channels, channel)
        app.storage.user[CHANNEL_KEY] = chosen.id
        await SimulatorPanel(agent, chosen, channels).build()


def _no_channel_notice() -> None:
    notice(
        "smartphone",
        "There is no simulator channel.",
        "An admin can add one on the Channels page.",
        "Go to Channels",
        "/channels",
    )


class SimulatorPanel:
    """The state of one tab: which channel, which fake customer, and what the phone shows."""

    def __init__(self, agent: Agent, channel: Channel, channels: list[Channel]) -> None:
        self.agent = agent
        self.channel = channel
        self.channels = channels
        self.customer: FakeCustomer | None = None
        self.conversation_ids: set[int] = set()
        self.bubbles: dict[str, Bubble] = {}
        self.posted: set[str] = set()  # message ids this tab posted for the current customer
        self.last_body: bytes | None = None  # the last message webhook, for "Resend last"
        self.auto_receipts = bool(channel.config.get("auto_receipts", True))
        self.search = ""
        self.typing_until = 0.0  # an agent is typing to this phone until then (monotonic)
        self.client = ui.context.client

    # ----- building -----------------------------------------------------------------------------------

    async def build(self) -> None:
        bus.message_created.subscribe(self._on_message_created)
        bus.message_status_changed.subscribe(self._on_status_changed)
        self._stop_listening = simulator.listen_to_the_provider(self._on_delivered, self._on_agent_typing)
        self.client.on_delete(self._stop_listening)
        with ui.column().classes("w-full max-w-7xl mx-auto p-3 sm:p-4 gap-4"):
            self._channel_bar()
            with ui.row().classes("w-full gap-4 items-start justify-center"):
                with ui.card().classes("w-full sm:w-80 p-4 gap-3"):
                    self._customer_form()
                    await self.customer_lists()
                with ui.column().classes("w-full max-w-[400px] gap-2"):
                    self.playing_bar()
                    self._phone()
                    self._tools()
                    self._build_location_dialog()
                    ui.timer(1.0, self._expire_typing)
                with ui.card().classes("w-full sm:w-80 p-4 gap-3"):
                    self._provider_controls()
        chosen = _stored_selection(self.channel.id)
        if chosen is not None:
            await self.select(chosen)

    def _channel_bar(self) -> None:
        with ui.row().classes("w-full items-center gap-3 flex-wrap"):
            if len(self.channels) > 1:
                ui.select(
                    {c.id: c.name for c in self.channels},
                    value=self.channel.id,
                    label="Simulator channel",
                    on_change=lambda e: ui.navigate.to(f"/simulator?channel={e.value}"),
                ).props("outlined dense options-dense").classes("w-64").mark("channel-select")
            else:
                with ui.row().classes("items-center gap-2"):
                    ui.icon("smartphone").classes("text-primary")
                    ui.label("Channel").classes("text-sm text-slate-500")
                    ui.label(self.channel.name).classes("text-base font-medium")
            if self.channel.webhook_secret:
                ui.chip("Signed requests", icon="verified_user", color="green-1", text_color="green-9").props(
                    "dense square"
                ).tooltip("Every request carries X-ChatHub-Signature (HMAC-SHA256)")
            if not self.channel.enabled:
                ui.chip(
                    "Channel disabled: webhooks answer 404", icon="block", color="orange-1", text_color="orange-9"
                ).props("dense square")
            ui.space()
            ui.label(f"POST /webhooks/simulator/{self.channel.id}").classes("font-mono text-xs text-slate-500")
            ui.link("Webhook logs", "/webhooks").classes("text-sm")

    def _customer_form(self) -> None:
        ui.label("Play a customer").classes("text-base font-semibold")
        ui.label("Pick who the phone belongs to, or make one up.").classes("text-xs text-slate-500 -mt-2")
        self.name_input = ui.input("Name").props("outlined dense").classes("w-full").mark("fake-name")
        self.phone_input = (
            ui.input("Phone", placeholder="+15550001234").props("outlined dense").classes("w-full").mark("fake-phone")
        )
        self.phone_input.on("keydown.enter", self._add_customer)
        self.form_error = ui.label().classes("text-negative text-sm")
        self.form_error.visible = False
        with ui.row().classes("w-full gap-2"):
            ui.button("Add customer", icon="person_add", on_click=self._add_customer).props(
                "unelevated no-caps"
            ).classes("flex-1").mark("add-customer")
            ui.button(icon="casino", on_click=self._add_random_customer).props("outline no-caps").tooltip(
                "Make up a random customer"
            ).mark("random-customer")

    @ui.refreshable_method
    async def customer_lists(self) -> None:
        saved = _saved_customers()
        ui.separator()
        ui.label("Your fake customers").classes("text-xs font-semibold uppercase text-slate-500")
        if saved:
            with ui.list().props("dense").classes("w-full"):
                for customer in saved:
                    self._customer_item(customer, removable=True)
        else:
            ui.label("None yet. They are kept in this browser.").classes("text-sm text-slate-500")
        ui.separator()
        ui.label("Customers on this channel").classes("text-xs font-semibold uppercase text-slate-500")
        ui.input(placeholder="Search name or number", value=self.search, on_change=self._search_changed).props(
            "outlined dense clearable debounce=300"
        ).classes("w-full").mark("channel-customer-search")
        known = {c.phone for c in saved}
        others = [
            c
            for c in await simulator.channel_customers(channel_id=self.channel.id, q=self.search)
            if c.phone not in known
        ]
        if others:
            with ui.list().props("dense").classes("w-full"):
                for customer in others:
                    self._customer_item(customer, removable=False)
        else:
            ui.label("Nobody else has written here yet." if not self.search else "Nobody matches.").classes(
                "text-sm text-slate-500"
            )

    def _customer_item(self, customer: FakeCustomer, *, removable: bool) -> None:
        chosen = self.customer is not None and self.customer.phone == customer.phone
        item = (
            ui.item(on_click=lambda c=customer: self.select(c))
            .props("clickable")
            .classes("rounded-lg px-2" + (" bg-indigo-50 dark:bg-slate-700" if chosen else ""))
            .mark(f"pick-{customer.phone}")
        )
        with item:
            with ui.item_section().props("avatar"):
                avatar(customer.name or customer.phone, size="sm")
            with ui.item_section():
                ui.label(customer.name or "No name").classes("text-sm font-medium truncate")
                ui.label(customer.phone).classes("text-xs text-slate-500")
            if removable:
                with ui.item_section().props("side"):
                    ui.button(icon="close").props("flat round dense size=sm").tooltip("Remove from your list").on(
                        "click.stop", lambda c=customer: self._forget(c)
                    ).mark(f"forget-{customer.phone}")

    @ui.refreshable_method
    def playing_bar(self) -> None:
        with ui.row().classes("w-full items-center gap-2 min-h-[32px] px-1"):
            if self.customer is None:
                ui.label("Nobody picked yet").classes("text-sm text-slate-500")
                return
            ui.label("Playing").classes("text-sm text-slate-500")
            ui.label(self.customer.name or "No name").classes("text-sm font-semibold")
            ui.label(self.customer.phone).classes("text-sm text-slate-500")
            ui.space()
            if self.conversation_ids:
                ui.link("Open in inbox", f"/conversations/{max(self.conversation_ids)}").classes("text-sm").mark(
                    "open-conversation"
                )

    def _phone(self) -> None:
        with ui.element("div").classes(
            "w-full rounded-[2.6rem] bg-slate-900 dark:bg-black p-3 shadow-2xl ring-1 ring-slate-700"
        ):
            with ui.column().classes(
                "w-full h-[620px] max-h-[75vh] rounded-[2rem] overflow-hidden gap-0 bg-[#efeae2] dark:bg-slate-950"
            ):
                with ui.row().classes(
                    "w-full justify-between px-6 pt-2 pb-1 text-[11px] font-semibold bg-emerald-800 text-white"
                ):
                    ui.label(local_time(datetime.now(UTC), "%H:%M"))
                    with ui.row().classes("gap-1 items-center"):
                        for icon in ("signal_cellular_alt", "wifi", "battery_full"):
                            ui.icon(icon, size="14px")
                with ui.row().classes("w-full items-center gap-3 px-4 py-2 bg-emerald-800 text-white no-wrap"):
                    avatar(self.channel.name, size="sm")
                    with ui.column().classes("gap-0 min-w-0"):
                        ui.label(self.channel.name).classes("font-medium truncate")
                        self.header_status = ui.label("Business account").classes("text-xs text-emerald-100")
                with ui.element("div").classes("w-full flex-1 min-h-0 overflow-y-auto flex flex-col-reverse"):
                    with ui.column().classes("w-full gap-2 p-3"):
                        self.messages()
                with ui.row().classes("w-full items-center gap-2 px-2 py-2 no-wrap bg-[#f0f2f5] dark:bg-slate-900"):
                    self.composer = (
                        ui.input(placeholder="Message")
                        .props("rounded outlined dense maxlength=4096")
                        .classes("flex-1 rounded-full bg-[#ffffff] dark:bg-slate-800")
                        .mark("composer")
                    )
                    self.composer.on("keydown.enter", self._send_text)
                    self.composer.on_value_change(self._customer_types)
                    ui.button(icon="send", on_click=self._send_text).props("round unelevated color=green-8").mark(
                        "send-message"
                    )

    @ui.refreshable_method
    def messages(self) -> None:
        if self.customer is None:
            with ui.column().classes("w-full items-center gap-2 py-24 text-center text-slate-500"):
                ui.icon("person_search", size="lg")
                ui.label("Pick or create a fake customer to start chatting.")
            return
        if not self.bubbles:
            ui.label("Say hello: whatever you send arrives through the channel's webhook.").classes(
                "self-center text-xs text-slate-600 dark:text-slate-300 bg-[#ffffffcc] dark:bg-slate-800 "
                "rounded-lg px-3 py-1 text-center"
            )
        for bubble in list(self.bubbles.values()):
            self._bubble(bubble)

    def _bubble(self, bubble: Bubble) -> None:
        if bubble.kind == NOTE:
            with ui.column().classes("self-center items-center gap-0 max-w-[90%]"):
                ui.label(bubble.text).classes(
                    "text-xs text-slate-700 bg-[#ffffffcc] dark:bg-slate-800 "
                    "dark:text-slate-200 rounded-lg px-3 py-1 text-center"
                )
                self._answer_line(bubble)
            return
        side = "self-end items-end" if bubble.mine else "self-start items-start"
        shape = (
            "bg-[#d9fdd3] dark:bg-emerald-900 rounded-br-sm"
            if bubble.mine
            else "bg-[#ffffff] dark:bg-slate-700 rounded-bl-sm"
        )
        with ui.column().classes(f"{side} gap-0.5 max-w-[82%]").mark("reply" if not bubble.mine else "mine"):
            with ui.column().classes(
                f"{shape} rounded-2xl px-3 py-2 gap-1 shadow-sm text-slate-900 dark:text-slate-100"
            ):
                self._content(bubble)
                with ui.row().classes(
                    "w-full justify-end items-center gap-1 text-[11px] text-slate-500 dark:text-slate-300"
                ):
                    ui.label(local_time(bubble.at, "%H:%M"))
                    if not bubble.mine and bubble.status in RECEIPT_LABELS:
                        icon, word = RECEIPT_LABELS[bubble.status]
                        color = "text-sky-500" if bubble.status == MessageStatus.read else ""
                        ui.icon(icon, size="14px").classes(color)
                        ui.label(word).mark("receipt-status")
                    if bubble.mine and bubble.stored:
                        ui.icon("inbox", size="14px").tooltip("Stored in the inbox")
            if not bubble.mine:
                self._receipt_buttons(bubble)
            self._answer_line(bubble)

    def _content(self, bubble: Bubble) -> None:
        if bubble.kind == RAW:
            ui.label(bubble.text).classes("font-mono text-xs break-all")
        elif bubble.media_url:
            if _is_chathub_file(bubble.media_url):
                ui.image(bubble.media_url).props("ratio=1").classes(
                    "w-56 max-w-full rounded-lg bg-slate-200 dark:bg-slate-600"
                )
            with ui.row().classes("items-center gap-1 text-xs text-slate-500"):
                ui.icon("image" if bubble.kind == "image" else "attach_file", size="14px")
                ui.label(bubble.media_url).classes("break-all")
        elif bubble.location is not None:
            lat, lon = bubble.location
            with ui.row().classes("items-center gap-1"):
                ui.icon("place").classes("text-red-500")
                ui.label(f"{lat:.5f}, {lon:.5f}")
            ui.link(
                "Open map", f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=15/{lat}/{lon}", new_tab=True
            ).classes("text-xs")
        elif bubble.kind not in ("text", "image"):
            ui.label(f"[{bubble.kind}]").classes("text-xs text-slate-500")
        if bubble.text and bubble.kind != RAW:
            ui.label(bubble.text).classes("whitespace-pre-wrap break-words")

    def _receipt_buttons(self, bubble: Bubble) -> None:
        if self.auto_receipts or bubble.status not in (MessageStatus.sent, MessageStatus.delivered):
            return
        with ui.row().classes("gap-1"):
            if bubble.status == MessageStatus.sent:
                ui.button("Delivered", icon="done_all", on_click=lambda b=bubble: self._receipt(b, "delivered")).props(
                    "dense flat no-caps size=sm"
                ).mark(f"receipt-delivered receipt-delivered-{bubble.key}")
            ui.button("Read", icon="visibility", on_click=lambda b=bubble: self._receipt(b, "read")).props(
                "dense flat no-caps size=sm"
            ).mark(f"receipt-read receipt-read-{bubble.key}")

    def _answer_line(self, bubble: Bubble) -> None:
        if bubble.answer is None:
            return
        color = "text-green-700 dark:text-green-400" if bubble.answer_ok else "text-red-600 dark:text-red-400"
        with ui.row().classes(f"items-center gap-1 text-[11px] {color} no-wrap max-w-full"):
            ui.icon("check_circle" if bubble.answer_ok else "error", size="14px")
            ui.label(bubble.answer).classes("break-words").mark("http-answer")

    def _tools(self) -> None:
        tools = [
            ("Image", "image", self._send_image, "send-image", "A photo, with the composer's text as caption"),
            ("Location", "place", self._location_dialog, "location", "Share a latitude and longitude"),
            (
                "Resend last",
                "replay",
                self._resend_last,
                "resend-last",
                "Post the last message webhook again, byte for byte",
            ),
            (
                "Malformed JSON",
                "code_off",
                self._send_malformed,
                "send-malformed",
                "Post a body that is not JSON: the webhook answers 400",
            ),
        ]
        with ui.element("div").classes("w-full grid grid-cols-2 gap-2"):
            for label, icon, action, marker, hint in tools:
                color = " color=negative" if marker == "send-malformed" else ""
                ui.button(label, icon=icon, on_click=action).props(f"outline no-caps{color}").classes("w-full").tooltip(
                    hint
                ).mark(marker)

    def _provider_controls(self) -> None:
        config = self.channel.config
        ui.label("Provider behaviour").classes("text-base font-semibold")
        ui.label("How the simulated provider treats agents' replies on this channel.").classes(
            "text-xs text-slate-500 -mt-2"
        )
        if not agents.is_admin(self.agent):
            self._provider_summary(config)
            return
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("Failure rate").classes("text-sm")
            rate_label = ui.label().classes("text-sm font-medium")
        rate = ui.slider(min=0, max=100, step=5, value=round(float(config.get("failure_rate", 0)) * 100)).mark(
            "failure-rate"
        )
        rate_label.bind_text_from(rate, "value", lambda v: f"{v or 0:.0f} %")
        rate.on("change", lambda e: self._save_provider(e, rate, "failure_rate", lambda v: round(v / 100, 2)))
        ui.label("Failed sends are retried by the outbound worker, then marked failed.").classes(
            "text-xs text-slate-500 -mt-2"
        )
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("Latency").classes("text-sm")
            latency_label = ui.label().classes("text-sm font-medium")
        latency = ui.slider(min=0, max=5000, step=100, value=int(config.get("latency_ms", 0))).mark("latency")
        latency_label.bind_text_from(latency, "value", lambda v: f"{v or 0:.0f} ms")
        latency.on("change", lambda e: self._save_provider(e, latency, "latency_ms", int))
        ui.separator()
        ui.switch("Automatic receipts", value=self.auto_receipts, on_change=self._toggle_auto_receipts).mark(
            "auto-receipts"
        )
        self.receipts_hint = ui.label().classes("text-xs text-slate-500 -mt-2")
        self._set_receipts_hint()

    def _provider_summary(self, config: dict[str, Any]) -> None:
        """What non-admins see instead of the controls: they play customers, admins set the channel up."""
        with ui.column().classes("w-full gap-1 text-sm").mark("provider-summary"):
            ui.label(f"Failure rate: {float(config.get('failure_rate', 0)) * 100:.0f} %")
            ui.label(f"Latency: {int(config.get('latency_ms', 0))} ms")
            ui.label(f"Automatic receipts: {'on' if self.auto_receipts else 'off'}")
        ui.label(ADMINS_ONLY).classes("text-xs text-slate-500")
        self.receipts_hint = ui.label().classes("text-xs text-slate-500")
        self._set_receipts_hint()

    def _set_receipts_hint(self) -> None:
        config = self.channel.config
        self.receipts_hint.set_text(
            f"Replies turn delivered after {config.get('delivered_after_ms', 300)} ms and read after "
            f"{config.get('read_after_ms', 1500)} ms."
            if self.auto_receipts
            else "Mark each reply delivered or read by hand, on the phone."
        )

    # ----- actions --------------------------------------------------------------------------------------

    async def select(self, customer: FakeCustomer) -> None:
        self.customer = customer
        self.bubbles, self.posted, self.conversation_ids, self.last_body = {}, set(), set(), None
        self.typing_until = 0.0
        _store_selection(self.channel.id, customer)
        thread = await simulator.thread(channel_id=self.channel.id, phone=customer.phone)
        if self.customer != customer:
            return  # another pick while this one loaded
        self.conversation_ids |= thread.conversation_ids
        history = {b.key: b for b in map(bubble_of_message, thread.messages)}
        self.bubbles = {**history, **{k: b for k, b in self.bubbles.items() if k not in history}}
        self._refresh_phone()
        self.customer_lists.refresh()

    async def _add_customer(self) -> None:
        try:
            customer = simulator.check_fake_customer(
                name=self.name_input.value or "", phone=self.phone_input.value or ""
            )
        except ServiceError as problem:
            self.form_error.set_text(str(problem)[:1].upper() + str(problem)[1:] + ".")
            self.form_error.visible = True
            return
        self.form_error.visible = False
        self.name_input.value = self.phone_input.value = ""
        _remember_customer(customer)
        await self.select(customer)

    async def _add_random_customer(self) -> None:
        customer = random_customer()
        _remember_customer(customer)
        await self.select(customer)

    async def _forget(self, customer: FakeCustomer) -> None:
        _forget_customer(customer.phone)
        if self.customer == customer:
            self.customer = None
            _store_selection(self.channel.id, None)
            self._refresh_phone()
        self.customer_lists.refresh()

    async def _search_changed(self, e) -> None:
        self.search = (e.value or "").strip()
        self.customer_lists.refresh()

    async def _customer_types(self, e) -> None:
        """Agents viewing this customer's conversation see them typing (the service throttles)."""
        if self.customer is not None and (e.value or "").strip():
            await presence.customer_typing(channel_id=self.channel.id, external_id=self.customer.phone)

    def _need_customer(self) -> FakeCustomer | None:
        if self.customer is None:
            ui.notify("Pick or create a fake customer first.", type="warning")
        return self.customer

    async def _send_text(self) -> None:
        text = (self.composer.value or "").strip()
        if not (customer := self._need_customer()):
            return
        if not text:
            ui.notify("Type a message first.", type="warning")
            return
        self.composer.value = ""
        payload = simulator.customer_message(phone=customer.phone, name=customer.name or None, message=text)
        await self._post_message(payload, Bubble(key=payload["message_id"], mine=True, kind="text", text=text))

    async def _send_image(self) -> None:
        if not (customer := self._need_customer()):
            return
        caption = (self.composer.value or "").strip()
        self.composer.value = ""
        url = SAMPLE_IMAGE.format(seed=uuid.uuid4().hex[:8])
        payload = simulator.customer_message(
            phone=customer.phone,
            name=customer.name or None,
            kind="image",
            media_url=url,
            mime_type="image/jpeg",
            message=caption,
        )
        await self._post_message(
            payload, Bubble(key=payload["message_id"], mine=True, kind="image", text=caption, media_url=url)
        )

    def _location_dialog(self) -> None:
        if self._need_customer():
            self.location_error.visible = False
            self.location_dialog.open()

    def _build_location_dialog(self) -> None:
        with ui.dialog() as self.location_dialog, ui.card().classes("w-80 gap-3"):
            ui.label("Share a location").classes("text-base font-semibold")
            latitude = (
                ui.number("Latitude", value=SAMPLE_LOCATION[0], format="%.5f")
                .props("outlined dense")
                .classes("w-full")
                .mark("latitude")
            )
            longitude = (
                ui.number("Longitude", value=SAMPLE_LOCATION[1], format="%.5f")
                .props("outlined dense")
                .classes("w-full")
                .mark("longitude")
            )
            self.location_error = ui.label("Enter both numbers.").classes("text-negative text-sm")
            self.location_error.visible = False

            async def send() -> None:
                if latitude.value is None or longitude.value is None:
                    self.location_error.visible = True
                    return
                self.location_dialog.close()
                await self._send_location(float(latitude.value), float(longitude.value))

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.location_dialog.close).props("flat no-caps")
                ui.button("Send location", on_click=send).props("unelevated no-caps").mark("send-location")

    async def _send_location(self, latitude: float, longitude: float) -> None:
        if not (customer := self._need_customer()):
            return
        payload = simulator.customer_message(
            phone=customer.phone, name=customer.name or None, kind="location", latitude=latitude, longitude=longitude
        )
        await self._post_message(
            payload, Bubble(key=payload["message_id"], mine=True, kind="location", location=(latitude, longitude))
        )

    async def _post_message(self, payload: dict[str, Any], bubble: Bubble) -> None:
        """Show the message at once, post it through the webhook route, then show the answer under it."""
        customer = self.customer
        self.posted.add(bubble.key)
        self.bubbles[bubble.key] = bubble
        self.messages.refresh()
        result = await self._post(lambda: simulator.post_payload(self.channel.id, payload))
        if result is None:
            return
        if self.customer == customer:
            self.last_body = result.request_body
        self._show_answer(bubble, result)

    async def _resend_last(self) -> None:
        if not self._need_customer():
            return
        if self.last_body is None:
            ui.notify("Send a message first: this posts the same webhook again, byte for byte.", type="warning")
            return
        body = self.last_body
        result = await self._post(lambda: simulator.post_raw(self.channel.id, body))
        if result is not None:
            note = Bubble(
                key=f"note-{uuid.uuid4().hex}",
                mine=True,
                kind=NOTE,
                text="Posted the last message webhook again, byte for byte",
            )
            self.bubbles[note.key] = note
            self._show_answer(note, result)

    async def _send_malformed(self) -> None:
        if not self._need_customer():
            return
        bubble = Bubble(key=f"raw-{uuid.uuid4().hex}", mine=True, kind=RAW, text=MALFORMED_BODY.decode())
        self.bubbles[bubble.key] = bubble
        result = await self._post(lambda: simulator.post_raw(self.channel.id, MALFORMED_BODY))
        if result is not None:
            self._show_answer(bubble, result)

    async def _receipt(self, bubble: Bubble, status: str) -> None:
        result = await self._post(lambda: simulator.send_receipt(self.channel.id, bubble.key, status))
        if result is not None:
            bubble.answer, bubble.answer_ok = f"{status} receipt: {answer_text(result)}", result.accepted
            self.messages.refresh()

    async def _post(self, call) -> PostResult | None:
        if not await session.may_act():  # on https the page signs its posts: only for an agent who still may
            return None
        try:
            return await call()
        except ServiceError as problem:
            ui.notify(f"Could not post: {problem}", type="negative")
            return None

    def _show_answer(self, bubble: Bubble, result: PostResult) -> None:
        bubble.answer, bubble.answer_ok = answer_text(result), result.accepted
        self.messages.refresh()

    async def _save_provider(self, event, slider: ui.slider, key: str, convert) -> None:
        if not await session.may_act(admin=True):  # the role may have gone since
            return
        value = event.args if isinstance(event.args, (int, float)) else slider.value
        try:
            config = await simulator.set_provider_behaviour(self.channel.id, **{key: convert(value or 0)})
        except ServiceError as problem:
            ui.notify(f"Not saved: {problem}", type="negative")
            return
        self.channel.config = config
        ui.notify("Provider behaviour saved.", type="positive", timeout=1500)

    async def _toggle_auto_receipts(self, e) -> None:
        if not await session.may_act(admin=True):  # the role may have gone since
            return
        try:
            config = await simulator.set_provider_behaviour(self.channel.id, auto_receipts=bool(e.value))
        except ServiceError as problem:
            ui.notify(f"Not saved: {problem}", type="negative")
            return
        self.channel.config = config
        self.auto_receipts = bool(config["auto_receipts"])
        self._set_receipts_hint()
        self.messages.refresh()

    def _refresh_phone(self) -> None:
        self.playing_bar.refresh()
        self.messages.refresh()

    # ----- live updates (cheap: no query) --------------------------------------------------------------

    def _on_delivered(self, entry: OutboxEntry) -> None:
        """The provider took an agent's reply: show it if it is for the customer this phone plays."""
        if self.client.is_deleted or self.client.id not in Client.instances:
            self._stop_listening()
            return
        try:
            customer = self.customer
            if customer is None or entry.channel_id != self.channel.id or entry.recipient_id != customer.phone:
                return
            if entry.external_id not in self.bubbles:
                self.bubbles[entry.external_id] = bubble_of_delivery(entry)
                self.messages.refresh()
            self.typing_until = 0.0
            self._expire_typing()
        except Exception:  # never let one tab break the provider's delivery
            log.exception("the simulator panel could not show a delivered reply")

    def _on_message_created(self, message: MessageOut) -> None:
        if (
            self.customer is None
            or message.channel_id != self.channel.id
            or message.direction != MessageDirection.inbound
        ):
            return
        if message.external_id not in self.posted and message.conversation_id not in self.conversation_ids:
            return
        if message.conversation_id not in self.conversation_ids:
            self.conversation_ids.add(message.conversation_id)
            self.playing_bar.refresh()
        bubble = self.bubbles.get(message.external_id or "")
        if bubble is None:
            self.bubbles[message.external_id or f"db-{message.id}"] = bubble_of_message(message)
        else:
            bubble.stored = True
        self.messages.refresh()

    def _on_status_changed(self, message: MessageOut) -> None:
        bubble = self.bubbles.get(message.external_id or "")
        if bubble is None or bubble.mine or message.channel_id != self.channel.id or bubble.status == message.status:
            return
        bubble.status = message.status
        self.messages.refresh()

    def _on_agent_typing(self, channel_id: int, recipient_id: str) -> None:
        """An agent types to this channel's recipient: the phone's header says so for a few seconds."""
        if self.client.is_deleted or self.client.id not in Client.instances:
            self._stop_listening()
            return
        customer = self.customer
        if customer is not None and channel_id == self.channel.id and recipient_id == customer.phone:
            self.typing_until = time.monotonic() + presence.TYPING_SECONDS
            self.header_status.set_text("typing…")

    def _expire_typing(self) -> None:
        if time.monotonic() >= self.typing_until and self.header_status.text != "Business account":
            self.header_status.set_text("Business account")
