"""Channels (inboxes): create, change, look up, and build the driver that talks for one; and what pages may know
of each channel type (`channel_kind`), so that they never import a driver."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
from sqlmodel import select

from chathub import bus, db, process_state, relay
from chathub.drivers import DRIVERS, driver_class, make_driver
from chathub.drivers.base import (
    Capabilities,
    ChannelDriver,
    ChannelError,
    ChannelHealth,
    ConfigField,
    DriverContext,
    UnknownSettings,
)
from chathub.models import Channel, ChannelType, ContentType, utcnow
from chathub.schemas import ChannelHealthOut, ChannelIn, ChannelOut, ChannelPatch
from chathub.services import live_visitors
from chathub.services.errors import NotFound, ValidationFailed


class ChannelCache:
    """Webhook intake looks a channel up on every request; channels change rarely and only through here."""

    def __init__(self) -> None:
        self.by_id: dict[int, Channel] = {}
        self.default_simulator_id: int | None = None  # found once: channels are never deleted
        # Counts what was forgotten. A look-up whose read began before a change was committed and forgotten would
        # otherwise put the old row back, for good: it keeps its row only if nothing was forgotten meanwhile.
        self.forgotten = 0

    def forget(self, channel_id: int) -> None:
        self.by_id.pop(channel_id, None)
        self.forgotten += 1


def _cache() -> ChannelCache:
    return process_state.current().part(ChannelCache)


@dataclass(frozen=True)
class ChannelKind:
    """What pages show and ask about one channel type, as its driver declares it."""

    type: str
    label: str
    icon: str
    capabilities: Capabilities | None  # None for a stored type no driver is registered for any more
    config_fields: tuple[ConfigField, ...] = ()  # empty: settings are edited as JSON
    uses_webhook_secret: bool = False  # requests are signed with the channel's own webhook secret


def channel_kinds() -> list[ChannelKind]:
    """Every channel type an admin may add, in the registry's order."""
    return [channel_kind(channel_type) for channel_type in DRIVERS]


def channel_kind(channel_type: str) -> ChannelKind:
    driver = DRIVERS.get(channel_type)
    if driver is None:
        return ChannelKind(type=channel_type, label=channel_type.capitalize(), icon="forum", capabilities=None)
    return ChannelKind(
        type=driver.type,
        label=driver.label,
        icon=driver.icon,
        capabilities=driver.capabilities,
        config_fields=driver.config_fields,
        uses_webhook_secret=driver.uses_webhook_secret,
    )


def clear_cache() -> None:
    process_state.current().parts.pop(ChannelCache, None)


def forget_cached(channel_ids: list[int]) -> None:
    """Another instance changed these channels: the next look-up reads them again."""
    for channel_id in channel_ids:
        _cache().forget(channel_id)


async def get_channel(channel_id: int) -> Channel:
    cache = _cache()
    channel = cache.by_id.get(channel_id)
    if channel is None:
        forgotten = cache.forgotten
        async with db.read_session() as session:
            channel = await session.get(Channel, channel_id)
        if channel is None:
            raise NotFound(f"channel {channel_id} does not exist")
        if cache.forgotten == forgotten:
            cache.by_id[channel_id] = channel
    return channel


async def default_simulator_channel() -> Channel:
    """The oldest simulator channel: the one `POST /webhooks/simulator` feeds."""
    cache = _cache()
    if cache.default_simulator_id is None:
        async with db.read_session() as session:
            channel_id = (
                await session.exec(
                    select(Channel.id).where(Channel.type == ChannelType.simulator).order_by(Channel.id).limit(1)
                )
            ).first()
        if channel_id is None:
            raise NotFound("there is no simulator channel")
        cache.default_simulator_id = channel_id
    return await get_channel(cache.default_simulator_id)


async def list_channels() -> list[Channel]:
    async with db.read_session() as session:
        return list((await session.exec(select(Channel).order_by(Channel.id))).all())


async def create_channel(data: ChannelIn) -> Channel:
    """Save a new channel. Call `connect_channel` next to register its webhook with the provider."""
    check_type(data.type)
    config, api_base_url = _split_base_url(data.config, data.api_base_url)
    config = _checked_config(data.type, config)
    channel = Channel(
        type=data.type,
        name=_checked_name(data.name),
        enabled=data.enabled,
        config=config,
        webhook_secret=_checked_secret(data.type, data.webhook_secret),
        api_base_url=_checked_url(api_base_url),
        auto_assign=data.auto_assign,
        max_open_per_agent=data.max_open_per_agent,
    )
    async with db.write_session() as session:
        session.add(channel)
        await session.flush()
        relay.announce(session, "channel_changed", channel.id)
    _cache().forget(channel.id)
    process_state.current().wake(JOBS_WORKER)
    return channel


async def update_channel(channel_id: int, patch: ChannelPatch) -> Channel:
    changes = patch.model_dump(exclude_unset=True)
    if "webhook_secret" in changes and not changes["webhook_secret"]:
        await _refuse_opening_the_default_simulator(channel_id)
    async with db.write_session() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None:
            raise NotFound(f"channel {channel_id} does not exist")
        if "config" in changes:
            config, base_url = _split_base_url(changes["config"], changes.get("api_base_url"))
            if base_url is not None:
                changes["api_base_url"] = base_url
            changes["config"] = _merged_config(channel.type, channel.config, _unmasked(config))
            changes["problem"] = None  # new credentials: the old complaint no longer applies,
            changes["verified_at"] = None  # and nor does the old confirmation
        if "api_base_url" in changes:
            changes["api_base_url"] = _checked_url(changes["api_base_url"])
        if "webhook_secret" in changes:
            changes["webhook_secret"] = _checked_secret(channel.type, changes["webhook_secret"])
        if changes.get("name") is not None:
            changes["name"] = _checked_name(changes["name"])
        for key, value in changes.items():
            setattr(channel, key, value)
        session.add(channel)
        relay.announce(session, "channel_changed", channel_id)
    _cache().forget(channel_id)
    process_state.current().wake(JOBS_WORKER)
    if {"auto_assign", "max_open_per_agent"} & changes.keys():
        process_state.current().wake(ASSIGNMENT_WORKER)
    return channel


JOBS_WORKER = "channel-jobs"  # runs the background jobs drivers declare (services.channel_jobs)
ASSIGNMENT_WORKER = "assignment"  # hands out conversations on channels that assign them (services.assignment)


def webhook_url(channel: Channel) -> str:
    return f"{process_state.current().settings.public_url}/webhooks/{channel.type}/{channel.id}"


def channel_out(channel: Channel) -> ChannelOut:
    return ChannelOut(
        id=channel.id,
        type=channel.type,
        name=channel.name,
        enabled=channel.enabled,
        webhook_url=webhook_url(channel),
        has_secret=bool(channel.webhook_secret),
        api_base_url=channel.api_base_url,
        config=_public_config(channel.type, channel.config),
        problem=channel.problem,
        verified_at=channel.verified_at,
        auto_assign=channel.auto_assign,
        max_open_per_agent=channel.max_open_per_agent,
    )


def driver_for(channel: Channel) -> ChannelDriver:
    async def post_webhook(body: bytes, headers: dict[str, str]) -> Any:
        """Into this channel's own webhook route, as the provider would post."""
        return await process_state.current().loopback.post(
            f"/webhooks/{channel.type}/{channel.id}", content=body, headers=headers
        )

    context = DriverContext(
        channel_id=channel.id,
        config=channel.config,
        webhook_secret=channel.webhook_secret,
        api_base_url=channel.api_base_url,
        http=process_state.current().http,
        post_webhook=post_webhook,
        webhook_url=webhook_url(channel),
        max_media_bytes=process_state.current().settings.max_media_bytes,
        media_fetch_allow=process_state.current().settings.media_fetch_networks,
    )
    if driver_class(channel.type).capabilities.live_delivery:
        context.deliver_live = partial(live_visitors.deliver, channel.id)
    return make_driver(channel.type, context)


def check_type(channel_type: str) -> None:
    """Refuse (422) a channel type no driver is registered for."""
    if channel_type not in DRIVERS:
        raise ValidationFailed(f"there are no {channel_type} channels; the types are {', '.join(DRIVERS)}")


def _checked_config(channel_type: str, config: dict[str, Any]) -> dict[str, Any]:
    check_type(channel_type)
    try:
        return driver_class(channel_type).validate_config(config)
    except ValueError as error:
        raise ValidationFailed(str(error)) from None


def _merged_config(channel_type: str, stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The stored config changed by `patch`, checked. A stored key the driver does not use (saved before such
    keys were refused) never took effect: it is dropped rather than blocking every later change."""
    merged = {**stored, **patch}
    if channel_type in DRIVERS:
        try:
            driver_class(channel_type).validate_config(merged)
        except UnknownSettings as unknown:
            merged = {k: v for k, v in merged.items() if k in patch or k not in unknown.keys}
        except ValueError:
            pass  # said below
    return _checked_config(channel_type, merged)


def _checked_secret(channel_type: str, secret: str | None) -> str | None:
    if secret and not driver_class(channel_type).uses_webhook_secret:
        raise ValidationFailed(
            f"{channel_type} channels do not use webhook_secret: the provider's own "
            "credentials in the settings check every request"
        )
    return secret or None


async def _refuse_opening_the_default_simulator(channel_id: int) -> None:
    """Behind https the default simulator channel is reachable by anyone: it keeps a webhook secret."""
    if not process_state.current().settings.public_url.startswith("https://"):
        return
    try:
        default = await default_simulator_channel()
    except NotFound:
        return
    if default.id == channel_id:
        raise ValidationFailed(
            "the default simulator channel keeps a webhook secret while CHATHUB_PUBLIC_URL is "
            "https (anyone could post as a customer); generate a new secret instead"
        )


def _checked_name(name: str) -> str:
    if not name.strip():
        raise ValidationFailed("the name is empty")
    return name.strip()


def _checked_url(url: str | None) -> str | None:
    if url and not url.startswith(("http://", "https://")):
        raise ValidationFailed("api_base_url must start with http:// or https://")
    return url or None


SECRET_KEYS = ("token", "secret", "password", "key", "auth")
MASK = "***"


def is_secret_key(key: str) -> bool:
    return any(part in key.lower() for part in SECRET_KEYS)


def masked(value: Any) -> str:
    """A saved secret as shown again: its last four characters at most, so an admin can tell tokens apart."""
    text = str(value or "")
    return f"{MASK}{text[-4:]}" if len(text) >= 16 else MASK


def _public_config(channel_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config without credentials, for showing and listing. A driver's declared fields say which are
    secret; undeclared keys are judged by their names."""
    declared = {f.key: f.secret for f in driver_class(channel_type).config_fields} if channel_type in DRIVERS else {}
    return {k: (masked(v) if declared.get(k, is_secret_key(k)) else v) for k, v in config.items()}


def _unmasked(config: dict[str, Any]) -> dict[str, Any]:
    """A patch without the masked secrets a form sent back unchanged (those keep their saved values)."""
    return {k: v for k, v in config.items() if not str(v or "").startswith(MASK)}


def _split_base_url(config: dict[str, Any], api_base_url: str | None) -> tuple[dict[str, Any], str | None]:
    """`api_base_url` may come inside the config (as the provider docs list it); it is kept on the channel."""
    config = dict(config)
    from_config = config.pop("api_base_url", None)
    return config, api_base_url if api_base_url is not None else from_config


async def connect_channel(channel: Channel) -> tuple[bool, str | None]:
    """Register the channel's webhook with its provider (Telegram's setWebhook) after it was saved, then check
    the connection. Returns (worked, what to tell the admin); a refusal or a failed check becomes the channel's
    problem until fixed, a passing check makes it verified."""
    if not channel.enabled:
        return True, None
    try:
        said = await driver_for(channel).register_webhook()
    except ChannelError as error:
        problem = f"Registering the webhook failed: {error}"
        await record_problem(channel.id, problem)
        return False, problem
    except httpx.HTTPError as error:
        problem = f"Registering the webhook failed: the provider could not be reached ({error})"
        await record_problem(channel.id, problem)
        return False, problem
    if not has_provider(channel.type):
        await record_problem(channel.id, None)
        return True, said
    health = await check_health(channel.id)
    if not health.ok:
        return False, f"the connection check failed: {health.summary}"
    return True, said


def has_provider(channel_type: str) -> bool:
    """Whether an outside provider stands behind the channel (with credentials to check), unlike the simulator."""
    return bool(channel_kind(channel_type).config_fields)


async def check_health(channel_id: int) -> ChannelHealthOut:
    """Ask the provider whether the channel works, and keep the answer: a failure is the channel's problem
    (with the provider's reason), a pass makes it verified."""
    channel = await get_channel(channel_id)
    try:
        health = await driver_for(channel).check_health()
    except ChannelError as error:
        health = ChannelHealth(ok=False, summary=str(error))
    except httpx.HTTPError as error:
        health = ChannelHealth(ok=False, summary=f"The provider could not be reached: {error}")
    if health.ok:
        await _record_verified(channel_id)
    else:
        await record_problem(channel_id, f"The connection check failed: {health.summary}")
    return ChannelHealthOut(ok=health.ok, summary=health.summary, details=health.details)


async def record_problem(channel_id: int, problem: str | None) -> None:
    """Flag (or clear) what is wrong with a channel, e.g. rejected credentials; the Channels page shows it. A
    problem also ends the channel's verified state: only a passing check restores it."""
    cached = _cache().by_id.get(channel_id)
    if cached is not None and _already_recorded(cached, problem):
        return
    async with db.write_session() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None or _already_recorded(channel, problem):
            return
        channel.problem = problem
        if problem is not None:
            channel.verified_at = None
        session.add(channel)
        relay.announce(session, "channel_changed", channel_id)
    _cache().forget(channel_id)
    bus.channel_changed.emit(channel_out(channel))


def _already_recorded(channel: Channel, problem: str | None) -> bool:
    return channel.problem == problem and (problem is None or channel.verified_at is None)


async def _record_verified(channel_id: int) -> None:
    async with db.write_session() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None:
            return
        channel.problem = None
        channel.verified_at = utcnow()
        session.add(channel)
        relay.announce(session, "channel_changed", channel_id)
    _cache().forget(channel_id)
    bus.channel_changed.emit(channel_out(channel))


def outbound_problem(
    channel_type: str, content: str, content_type: ContentType = ContentType.text, *, has_media: bool = False
) -> str | None:
    """Why the composer's reply cannot go out on this channel (empty, too long, unsupported), or None."""
    return driver_class(channel_type).check_outbound(content_type, content, has_media=has_media)


def text_limit(channel_type: str) -> int:
    return driver_class(channel_type).capabilities.max_text_length


def new_webhook_secret() -> str:
    """A random secret for signing webhooks, for an admin to paste into the provider's settings."""
    return secrets.token_urlsafe(24)


def default_config(channel_type: str) -> dict[str, Any]:
    """A new channel's settings before the admin changes any ({} when the driver needs credentials first)."""
    try:
        return driver_class(channel_type).validate_config({})
    except (KeyError, ValueError):
        return {}
