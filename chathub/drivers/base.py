"""The contract every channel driver fulfils.

A driver translates between one provider's wire format and ChatHub's normalized events. It knows no
database, event bus or UI: bytes come in and events go out; a message comes in and a provider call goes
out. Everything it needs from outside (the channel's settings, an HTTP client, a way to post a webhook
to its own intake) arrives in a `DriverContext`, so tests can point it at a fake provider.

Errors::

    ChannelError                 anything a driver raises on purpose
    ├── SignatureError           verify(): the request is not from the provider       -> 401
    ├── InvalidPayload           parse(): not JSON, or required fields are missing     -> 400
    ├── RetryableError           send(), fetch_media(): try again later (timeouts, 5xx, 429 + retry_after)
    └── PermanentError           send(), fetch_media(): retrying cannot help (bad recipient, 4xx)
        └── CredentialsError     the channel's token or key is invalid or expired: flagged on the Channels page

Real providers also sign in, hand over media and keep a webhook registration; the hooks for those
(`answer_handshake`, `fetch_media`, `register_webhook`, `check_health`, `send_typing`) have harmless defaults
so a channel without them needs none.

What a channel declares about itself (its `type` string, `label`, `icon`, `config_model`, `capabilities` and
background `jobs`) is read by services for the pages and the scheduler: nothing outside the driver and its
registry line in `chathub.drivers` names a channel type.
"""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pydantic

from chathub import netguard
from chathub.models import ContentType, MessageStatus
from chathub.netguard import AllowList
from chathub.spelling import did_you_mean

MEDIA_CONTENT_TYPES = frozenset(
    {ContentType.image, ContentType.audio, ContentType.video, ContentType.file, ContentType.sticker}
)


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
    """Sending failed and will fail again. `code` is the provider's error code, when it gave one."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class CredentialsError(PermanentError):
    """The provider refused the channel's credentials (invalid, expired or revoked token)."""


@dataclass(frozen=True)
class Capabilities:
    """What the composer, the outbound worker and the pages need to know about a channel."""

    content_types: frozenset[ContentType]  # what an agent may send
    max_text_length: int
    supports_typing: bool = False
    supports_receipts: bool = False
    supports_edits: bool = False
    # Replies go to a visitor's open connection (`DriverContext.deliver_live`), not to a provider's API.
    live_delivery: bool = False
    # Inbound messages carry a subject and thread reference, and replies thread under them (email).
    threads: bool = False


@dataclass(frozen=True)
class BackgroundJob:
    """Work a channel does on its own, every `every_seconds` for each enabled channel of its type (an email
    poller fetching new mail). `run` gets the channel's driver; what it finds goes in through
    `DriverContext.post_webhook`, like any provider's request."""

    name: str
    every_seconds: float
    run: Callable[[ChannelDriver], Awaitable[None]]


@dataclass(frozen=True)
class ConfigField:
    """One setting an admin fills in on the Channels page (the form is built from these)."""

    key: str
    label: str
    secret: bool = False  # shown masked once saved; the key must contain token/secret/key/auth
    required: bool = True
    hint: str = ""


@dataclass(frozen=True)
class MediaRef:
    """Inbound media still at the provider, fetched server-side by `fetch_media` (never shown to browsers:
    provider URLs may carry tokens). `ref` is the provider's handle: a Telegram file_id, a WhatsApp media
    id, a Twilio media URL."""

    ref: str
    mime_type: str | None = None
    file_name: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class FetchedMedia:
    data: bytes
    mime_type: str | None = None
    file_name: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    external_id: str
    sender_id: str
    content_type: ContentType
    content: str = ""
    sender_name: str | None = None
    sender_phone: str | None = None
    # Other stable ids of the same sender on this channel (WhatsApp's business-scoped user id beside the phone
    # number): a later message carrying only one of them still finds the customer.
    sender_aliases: tuple[str, ...] = ()
    media_url: str | None = None
    media_mime_type: str | None = None
    file_name: str | None = None
    payload: dict[str, Any] | None = None
    sent_at: datetime | None = None
    media: MediaRef | None = None
    edited: bool = False  # a new version of a message already sent (same external_id)
    edited_at: datetime | None = None  # when it was edited (the provider's time; sent_at stays the original)
    # Threaded channels (email): kept in the message's payload as thread_ref, subject and sender_address.
    thread_ref: str | None = None  # the provider's conversation thread (an email's Message-ID chain root)
    subject: str | None = None
    sender_address: str | None = None  # an address to answer to, when it is not the sender id (an email address)


@dataclass(frozen=True)
class StatusUpdate:
    external_id: str
    status: MessageStatus
    error: str | None = None
    at: datetime | None = None


InboundEvent = InboundMessage | StatusUpdate


@dataclass(frozen=True)
class OutboundMedia:
    """A file an agent attached, stored by ChatHub: upload `path` (multipart) or hand the provider
    `public_url` (a signed, expiring link to ChatHub that the provider fetches)."""

    path: Path
    mime_type: str
    file_name: str
    public_url: str | None = None


@dataclass(frozen=True)
class ReplyContext:
    """What came before a reply in its conversation, for channels that thread replies (email's In-Reply-To and
    References). Filled by the outbound service from the conversation's earlier messages."""

    previous_ids: tuple[str, ...] = ()  # provider ids of the earlier messages, oldest first (the latest few)
    thread_ref: str | None = None  # the latest inbound message's thread reference
    subject: str | None = None  # the latest inbound message's subject

    @property
    def in_reply_to(self) -> str | None:
        return self.previous_ids[-1] if self.previous_ids else None


@dataclass(frozen=True)
class OutboundMessage:
    recipient_id: str
    content_type: ContentType
    content: str = ""
    media_url: str | None = None  # a web URL given through the API
    file_name: str | None = None
    payload: dict[str, Any] | None = None
    media: OutboundMedia | None = None  # an attachment uploaded to ChatHub
    status_callback_url: str | None = None  # where the provider posts receipts (ChatHub's webhook URL)
    reply_context: ReplyContext = field(default_factory=ReplyContext)


@dataclass(frozen=True)
class ChannelHealth:
    ok: bool
    summary: str  # one sentence for the Channels page
    details: dict[str, Any] = field(default_factory=dict)


PostWebhook = Callable[[bytes, dict[str, str]], Awaitable[Any]]
DeliverLive = Callable[[str, dict[str, Any]], Awaitable[bool]]
"""(recipient id, event) -> whether a live connection of that visitor took it."""


@dataclass
class DriverContext:
    channel_id: int
    config: dict[str, Any] = field(default_factory=dict)
    webhook_secret: str | None = None
    api_base_url: str | None = None
    http: httpx.AsyncClient | None = None
    post_webhook: PostWebhook | None = None
    webhook_url: str | None = None  # this channel's public webhook URL (from CHATHUB_PUBLIC_URL)
    max_media_bytes: int = 20 * 1024 * 1024  # fetch_media refuses (PermanentError) anything larger
    media_fetch_allow: AllowList = ()  # networks besides public ones that a customer's media URL may point into
    deliver_live: DeliverLive | None = None  # set for channels whose capabilities say live_delivery


class StrictConfig(pydantic.BaseModel):
    """Base of a driver's `config_model`: a key it does not declare is refused, by name."""

    model_config = pydantic.ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChannelDriver(ABC):
    """One provider. Subclasses set `type` (the string in webhook URLs and the database), `label`, `icon`,
    `config_model`, `capabilities` and `default_api_base_url`, and implement `verify`, `parse` and `send`;
    `validate_config` checks what an admin typed for the channel (by default: `config_model`). Optional:
    `jobs` the app runs for each enabled channel of the type, `config_fields` for a typed settings form.
    Then add one line to the registry in `chathub/drivers/__init__.py`."""

    type: ClassVar[str]
    label: ClassVar[str]  # how the Channels page names the type
    icon: ClassVar[str] = "forum"  # a Material icon name
    capabilities: ClassVar[Capabilities]
    config_model: ClassVar[type[StrictConfig]] = StrictConfig  # the settings a channel of this type takes
    jobs: ClassVar[Sequence[BackgroundJob]] = ()
    default_api_base_url: ClassVar[str] = ""
    config_fields: ClassVar[tuple[ConfigField, ...]] = ()  # empty: the Channels page offers a JSON editor
    uses_webhook_secret: ClassVar[bool] = False  # verifies with the channel's own webhook_secret (simulator)

    def __init__(self, context: DriverContext) -> None:
        self.context = context

    @property
    def api_base_url(self) -> str:
        return (self.context.api_base_url or self.default_api_base_url).rstrip("/")

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Return the config to store, or raise ValueError with a sentence for the admin. A key the driver
        does not use is refused (`refuse_unknown_settings`), and so is a value of the wrong type: a setting
        that is stored but never read would look as if it were in force. By default `config_model` decides;
        drivers with rules beyond it override this and call `refuse_unknown_settings` first."""
        refuse_unknown_settings(cls.type, config, cls.config_model.model_fields)
        try:
            return cls.config_model.model_validate(config).model_dump(mode="json")
        except pydantic.ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the settings"
            raise ValueError(f"{where}: {first['msg']}") from None

    @classmethod
    def check_outbound(
        cls,
        content_type: ContentType,
        content: str,
        *,
        media_url: str | None = None,
        payload: dict[str, Any] | None = None,
        has_media: bool = False,
    ) -> str | None:
        """Why this message cannot go out on this channel, or None when it can."""
        caps = cls.capabilities
        if content_type not in caps.content_types:
            return f"{cls.type} channels cannot send {content_type.value} messages"
        if content_type == ContentType.text and not content.strip():
            return "the message is empty"
        if (
            content_type in MEDIA_CONTENT_TYPES
            and not has_media
            and not (media_url or "").startswith(("http://", "https://"))
        ):
            article = "an" if content_type.value[0] in "aeiou" else "a"
            return f"{article} {content_type.value} message needs an http(s) media_url"
        if content_type == ContentType.location and not {"latitude", "longitude"} <= set(payload or {}):
            return "a location message needs latitude and longitude in its payload"
        if len(content) > caps.max_text_length:
            return f"the message has {len(content)} characters; {cls.type} allows {caps.max_text_length}"
        return cls.channel_outbound_problem(content_type, content)

    @classmethod
    def channel_outbound_problem(cls, content_type: ContentType, content: str) -> str | None:
        """A channel's own rule beyond the capabilities (caption limits, no text on a sticker), or None."""
        return None

    @abstractmethod
    def verify(self, body: bytes, headers: Mapping[str, str], *, query: str = "") -> None:
        """Raise SignatureError unless the request comes from the provider. Header names are lowercase;
        `query` is the request's raw query string (Twilio signs the URL with it)."""

    @abstractmethod
    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
        """Turn a verified request into events; raise InvalidPayload for anything malformed."""

    @abstractmethod
    async def send(self, message: OutboundMessage) -> str:
        """Deliver a message and return the provider's id for it; raise RetryableError or PermanentError."""

    async def send_typing(self, recipient_id: str, *, last_inbound_id: str | None = None) -> None:  # noqa: B027
        """Show the customer that an agent is typing, where the channel can. `last_inbound_id` is the
        external id of the customer's latest message (WhatsApp's indicator hangs on one)."""

    acknowledgement: ClassVar[tuple[str, str] | None] = None
    """(body, media type) to answer an accepted webhook with, when the provider expects more than JSON."""

    def answer_handshake(self, params: Mapping[str, str]) -> str:
        """A provider's GET verification of the webhook URL: return the body to answer with, or raise
        SignatureError (-> 403)."""
        raise SignatureError("this channel has no webhook handshake")

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        """Download inbound media from the provider; RetryableError or PermanentError when it cannot."""
        raise PermanentError("this channel has no media to fetch")

    async def download_capped(
        self,
        url: str,
        *,
        source: str,
        refusal: Callable[[httpx.Response], Awaitable[ChannelError]] | None = None,
        scrub: Callable[[str], str] = str,
        **request: Any,
    ) -> tuple[bytes, httpx.Headers]:
        """GET a file from the provider (for `fetch_media`), refused with PermanentError as soon as it is declared
        or read past `context.max_media_bytes`. Returns the body and the response's headers. `source` names the
        provider in errors; `refusal` makes the error for a non-2xx answer (by default 5xx and 429 are
        retryable, the rest permanent); `scrub` cleans transport errors of secrets in the URL; `request` goes
        to httpx (headers, auth, follow_redirects)."""
        if self.context.http is None:
            raise PermanentError(f"the {self.type} driver has no HTTP client")
        try:
            async with self.context.http.stream("GET", url, **request) as response:
                if not response.is_success:
                    raise await refusal(response) if refusal else _refusal(response.status_code, source)
                try:
                    return await netguard.read_capped(response, self.context.max_media_bytes), response.headers
                except netguard.TooLarge as error:
                    raise PermanentError(str(error)) from None
        except httpx.TimeoutException:
            raise RetryableError(f"{source} did not send the file in time") from None
        except httpx.TransportError as error:
            reason = scrub(str(error) or type(error).__name__)
            raise RetryableError(f"{source} could not be reached for the file: {reason}") from None

    async def register_webhook(self) -> str | None:
        """Tell the provider where to post (`context.webhook_url`), after the channel is saved. Returns a
        sentence for the admin, or None when the provider is set up by hand; raises ChannelError."""
        return None

    async def check_health(self) -> ChannelHealth:
        """Whether the credentials work and the provider can reach us, for the Channels page."""
        return ChannelHealth(ok=True, summary="no provider to check")


def _refusal(status: int, source: str) -> ChannelError:
    if status >= 500 or status == 429:
        return RetryableError(f"{status}: {source} failed to hand over the file; trying again later")
    return PermanentError(f"{status}: {source} refused to hand over the file", code=str(status))


class UnknownSettings(ValueError):
    """A channel's config holds keys its driver does not use; `keys` names them."""

    def __init__(self, message: str, keys: list[str]) -> None:
        super().__init__(message)
        self.keys = keys


def refuse_unknown_settings(
    channel_type: str, config: Mapping[str, Any], known: Iterable[str], *, hint: str = ""
) -> None:
    """Raise UnknownSettings naming every key of `config` that is not in `known`, with the closest known
    name for a misspelling and the list of what the channel takes."""
    known = list(known)
    unknown = [key for key in config if key not in known]
    if not unknown:
        return
    named = ", ".join(f"'{key}'" + did_you_mean(key, known) for key in unknown)
    sentence = f"{channel_type} channels have no setting {named}; their settings are {', '.join(known)}"
    raise UnknownSettings(f"{sentence}. {hint}" if hint else sentence, unknown)


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
