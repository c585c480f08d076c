"""Channels (admin only): the inboxes customers write to, their webhook URLs, secrets and settings."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pydantic
from fastapi import Request
from nicegui import Client, ui

from chathub import bus
from chathub.models import Agent, Channel
from chathub.pages import session
from chathub.pages.components import widgets
from chathub.pages.components.layout import admin_only_notice, frame
from chathub.schemas import ChannelHealthOut, ChannelIn, ChannelPatch
from chathub.services import agents, channels
from chathub.services.errors import ServiceError, ValidationFailed

CONTENT = "w-full max-w-4xl mx-auto p-4 gap-4"
# How setting keys read inside a sentence (services name the key, the form shows the label).
FIELD_LABELS = {
    "api_base_url": "the API base URL",
    "failure_rate": "failure rate",
    "latency_ms": "latency",
    "auto_receipts": "automatic receipts",
    "delivered_after_ms": "the delivered delay",
    "read_after_ms": "the read delay",
    "max_open_per_agent": "at most open per agent",
}
MASKED = "***"

ConfigForm = Callable[[dict[str, Any]], Callable[[], dict[str, Any]]]
"""Builds a type's settings inputs from the channel's public config; returns what collects their values."""


async def page(request: Request):
    agent = await session.require_agent(request)
    if not isinstance(agent, Agent):
        return agent
    async with frame("Channels", agent, admin_only=True):
        if not agents.is_admin(agent):
            admin_only_notice()
            return

        checks: dict[int, ChannelHealthOut] = {}  # the last connection check of each channel in this tab
        drawing = asyncio.Lock()  # a save and the change it announces both redraw: one after the other

        @ui.refreshable
        def channel_list(items: list[Channel]) -> None:
            if not items:
                _empty_state()
            for channel in items:
                _channel_card(
                    channel,
                    checks,
                    on_edit=lambda c=channel: _open_editor(agent, c, redraw),
                    on_toggle=lambda value, c=channel: _set_enabled(agent, c, value, redraw),
                )

        async def redraw() -> None:
            async with drawing:
                channel_list.refresh(await channels.list_channels())

        with ui.column().classes(CONTENT):
            with ui.row().classes("w-full items-center gap-3"):
                with ui.column().classes("gap-0 grow min-w-[12rem]"):
                    ui.label("Inboxes").classes("text-xl font-semibold")
                    ui.label("Point each provider at its channel's webhook URL; replies go back the same way.").classes(
                        "text-sm text-slate-500"
                    )
                ui.button("Add channel", icon="add", on_click=lambda: _open_editor(agent, None, redraw)).props(
                    "no-caps unelevated"
                ).mark("add-channel")
            with ui.column().classes("w-full gap-3"):
                channel_list(await channels.list_channels())
        bus.channel_changed.subscribe(lambda _: redraw())


def _empty_state() -> None:
    with ui.column().classes("w-full items-center py-12 gap-2 text-slate-500"):
        ui.icon("hub", size="xl")
        ui.label("No channels yet. Add one to start receiving messages.")


def _channel_card(
    channel: Channel,
    checks: dict[int, ChannelHealthOut],
    *,
    on_edit: Callable[[], Any],
    on_toggle: Callable[[bool], Any],
) -> None:
    out = channels.channel_out(channel)
    with ui.card().props("flat bordered").classes("w-full p-4 gap-3").mark(f"channel-{channel.id}"):
        with ui.row().classes("w-full items-center gap-3 no-wrap"):
            with ui.element("div").classes("rounded-full bg-indigo-50 dark:bg-slate-700 p-2 flex"):
                widgets.channel_icon(channel.type, size="sm").classes("text-primary")
            with ui.column().classes("gap-0 grow min-w-0"):
                ui.label(channel.name).classes("font-medium truncate w-full")
                with ui.row().classes("items-center gap-2"):
                    ui.label(channels.channel_kind(channel.type).label).classes("text-xs text-slate-500")
                    _state_badge(channel).props("outline").classes("text-xs").mark(f"channel-state-{channel.id}")
            if channels.has_provider(channel.type):
                ui.button(
                    icon="network_check",
                    on_click=lambda: _check_connection(channel, health_box, checks, ui.context.client),
                ).props("flat round dense").tooltip("Check the connection").mark(f"check-channel-{channel.id}")
            ui.switch(value=channel.enabled, on_change=lambda e: on_toggle(e.value)).tooltip(
                "Enabled" if channel.enabled else "Disabled"
            ).mark(f"enabled-{channel.id}")
            ui.button(icon="edit", on_click=on_edit).props("flat round dense").tooltip("Edit").mark(
                f"edit-channel-{channel.id}"
            )
        with ui.row().classes("w-full items-center gap-2 no-wrap rounded bg-slate-50 dark:bg-slate-900 px-3 py-1"):
            ui.label("Webhook URL").classes("text-xs text-slate-500 shrink-0 max-sm:hidden")
            ui.label(out.webhook_url).classes("font-mono text-xs break-all grow min-w-0").mark(
                f"webhook-url-{channel.id}"
            )
            widgets.copy_button(out.webhook_url, what="Webhook URL").mark(f"copy-webhook-{channel.id}")
        if not channel.enabled:
            ui.label("Disabled: its webhook answers 404 and replies are not sent.").classes("text-xs text-orange-600")
        if channel.auto_assign:
            ui.label(_assignment_summary(channel)).classes("text-xs text-slate-500").mark(
                f"channel-assigns-{channel.id}"
            )
        if channel.problem:
            with (
                ui.row()
                .classes(
                    "w-full items-center gap-2 no-wrap text-sm text-red-700 bg-red-50 dark:bg-red-950 rounded px-3 py-2"
                )
                .mark(f"channel-problem-{channel.id}")
            ):
                ui.icon("error")
                ui.label(channel.problem).classes("grow")
        health_box = ui.column().classes("w-full gap-1")
        if channel.id in checks:
            with health_box:
                _health_result(channel.id, checks[channel.id])


def _state_badge(channel: Channel) -> ui.badge:
    """Simulator channels: whether webhooks are signed. Provider channels: whether the provider last confirmed
    the channel works; a registration or check that failed says why."""
    if channels.channel_kind(channel.type).uses_webhook_secret:
        if channel.webhook_secret:
            return ui.badge("Signed webhooks", color="green")
        return ui.badge("No secret", color="orange").tooltip("Anyone who knows the URL can post to it")
    if channel.problem:
        return ui.badge("Not working", color="red").tooltip(channel.problem)
    if channel.verified_at:
        return ui.badge("Verified webhooks", color="green").tooltip(
            f"The provider confirmed this channel {widgets.local_time(channel.verified_at, '%d %b %H:%M')}; every "
            "request is checked against the provider's signature"
        )
    return ui.badge("Not checked yet", color="orange").tooltip("Check the connection to verify it")


async def _check_connection(
    channel: Channel, box: ui.column, checks: dict[int, ChannelHealthOut], client: Client
) -> None:
    # The client is taken at the click: a change announced before this task runs may draw the list again, and the
    # clicked card's context goes with it.
    with client:
        allowed = await session.may_act(admin=True)  # the answer is kept as the channel's state
    if not allowed:
        return
    if not box.is_deleted:
        box.clear()
        with box:
            ui.spinner(size="sm")
    checks[channel.id] = await channels.check_health(channel.id)
    if not box.is_deleted:  # else the list was drawn again (the check changed the channel) and shows it
        box.clear()
        with box:
            _health_result(channel.id, checks[channel.id])


def _health_result(channel_id: int, health: ChannelHealthOut) -> None:
    with ui.row().classes("w-full items-start gap-2 no-wrap text-sm").mark(f"channel-health-{channel_id}"):
        ui.icon("check_circle" if health.ok else "error").classes("text-green-600" if health.ok else "text-red-600")
        with ui.column().classes("gap-0 grow min-w-0"):
            ui.label(health.summary).classes("font-medium")
            for key, value in health.details.items():
                if value not in (None, "", [], {}) and key != "credentials_rejected":
                    shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
                    ui.label(f"{key.replace('_', ' ')}: {shown}").classes("text-xs text-slate-500 break-all")


async def _set_enabled(admin: Agent, channel: Channel, enabled: bool, refresh: Callable[[], Awaitable[None]]) -> None:
    if await session.may_act(admin=True):
        try:
            await channels.update_channel(channel.id, ChannelPatch(enabled=enabled))
            ui.notify(f"{channel.name} {'enabled' if enabled else 'disabled'}")
        except ServiceError as problem:
            ui.notify(widgets.sentence(str(problem)), type="negative")
    await refresh()


def _open_editor(admin: Agent, channel: Channel | None, refresh: Callable[[], Awaitable[None]]) -> None:
    """The add/edit dialog. Every value is checked by the service before anything is written."""
    editing = channel is not None
    public_config = channels.channel_out(channel).config if editing else {}
    config_collector: dict[str, Callable[[], dict[str, Any]]] = {}
    dialog = widgets.disposable_dialog()
    with dialog, ui.card().classes("w-full max-w-lg p-6 gap-3"):
        ui.label(f"Edit {channel.name}" if editing else "Add a channel").classes("text-lg font-semibold")
        type_select = (
            ui.select(
                {kind.type: kind.label for kind in channels.channel_kinds()},
                label="Type",
                value=channel.type if editing else channels.channel_kinds()[0].type,
            )
            .props("outlined")
            .classes("w-full")
            .mark("channel-type")
        )
        type_select.set_enabled(not editing)
        name = (
            ui.input("Name", value=channel.name if editing else "")
            .props("outlined")
            .classes("w-full")
            .mark("channel-name")
        )
        with ui.row().classes("w-full items-start gap-2 no-wrap") as secret_row:
            secret = (
                ui.input(
                    "Webhook secret",
                    value=(channel.webhook_secret or "") if editing else "",
                    password=True,
                    password_toggle_button=True,
                )
                .props("outlined hint='Signs every request; leave empty to accept unsigned ones.'")
                .classes("grow")
                .mark("channel-secret")
            )
            ui.button("Generate", on_click=lambda: secret.set_value(channels.new_webhook_secret())).props(
                "flat no-caps"
            ).classes("mt-2").mark("generate-secret")
        secret_row.bind_visibility_from(
            type_select, "value", backward=lambda value: channels.channel_kind(value).uses_webhook_secret
        )
        api_url = (
            ui.input("API base URL (optional)", value=(channel.api_base_url or "") if editing else "")
            .props('outlined hint="Leave empty for the provider\'s own"')
            .classes("w-full")
            .mark("channel-api-url")
        )
        enabled = ui.switch("Enabled", value=channel.enabled if editing else True).mark("channel-enabled")
        auto_assign, max_open = _assignment_inputs(channel)
        ui.separator()
        ui.label("Settings").classes("font-medium")
        config_box = ui.column().classes("w-full gap-3")

        def build_config_form() -> None:
            config_box.clear()
            channel_type = type_select.value
            form = CONFIG_FORMS.get(channel_type) or _fields_form_or_json(channel_type)
            with config_box:
                config_collector["collect"] = form(public_config or channels.default_config(channel_type))

        build_config_form()
        type_select.on_value_change(build_config_form)
        error = ui.label().classes("text-negative text-sm").mark("channel-error")
        error.visible = False

        async def save() -> None:
            if not await session.may_act(admin=True):
                return
            channel_type = type_select.value
            signing_secret = (secret.value or "") if channels.channel_kind(channel_type).uses_webhook_secret else ""
            try:
                config = config_collector["collect"]()
                if editing:
                    saved = await channels.update_channel(
                        channel.id,
                        ChannelPatch(
                            name=name.value or "",
                            config=config,
                            webhook_secret=signing_secret,
                            api_base_url=(api_url.value or "").strip(),
                            enabled=enabled.value,
                            auto_assign=auto_assign.value,
                            max_open_per_agent=_whole(max_open.value),
                        ),
                    )
                else:
                    saved = await channels.create_channel(
                        ChannelIn(
                            type=channel_type,
                            name=name.value or "",
                            config=config,
                            webhook_secret=signing_secret or None,
                            api_base_url=(api_url.value or "").strip() or None,
                            enabled=enabled.value,
                            auto_assign=auto_assign.value,
                            max_open_per_agent=_whole(max_open.value),
                        )
                    )
            except ServiceError as problem:
                _show(error, _readable(str(problem)))
                return
            except pydantic.ValidationError as problem:
                _show(error, _validation_sentence(problem))
                return
            worked, said = await channels.connect_channel(saved)
            if worked:  # before closing: the closed dialog is deleted, and with it this handler's context
                ui.notify(f"{saved.name} saved" + (f". {widgets.sentence(said)}" if said else ""), type="positive")
            else:
                ui.notify(f"{saved.name} saved, but: {said}", type="warning", multi_line=True, timeout=10000)
            dialog.close()
            await refresh()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps").mark("cancel-channel")
            ui.button("Save" if editing else "Add channel", on_click=save).props("no-caps unelevated").mark(
                "save-channel"
            )
    dialog.open()


def _assignment_inputs(channel: Channel | None) -> tuple[ui.switch, ui.number]:
    """Automatic assignment: whether new and reopened conversations go to an online agent, and how many open
    conversations of this channel an agent may have before the rule passes them by."""
    auto_assign = ui.switch("Assign new conversations automatically", value=bool(channel and channel.auto_assign)).mark(
        "channel-auto-assign"
    )
    max_open = (
        ui.number(
            "At most open per agent",
            value=channel.max_open_per_agent if channel else 0,
            min=0,
            max=10_000,
            step=1,
        )
        .props("outlined hint='0: no limit'")
        .classes("w-full")
        .mark("channel-max-open")
    )
    max_open.bind_visibility_from(auto_assign, "value")
    return auto_assign, max_open


def _assignment_summary(channel: Channel) -> str:
    limit = f"at most {channel.max_open_per_agent} open per agent" if channel.max_open_per_agent else "no limit"
    return f"Assigns new and reopened conversations to an online agent ({limit})."


def simulator_config_form(config: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    with ui.element("div").classes("w-full grid grid-cols-1 sm:grid-cols-2 gap-3"):
        failure_rate = (
            ui.number("Failure rate", value=config.get("failure_rate"), min=0, max=1, step=0.05)
            .props("outlined hint='0 never fails, 1 always fails'")
            .mark("sim-failure-rate")
        )
        latency = (
            ui.number("Latency", value=config.get("latency_ms"), min=0, max=60_000, step=100, suffix="ms")
            .props("outlined hint='Before each reply is sent'")
            .mark("sim-latency")
        )
    receipts = ui.switch(
        "Send delivered and read receipts automatically", value=bool(config.get("auto_receipts", True))
    ).mark("sim-auto-receipts")
    with ui.element("div").classes("w-full grid grid-cols-1 sm:grid-cols-2 gap-3") as delays:
        delivered = (
            ui.number(
                "Delivered after", value=config.get("delivered_after_ms"), min=0, max=60_000, step=100, suffix="ms"
            )
            .props("outlined")
            .mark("sim-delivered-after")
        )
        read = (
            ui.number("Read after", value=config.get("read_after_ms"), min=0, max=60_000, step=100, suffix="ms")
            .props("outlined")
            .mark("sim-read-after")
        )
    delays.bind_visibility_from(receipts, "value")

    def collect() -> dict[str, Any]:
        return {
            "failure_rate": failure_rate.value,
            "latency_ms": _whole(latency.value),
            "auto_receipts": receipts.value,
            "delivered_after_ms": _whole(delivered.value),
            "read_after_ms": _whole(read.value),
        }

    return collect


def _fields_form_or_json(channel_type: str) -> ConfigForm:
    fields = channels.channel_kind(channel_type).config_fields
    return (lambda config: fields_config_form(fields, config)) if fields else json_config_form


def fields_config_form(
    fields: tuple[channels.ConfigField, ...], config: dict[str, Any]
) -> Callable[[], dict[str, Any]]:
    """One input per setting the driver declares. Saved secrets show masked and stay unless replaced."""
    inputs = {}
    for field in fields:
        label = field.label + ("" if field.required else " (optional)")
        box = (
            ui.input(
                label,
                value=str(config.get(field.key) or ""),
                password=field.secret,
                password_toggle_button=field.secret,
            )
            .props("outlined")
            .classes("w-full")
            .mark(f"config-{field.key}")
        )
        if field.hint:
            box.props(f"hint={json.dumps(field.hint)}")
        inputs[field.key] = box

    def collect() -> dict[str, Any]:
        values = {key: (box.value or "").strip() for key, box in inputs.items()}
        return {key: value for key, value in values.items() if not value.startswith(MASKED)}

    return collect


def json_config_form(config: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """Any type without its own form: its settings as JSON. Stored credentials show as *** and stay
    unchanged unless replaced."""
    editor = (
        ui.textarea("Settings (JSON)", value=json.dumps(config, indent=2))
        .props("outlined autogrow hint='Credentials already stored show as ***; leave them to keep them.'")
        .classes("w-full font-mono text-sm")
        .mark("channel-config-json")
    )

    def collect() -> dict[str, Any]:
        try:
            data = json.loads(editor.value or "{}")
        except ValueError as problem:
            raise ValidationFailed(f"the settings are not valid JSON: {problem}") from None
        if not isinstance(data, dict):
            raise ValidationFailed('the settings must be a JSON object: {"key": "value", ...}')
        return {key: value for key, value in data.items() if not str(value).startswith(MASKED)}

    return collect


# Settings forms richer than one text input per declared field (numbers, switches); other types get those, or
# the JSON editor when they declare no fields.
CONFIG_FORMS: dict[str, ConfigForm] = {
    "simulator": simulator_config_form,
}


def _whole(value: Any) -> Any:
    """Whole numbers from a number input as int (the input gives floats); anything else for the service
    to refuse."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _readable(message: str) -> str:
    for key, label in FIELD_LABELS.items():
        message = message.replace(key, label)
    return widgets.sentence(message)


def _validation_sentence(error: pydantic.ValidationError) -> str:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "value"
    if field == "name" and first["type"] == "string_too_short":
        return "The name is empty."
    if field == "name" and first["type"] == "string_too_long":
        return "The name is too long (at most 100 characters)."
    return widgets.sentence(f"{FIELD_LABELS.get(field, field)}: {first['msg']}")


def _show(label: ui.label, text: str) -> None:
    label.set_text(text)
    label.visible = True
