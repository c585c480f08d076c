"""Channels (inboxes): create, change, look up, and build the driver that talks for one."""
from __future__ import annotations

import secrets
from typing import Any

from sqlmodel import select

from chathub import db
from chathub.drivers import DRIVERS, driver_class, make_driver
from chathub.drivers.base import ChannelDriver, DriverContext
from chathub.models import Channel, ChannelType, ContentType
from chathub.schemas import ChannelIn, ChannelOut, ChannelPatch
from chathub.services import runtime
from chathub.services.errors import NotFound, ValidationFailed

# Webhook intake looks a channel up on every request; channels change rarely and only through here.
_cache: dict[int, Channel] = {}


def clear_cache() -> None:
    _cache.clear()
    _default_simulator_id.clear()


async def get_channel(channel_id: int) -> Channel:
    channel = _cache.get(channel_id)
    if channel is None:
        async with db.read_session() as session:
            channel = await session.get(Channel, channel_id)
        if channel is None:
            raise NotFound(f"channel {channel_id} does not exist")
        _cache[channel_id] = channel
    return channel


_default_simulator_id: list[int] = []  # found once: channels are never deleted


async def default_simulator_channel() -> Channel:
    """The oldest simulator channel: the one `POST /webhooks/simulator` feeds."""
    if not _default_simulator_id:
        async with db.read_session() as session:
            channel_id = (await session.exec(
                select(Channel.id).where(Channel.type == ChannelType.simulator).order_by(Channel.id).limit(1)
            )).first()
        if channel_id is None:
            raise NotFound("there is no simulator channel")
        _default_simulator_id.append(channel_id)
    return await get_channel(_default_simulator_id[0])


async def list_channels() -> list[Channel]:
    async with db.read_session() as session:
        return list((await session.exec(select(Channel).order_by(Channel.id))).all())


async def create_channel(data: ChannelIn) -> Channel:
    config = _checked_config(data.type, data.config)
    channel = Channel(type=data.type, name=_checked_name(data.name), enabled=data.enabled, config=config,
                      webhook_secret=data.webhook_secret or None, api_base_url=_checked_url(data.api_base_url))
    async with db.write_session() as session:
        session.add(channel)
    _cache.pop(channel.id, None)
    return channel


async def update_channel(channel_id: int, patch: ChannelPatch) -> Channel:
    changes = patch.model_dump(exclude_unset=True)
    async with db.write_session() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None:
            raise NotFound(f"channel {channel_id} does not exist")
        if "config" in changes:
            changes["config"] = _checked_config(channel.type, {**channel.config, **changes["config"]})
        if "api_base_url" in changes:
            changes["api_base_url"] = _checked_url(changes["api_base_url"])
        if "webhook_secret" in changes:
            changes["webhook_secret"] = changes["webhook_secret"] or None
        if changes.get("name") is not None:
            changes["name"] = _checked_name(changes["name"])
        for key, value in changes.items():
            setattr(channel, key, value)
        session.add(channel)
    _cache.pop(channel_id, None)
    return channel


def webhook_url(channel: Channel) -> str:
    return f"{runtime.settings().public_url}/webhooks/{channel.type.value}/{channel.id}"


def channel_out(channel: Channel) -> ChannelOut:
    return ChannelOut(id=channel.id, type=channel.type, name=channel.name, enabled=channel.enabled,
                      webhook_url=webhook_url(channel), has_secret=bool(channel.webhook_secret),
                      api_base_url=channel.api_base_url, config=_public_config(channel.config))


def driver_for(channel: Channel) -> ChannelDriver:
    async def post_webhook(body: bytes, headers: dict[str, str]) -> Any:
        """Into this channel's own webhook route, as the provider would post."""
        return await runtime.runtime.loopback.post(f"/webhooks/{channel.type.value}/{channel.id}",
                                                   content=body, headers=headers)

    context = DriverContext(channel_id=channel.id, config=channel.config, webhook_secret=channel.webhook_secret,
                            api_base_url=channel.api_base_url, http=runtime.runtime.http,
                            post_webhook=post_webhook)
    return make_driver(channel.type, context)


def _checked_config(channel_type: ChannelType, config: dict[str, Any]) -> dict[str, Any]:
    if channel_type not in DRIVERS:
        raise ValidationFailed(f"{channel_type.value} channels are not available yet")
    try:
        return driver_class(channel_type).validate_config(config)
    except ValueError as error:
        raise ValidationFailed(str(error)) from None


def _checked_name(name: str) -> str:
    if not name.strip():
        raise ValidationFailed("the name is empty")
    return name.strip()


def _checked_url(url: str | None) -> str | None:
    if url and not url.startswith(("http://", "https://")):
        raise ValidationFailed("api_base_url must start with http:// or https://")
    return url or None


SECRET_KEYS = ("token", "secret", "password", "key", "auth")


def _public_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config without credentials, for showing and listing."""
    return {k: ("***" if any(s in k.lower() for s in SECRET_KEYS) else v) for k, v in config.items()}


def outbound_problem(channel_type: ChannelType, content: str, content_type: ContentType = ContentType.text) -> str | None:
    """Why the composer's text cannot go out on this channel (empty, too long, unsupported), or None."""
    return driver_class(channel_type).check_outbound(content_type, content)


def text_limit(channel_type: ChannelType) -> int:
    return driver_class(channel_type).capabilities.max_text_length


def new_webhook_secret() -> str:
    """A random secret for signing webhooks, for an admin to paste into the provider's settings."""
    return secrets.token_urlsafe(24)


def default_config(channel_type: ChannelType) -> dict[str, Any]:
    """A new channel's settings before the admin changes any ({} when the driver needs credentials first)."""
    try:
        return driver_class(channel_type).validate_config({})
    except (KeyError, ValueError):
        return {}
