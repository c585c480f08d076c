"""The built-in simulator: a channel with no provider behind it, for testers playing customers.

Inbound (what the simulator panel or curl posts)::

    {"from": "+1234567890", "message": "Hello", "type": "text", "message_id": "m1",
     "timestamp": "2024-02-14T10:00:00Z", "name": "Ann"}                     # name optional
    {"type": "status", "message_id": "<our outbound external id>", "status": "delivered", "error": null}

Other `type`s: image/audio/video/file/sticker (`media_url`, optional `file_name`, `mime_type`, caption in
`message`), location (`latitude`, `longitude`), contact (`contact`: {name, phone}); anything else is kept
as "unsupported" with the raw payload. ChatHub fetches a `media_url` itself, from public addresses only
(netguard.py), and keeps the URL as text in the message's payload (`source_url`). With a webhook secret
(the channel's `webhook_secret`, never a config key), requests carry
`X-ChatHub-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>` and anything else
is answered 401. The default simulator channel gets a generated secret whenever
CHATHUB_PUBLIC_URL is https (see chathub.bootstrap).

Outbound goes to the in-process `outbox` after the configured latency, fails at the configured rate, and
delivered/read receipts come back as status webhooks through the channel's own intake.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import random
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import httpx

from chathub import netguard, process_state
from chathub.drivers.base import (
    Capabilities,
    ChannelDriver,
    FetchedMedia,
    InboundEvent,
    InboundMessage,
    InvalidPayload,
    MediaRef,
    OutboundMessage,
    PermanentError,
    RetryableError,
    SignatureError,
    StatusUpdate,
    StrictConfig,
    hmac_sha256_hex,
    refuse_unknown_settings,
)
from chathub.models import ContentType, MessageStatus

SIGNATURE_HEADER = "x-chathub-signature"
HOW_TO_SIGN = (
    "This channel takes signed requests only: send X-ChatHub-Signature: sha256=<hex HMAC-SHA256 of the "
    "raw request body, keyed with the channel's webhook secret>; an admin finds the secret on the Channels "
    "page (edit the channel, Webhook secret)"
)
MEDIA_TYPES = {ContentType.image, ContentType.audio, ContentType.video, ContentType.file, ContentType.sticker}
RECEIPT_STATUSES = {
    "sent": MessageStatus.sent,
    "delivered": MessageStatus.delivered,
    "read": MessageStatus.read,
    "failed": MessageStatus.failed,
}


class SimulatorConfig(StrictConfig):
    """How the simulated provider behaves (validate_config checks the ranges with sentences of its own)."""

    failure_rate: float = 0.0
    latency_ms: int = 0
    auto_receipts: bool = True
    delivered_after_ms: int = 300
    read_after_ms: int = 1500


DEFAULT_CONFIG = SimulatorConfig().model_dump()
SECRET_IS_NO_SETTING = (
    "The webhook secret is the channel's own webhook_secret (the Webhook secret field on the "
    "Channels page), not a setting"
)


@dataclass
class OutboxEntry:
    channel_id: int
    recipient_id: str
    external_id: str
    content_type: ContentType
    content: str
    media_url: str | None = None
    payload: dict[str, Any] | None = None
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class SimulatorOutbox:
    """What the simulated provider delivered, newest last; listeners hear of each new entry."""

    def __init__(self, size: int = 1000) -> None:
        self.entries: deque[OutboxEntry] = deque(maxlen=size)
        self.listeners: list[Callable[[OutboxEntry], Any]] = []
        self.typing_listeners: list[Callable[[int, str], Any]] = []  # (channel id, recipient id)

    def add(self, entry: OutboxEntry) -> None:
        self.entries.append(entry)
        for listener in list(self.listeners):
            listener(entry)

    def typing(self, channel_id: int, recipient_id: str) -> None:
        for listener in list(self.typing_listeners):
            listener(channel_id, recipient_id)

    def for_recipient(self, channel_id: int, recipient_id: str) -> list[OutboxEntry]:
        return [e for e in self.entries if e.channel_id == channel_id and e.recipient_id == recipient_id]


# The simulated provider stands for the world outside ChatHub: what it delivered outlives a ChatHub restart.
outbox = SimulatorOutbox()


class ReceiptsOnTheirWay:
    """Receipts this run's sends are still to post back (held so they are not garbage-collected): they post
    through this run's own webhook intake."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()


def sign(secret: str, body: bytes) -> str:
    return f"sha256={hmac_sha256_hex(secret, body)}"


class SimulatorDriver(ChannelDriver):
    type = "simulator"
    label = "Simulator"
    icon = "smartphone"
    config_model = SimulatorConfig
    capabilities = Capabilities(
        content_types=frozenset(ContentType) - {ContentType.unsupported, ContentType.reaction},
        max_text_length=4096,
        supports_typing=True,
        supports_receipts=True,
    )
    uses_webhook_secret = True

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        refuse_unknown_settings(
            cls.type,
            config,
            cls.config_model.model_fields,
            hint=SECRET_IS_NO_SETTING if any("secret" in key.lower() for key in config) else "",
        )
        merged = {**DEFAULT_CONFIG, **config}
        if not _is_number(merged["failure_rate"]) or not 0 <= merged["failure_rate"] <= 1:
            raise ValueError("failure_rate must be a number from 0 to 1")
        for key in ("latency_ms", "delivered_after_ms", "read_after_ms"):
            if isinstance(merged[key], bool) or not isinstance(merged[key], int) or not 0 <= merged[key] <= 60_000:
                raise ValueError(f"{key} must be a whole number of milliseconds from 0 to 60000")
        if not isinstance(merged["auto_receipts"], bool):
            raise ValueError("auto_receipts must be true or false")
        return merged

    def verify(self, body: bytes, headers: Mapping[str, str], *, query: str = "") -> None:
        secret = self.context.webhook_secret
        if not secret:
            return
        given = headers.get(SIGNATURE_HEADER, "")
        if not given:
            raise SignatureError(f"missing {SIGNATURE_HEADER} header. {HOW_TO_SIGN}")
        if not hmac.compare_digest(given, sign(secret, body)):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body. {HOW_TO_SIGN}")

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise InvalidPayload(f"body is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise InvalidPayload("body must be a JSON object")
        if data.get("type") == "status":
            return [_parse_status(data)]
        return [_parse_message(data)]

    async def send(self, message: OutboundMessage) -> str:
        # Keys saved before unknown ones were refused never took effect; they must not stop a send either.
        config = self.validate_config({k: v for k, v in self.context.config.items() if k in DEFAULT_CONFIG})
        if config["latency_ms"]:
            await asyncio.sleep(config["latency_ms"] / 1000)
        if random.random() < config["failure_rate"]:
            raise RetryableError("simulated provider failure (failure rate setting)")
        external_id = f"sim-{uuid.uuid4().hex[:16]}"
        media_url = message.media.public_url if message.media else message.media_url  # as a provider fetches it
        outbox.add(
            OutboxEntry(
                self.context.channel_id,
                message.recipient_id,
                external_id,
                message.content_type,
                message.content,
                media_url,
                message.payload,
            )
        )
        if config["auto_receipts"] and self.context.post_webhook:
            task = asyncio.create_task(self._send_receipts(external_id, config))
            receipts = process_state.current().part(ReceiptsOnTheirWay).tasks
            receipts.add(task)
            task.add_done_callback(receipts.discard)
        return external_id

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        """The file at the customer's URL, fetched under netguard's rules (never from ChatHub's own network)."""
        if self.context.http is None:
            raise RuntimeError("the simulator driver needs DriverContext.http to fetch media")
        try:
            download = await netguard.fetch_public(
                self.context.http,
                media.ref,
                allow=self.context.media_fetch_allow,
                max_bytes=self.context.max_media_bytes,
            )
        except netguard.RefusedURL as refusal:
            raise PermanentError(f"ChatHub does not fetch this address: {refusal}") from None
        except netguard.TooLarge as error:
            raise PermanentError(str(error)) from None
        except netguard.UnreachableURL as error:
            raise RetryableError(str(error)) from None
        except httpx.HTTPStatusError as error:
            status = error.response.status_code
            raise (RetryableError if status >= 500 or status == 429 else PermanentError)(
                f"the address answered HTTP {status}"
            ) from None
        except httpx.HTTPError as error:
            raise RetryableError(f"the address could not be reached: {type(error).__name__}") from None
        mime = (download.content_type or media.mime_type or "").split(";")[0].strip() or None
        name = media.file_name or PurePosixPath(urlsplit(download.url).path).name or None
        return FetchedMedia(download.data, mime_type=mime, file_name=name)

    async def send_typing(self, recipient_id: str, *, last_inbound_id: str | None = None) -> None:
        outbox.typing(self.context.channel_id, recipient_id)

    async def post_status(self, external_id: str, status: str, error: str | None = None) -> Any:
        """Post a receipt to this channel's own intake, signed like any other request."""
        body = json.dumps({"type": "status", "message_id": external_id, "status": status, "error": error}).encode()
        headers = {"content-type": "application/json"}
        if self.context.webhook_secret:
            headers[SIGNATURE_HEADER] = sign(self.context.webhook_secret, body)
        return await self.context.post_webhook(body, headers)

    async def _send_receipts(self, external_id: str, config: dict[str, Any]) -> None:
        await asyncio.sleep(config["delivered_after_ms"] / 1000)
        await self.post_status(external_id, "delivered")
        await asyncio.sleep(max(0, config["read_after_ms"] - config["delivered_after_ms"]) / 1000)
        await self.post_status(external_id, "read")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _required_text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidPayload(f"missing required field '{key}'")
    return value.strip()


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise InvalidPayload(f"timestamp {value!r} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_status(data: dict[str, Any]) -> StatusUpdate:
    status = RECEIPT_STATUSES.get(str(data.get("status")))
    if status is None:
        raise InvalidPayload("status must be one of: " + ", ".join(RECEIPT_STATUSES))
    return StatusUpdate(
        external_id=_required_text(data, "message_id"),
        status=status,
        error=_optional_text(data, "error"),
        at=_parse_time(data.get("timestamp")),
    )


def _parse_message(data: dict[str, Any]) -> InboundMessage:
    sender = _required_text(data, "from")
    common = dict(
        external_id=_required_text(data, "message_id"),
        sender_id=sender,
        sender_name=_optional_text(data, "name"),
        sender_phone=sender if sender.lstrip("+").isdigit() else None,
        sent_at=_parse_time(data.get("timestamp")),
    )
    kind = str(data.get("type") or "text")
    content_type = ContentType(kind) if kind in ContentType._value2member_map_ else ContentType.unsupported
    if content_type == ContentType.text:
        return InboundMessage(content_type=content_type, content=_required_text(data, "message"), **common)
    if content_type in MEDIA_TYPES:  # the customer's URL is fetched by ChatHub, and kept only as text
        source_url = _required_text(data, "media_url")
        file_name, mime_type = _optional_text(data, "file_name"), _optional_text(data, "mime_type")
        return InboundMessage(
            content_type=content_type,
            content=_optional_text(data, "message") or "",
            file_name=file_name,
            media_mime_type=mime_type,
            payload={"source_url": source_url},
            media=MediaRef(ref=source_url, mime_type=mime_type, file_name=file_name),
            **common,
        )
    if content_type == ContentType.location:
        try:
            lat, lon = float(data["latitude"]), float(data["longitude"])
        except (KeyError, TypeError, ValueError):
            raise InvalidPayload("a location needs numeric 'latitude' and 'longitude'") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InvalidPayload("latitude or longitude out of range")
        return InboundMessage(
            content_type=content_type,
            content=_optional_text(data, "message") or "",
            payload={"latitude": lat, "longitude": lon},
            **common,
        )
    if content_type == ContentType.contact:
        contact = data.get("contact")
        if not isinstance(contact, dict) or not contact.get("name"):
            raise InvalidPayload("a contact needs a 'contact' object with a 'name'")
        return InboundMessage(
            content_type=content_type,
            content=str(contact["name"]),
            payload={"name": str(contact["name"]), "phone": str(contact.get("phone") or "")},
            **common,
        )
    return InboundMessage(
        content_type=ContentType.unsupported, content=_optional_text(data, "message") or "", payload=data, **common
    )
