"""The contract every channel driver fulfils.

A driver translates between one provider's wire format and ChatHub's normalized events. It knows no
database, event bus or UI: bytes come in and events go out; a message comes in and a provider call goes
out. Everything it needs from outside (the channel's settings, an HTTP client, a way to post a webhook
to its own intake) arrives in a `DriverContext`, so tests can point it at a fake provider.

Errors::

    ChannelError                 anything a driver raises on purpose
    ├── SignatureError           verify(): the request is not from the provider       -> 401
    ├── InvalidPayload           parse(): not JSON, or required fields are missing     -> 400
    ├── RetryableError           send(): try again later (timeouts, 5xx, 429 + retry_after)
    └── PermanentError           send(): retrying cannot help (bad recipient, 4xx)
"""
from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import httpx

from chathub.models import ChannelType, ContentType, MessageStatus


MEDIA_CONTENT_TYPES = frozenset({ContentType.image, ContentType.audio, ContentType.video, ContentType.file,
                                 ContentType.sticker})


class ChannelError(Exception):
    """Base of every error a driver raises on purpose."""


class SignatureError(ChannelError):
    """The request's signature is missing or wrong."""


class InvalidPayload(ChannelError):
    """The request body is not something this channel sends."""


class RetryableError(ChannelError):
    """Sending failed for a reason that may pass; `retry_after` is the provider's hint in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ChannelError):
    """Sending failed and will fail again."""


@dataclass(frozen=True)
class Capabilities:
    content_types: frozenset[ContentType]
    max_text_length: int
    supports_typing: bool = False
    supports_receipts: bool = False


@dataclass(frozen=True)
class InboundMessage:
    external_id: str
    sender_id: str
    content_type: ContentType
    content: str = ""
    sender_name: str | None = None
    sender_phone: str | None = None
    media_url: str | None = None
    media_mime_type: str | None = None
    file_name: str | None = None
    payload: dict[str, Any] | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class StatusUpdate:
    external_id: str
    status: MessageStatus
    error: str | None = None
    at: datetime | None = None


InboundEvent = InboundMessage | StatusUpdate


@dataclass(frozen=True)
class OutboundMessage:
    recipient_id: str
    content_type: ContentType
    content: str = ""
    media_url: str | None = None
    file_name: str | None = None
    payload: dict[str, Any] | None = None


PostWebhook = Callable[[bytes, dict[str, str]], Awaitable[Any]]


@dataclass
class DriverContext:
    channel_id: int
    config: dict[str, Any] = field(default_factory=dict)
    webhook_secret: str | None = None
    api_base_url: str | None = None
    http: httpx.AsyncClient | None = None
    post_webhook: PostWebhook | None = None


class ChannelDriver(ABC):
    """One provider. Subclasses set `type`, `capabilities` and `default_api_base_url` and implement
    `verify`, `parse` and `send`; `validate_config` checks what an admin typed for the channel."""

    type: ClassVar[ChannelType]
    capabilities: ClassVar[Capabilities]
    default_api_base_url: ClassVar[str] = ""

    def __init__(self, context: DriverContext) -> None:
        self.context = context

    @property
    def api_base_url(self) -> str:
        return (self.context.api_base_url or self.default_api_base_url).rstrip("/")

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Return the config to store, or raise ValueError with a sentence for the admin."""
        return dict(config)

    @classmethod
    def check_outbound(cls, content_type: ContentType, content: str, *, media_url: str | None = None,
                       payload: dict[str, Any] | None = None) -> str | None:
        """Why this message cannot go out on this channel, or None when it can."""
        caps = cls.capabilities
        if content_type not in caps.content_types:
            return f"{cls.type.value} channels cannot send {content_type.value} messages"
        if content_type == ContentType.text and not content.strip():
            return "the message is empty"
        if content_type in MEDIA_CONTENT_TYPES and not (media_url or "").startswith(("http://", "https://")):
            article = "an" if content_type.value[0] in "aeiou" else "a"
            return f"{article} {content_type.value} message needs an http(s) media_url"
        if content_type == ContentType.location and not {"latitude", "longitude"} <= set(payload or {}):
            return "a location message needs latitude and longitude in its payload"
        if len(content) > caps.max_text_length:
            return f"the message has {len(content)} characters; {cls.type.value} allows {caps.max_text_length}"
        return None

    @abstractmethod
    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise SignatureError unless the request comes from the provider."""

    @abstractmethod
    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
        """Turn a verified request into events; raise InvalidPayload for anything malformed."""

    @abstractmethod
    async def send(self, message: OutboundMessage) -> str:
        """Deliver a message and return the provider's id for it; raise RetryableError or PermanentError."""

    async def send_typing(self, recipient_id: str) -> None:
        """Show the customer that an agent is typing, where the channel can."""


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
