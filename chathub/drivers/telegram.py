"""Telegram through the Bot API (https://core.telegram.org/bots/api).

Inbound: Telegram posts one JSON `Update` per request to the webhook that `register_webhook` set with
`setWebhook`, carrying our `secret_token` in the `X-Telegram-Bot-Api-Secret-Token` header (Telegram does
not sign bodies). Ids are `"{chat_id}:{message_id}"` because message ids are only unique within a chat;
replies go to the chat id. Outbound: `sendMessage` (plain text, no parse_mode), `sendPhoto` & co. with a
multipart upload or a web URL, `sendLocation`/`sendVenue`, `sendChatAction` for typing. Every answer is
`{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description", "parameters"?}`.
"""

from __future__ import annotations

import hmac
import json
import logging
import mimetypes
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

import httpx

from chathub.drivers.base import (
    MEDIA_CONTENT_TYPES,
    Capabilities,
    ChannelDriver,
    ChannelError,
    ChannelHealth,
    ConfigField,
    CredentialsError,
    FetchedMedia,
    InboundEvent,
    InboundMessage,
    InvalidPayload,
    MediaRef,
    OutboundMessage,
    PermanentError,
    RetryableError,
    SignatureError,
    StrictConfig,
    refuse_unknown_settings,
)
from chathub.models import ContentType

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
BOT_TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
SECRET_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
CAPTION_LIMIT = 1024
ALLOWED_UPDATES = ["message", "edited_message"]
RECENT_ERROR = timedelta(hours=24)

# Telegram's descriptions for refusals an agent should understand, in plain words (matched in lowercase).
PLAIN_REFUSALS = [
    ("bot was blocked by the user", "The customer blocked the bot; Telegram will not deliver messages to them"),
    ("user is deactivated", "The customer's Telegram account was deleted; Telegram will not deliver messages to them"),
    (
        "bot can't initiate conversation",
        "The customer never started a chat with the bot; Telegram lets a bot "
        "write only to people who wrote to it first",
    ),
    ("bot was kicked", "The bot was removed from this group; Telegram will not deliver messages there"),
    ("chat not found", "Telegram does not know this chat; the customer may never have started the bot"),
    ("message is too long", "The message is longer than the 4096 characters Telegram allows"),
    ("caption is too long", "The caption is longer than the 1024 characters Telegram allows under media"),
    ("file is too big", "The file is too big for Telegram: bots may download files up to 20 MB and upload up to 50 MB"),
    ("wrong file identifier/http url", "Telegram could not fetch the media from its web address"),
    ("failed to get http url content", "Telegram could not fetch the media from its web address"),
]

# What Telegram calls each kind of attachment, checked in this order: an animation also carries `document`
# and a venue also carries `location`, so those come first.
INBOUND_MEDIA = [
    ("photo", ContentType.image),
    ("animation", ContentType.video),
    ("document", ContentType.file),
    ("voice", ContentType.audio),
    ("audio", ContentType.audio),
    ("video", ContentType.video),
    ("video_note", ContentType.video),
    ("sticker", ContentType.sticker),
]
OUTBOUND_MEDIA = {
    ContentType.image: "photo",
    ContentType.file: "document",
    ContentType.audio: "audio",
    ContentType.video: "video",
    ContentType.sticker: "sticker",
}


class TelegramConfig(StrictConfig):
    bot_token: str
    secret_token: str | None = None
    max_connections: int | None = None


class TelegramDriver(ChannelDriver):
    """Config: `bot_token` from @BotFather (required), `secret_token` (generated when empty), optional
    `max_connections` (1-100) for setWebhook."""

    type = "telegram"
    label = "Telegram"
    icon = "send"
    config_model = TelegramConfig
    default_api_base_url = "https://api.telegram.org"
    capabilities = Capabilities(
        content_types=frozenset(
            {
                ContentType.text,
                ContentType.image,
                ContentType.file,
                ContentType.audio,
                ContentType.video,
                ContentType.sticker,
                ContentType.location,
            }
        ),
        max_text_length=4096,
        supports_typing=True,
        supports_receipts=False,  # the Bot API has no receipts
        supports_edits=True,
    )
    config_fields = (
        ConfigField("bot_token", "Bot token", secret=True, hint="From @BotFather, like 123456:ABC-DEF…"),
        ConfigField(
            "secret_token",
            "Webhook secret token",
            secret=True,
            required=False,
            hint="Telegram sends it with every update; leave empty to have one generated",
        ),
    )

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        refuse_unknown_settings(cls.type, config, cls.config_model.model_fields)
        for key in ("bot_token", "secret_token"):
            if config.get(key) is not None and not isinstance(config[key], str):
                raise ValueError(f"{key} must be text")
        token = str(config.get("bot_token") or "").strip()
        if not token:
            raise ValueError("bot_token is required: the token @BotFather gave you, like 123456:ABC-DEF…")
        if not BOT_TOKEN_PATTERN.match(token):
            raise ValueError(
                "bot_token does not look like a Telegram bot token (digits, a colon, then letters, digits, _ or -)"
            )
        secret = str(config.get("secret_token") or "").strip() or secrets.token_urlsafe(32)
        if not SECRET_TOKEN_PATTERN.match(secret):
            raise ValueError(
                "secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and - (leave it empty to have one generated)"
            )
        checked: dict[str, Any] = {"bot_token": token, "secret_token": secret}
        connections = config.get("max_connections")
        if connections not in (None, ""):
            if isinstance(connections, (bool, float)):
                raise ValueError("max_connections must be a whole number from 1 to 100")
            try:
                connections = int(str(connections).strip())
            except ValueError:
                connections = 0
            if not 1 <= connections <= 100:
                raise ValueError("max_connections must be a whole number from 1 to 100")
            checked["max_connections"] = connections
        return checked

    @classmethod
    def channel_outbound_problem(cls, content_type: ContentType, content: str) -> str | None:
        if content_type in (ContentType.sticker, ContentType.location) and content.strip():
            return f"Telegram cannot put text on a {content_type.value}; send the text as its own message"
        if content_type in MEDIA_CONTENT_TYPES and len(content) > CAPTION_LIMIT:
            return f"the caption has {len(content)} characters; Telegram allows {CAPTION_LIMIT} under media"
        return None

    # ---- inbound ----

    def verify(self, body: bytes, headers: Mapping[str, str], *, query: str = "") -> None:
        expected = str(self.context.config.get("secret_token") or "")
        given = headers.get(SECRET_HEADER)
        if not expected:
            raise SignatureError("the channel has no secret_token; save its settings again")
        if given is None:
            raise SignatureError(f"missing {SECRET_HEADER} header")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise SignatureError(f"{SECRET_HEADER} does not match the channel's secret_token")

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
        """One Update -> at most one message. Updates without a `message` or `edited_message` (a
        my_chat_member when someone blocks the bot, callback queries, channel posts, business messages, …)
        are logged and give [] so nothing is stored; register_webhook asks Telegram for only those two."""
        try:
            update = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise InvalidPayload(f"body is not valid JSON: {error}") from None
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            raise InvalidPayload("an Update must be a JSON object with a numeric 'update_id'")
        for key, edited in (("message", False), ("edited_message", True)):
            if key in update:
                return [_parse_message(update[key], update_id=update["update_id"], edited=edited)]
        log.info(
            "Telegram update %s carries no message (%s); nothing to store",
            update["update_id"],
            ", ".join(k for k in update if k != "update_id") or "empty",
        )
        return []

    # ---- outbound ----

    async def send(self, message: OutboundMessage) -> str:
        chat_id = message.recipient_id
        if message.content_type == ContentType.text:
            result = await self._call("sendMessage", {"chat_id": chat_id, "text": message.content})
        elif message.content_type == ContentType.location:
            result = await self._call(*_location_request(chat_id, message.payload or {}))
        elif message.content_type in OUTBOUND_MEDIA:
            result = await self._send_media(message)
        else:
            raise PermanentError(f"Telegram channels cannot send {message.content_type.value} messages")
        if not isinstance(result, dict) or "message_id" not in result:
            raise PermanentError("Telegram accepted the message but returned no message_id")
        return f"{(result.get('chat') or {}).get('id', chat_id)}:{result['message_id']}"

    async def _send_media(self, message: OutboundMessage) -> Any:
        method, field = _media_method(message)
        params: dict[str, Any] = {"chat_id": message.recipient_id}
        if message.content and message.content_type != ContentType.sticker:
            params["caption"] = message.content
        if message.media is None:
            return await self._call(method, {**params, field: message.media_url})
        try:
            with message.media.path.open("rb") as upload:
                files = {field: (message.media.file_name, upload, message.media.mime_type)}
                return await self._call(method, {k: str(v) for k, v in params.items()}, files=files)
        except OSError as error:
            raise PermanentError(f"the attachment could not be read: {error.strerror or error}") from None

    async def send_typing(self, recipient_id: str, *, last_inbound_id: str | None = None) -> None:
        await self._call("sendChatAction", {"chat_id": recipient_id, "action": "typing"})

    # ---- media, webhook, health ----

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        cap = self.context.max_media_bytes
        if media.size and media.size > cap:
            raise PermanentError(f"the file has {media.size} bytes; ChatHub keeps files up to {cap} bytes")
        info = await self._call("getFile", {"file_id": media.ref})
        info = info if isinstance(info, dict) else {}
        file_path = info.get("file_path")
        if not file_path:
            raise PermanentError("Telegram has no downloadable file for this media")
        if (info.get("file_size") or 0) > cap:
            raise PermanentError(f"the file has {info['file_size']} bytes; ChatHub keeps files up to {cap} bytes")
        url = f"{self.api_base_url}/file/bot{self._token}/{file_path}"
        data, _ = await self.download_capped(url, source="Telegram's file server", scrub=self._scrub)
        guessed = mimetypes.guess_type(file_path)[0]
        return FetchedMedia(
            data=data, mime_type=media.mime_type or guessed, file_name=media.file_name or PurePosixPath(file_path).name
        )

    async def register_webhook(self) -> str | None:
        url = self.context.webhook_url
        if not url:
            raise PermanentError("ChatHub has no public address; set CHATHUB_PUBLIC_URL to an https URL first")
        params: dict[str, Any] = {
            "url": url,
            "secret_token": self.context.config.get("secret_token"),
            "allowed_updates": ALLOWED_UPDATES,
        }
        if self.context.config.get("max_connections"):
            params["max_connections"] = self.context.config["max_connections"]
        await self._call("setWebhook", params)
        return f"Telegram will post this bot's messages to {url}."

    async def check_health(self) -> ChannelHealth:
        try:
            info = await self._call("getWebhookInfo", {})
            me = await self._call("getMe", {})
        except CredentialsError:
            return ChannelHealth(ok=False, summary="The bot token was rejected")
        except ChannelError as error:
            return ChannelHealth(ok=False, summary=f"Telegram could not be asked: {error}")
        details = {
            key: info.get(key)
            for key in (
                "url",
                "pending_update_count",
                "last_error_date",
                "last_error_message",
                "max_connections",
                "allowed_updates",
                "ip_address",
            )
        }
        details["bot_username"] = f"@{me['username']}" if isinstance(me, dict) and me.get("username") else None
        return ChannelHealth(*_webhook_verdict(info, self.context.webhook_url), details=details)

    # ---- the Bot API call ----

    @property
    def _token(self) -> str:
        return str(self.context.config.get("bot_token") or "")

    @property
    def _http(self) -> httpx.AsyncClient:
        if self.context.http is None:
            raise PermanentError("the Telegram driver has no HTTP client")
        return self.context.http

    def _scrub(self, error: Exception | str) -> str:
        """An httpx error as text without the bot token (it sits in every URL)."""
        text = str(error) or type(error).__name__
        return text.replace(self._token, "***") if self._token else text

    async def _call(self, method: str, params: dict[str, Any], *, files: dict[str, Any] | None = None) -> Any:
        url = f"{self.api_base_url}/bot{self._token}/{method}"
        try:
            if files:
                response = await self._http.post(url, data=params, files=files)
            else:
                response = await self._http.post(url, json=params)
        except httpx.TimeoutException:
            raise RetryableError(f"Telegram did not answer {method} in time") from None
        except httpx.TransportError as error:
            raise RetryableError(f"Telegram could not be reached: {self._scrub(error)}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("ok") is True:
            return answer.get("result")
        raise _api_error(response.status_code, answer if isinstance(answer, dict) else {})


def _api_error(status: int, answer: dict[str, Any]) -> ChannelError:
    code = answer.get("error_code") if isinstance(answer.get("error_code"), int) else status
    description = str(answer.get("description") or f"HTTP {status}")
    parameters = answer.get("parameters") if isinstance(answer.get("parameters"), dict) else {}
    if code == 429:
        wait = parameters.get("retry_after")
        wait = float(wait) if isinstance(wait, (int, float)) else None
        return RetryableError(f"429: Telegram asks to slow down ({description})", retry_after=wait)
    if code >= 500:
        return RetryableError(f"{code}: Telegram had a server error ({description})")
    if code in (401, 404):  # 404 Not Found is what Telegram answers for a malformed token
        return CredentialsError(
            f"{code}: Telegram rejected the bot token; copy it again from @BotFather", code=str(code)
        )
    if "migrate_to_chat_id" in parameters:
        return PermanentError(
            f"This group became a supergroup with chat id {parameters['migrate_to_chat_id']}; "
            "the customer must write again from it",
            code=str(code),
        )
    lowered = description.lower()
    for fragment, sentence in PLAIN_REFUSALS:
        if fragment in lowered:
            return PermanentError(sentence, code=str(code))
    return PermanentError(f"{code}: {description}", code=str(code))


def _webhook_verdict(info: dict[str, Any], expected_url: str | None) -> tuple[bool, str]:
    url = info.get("url") or ""
    if not url:
        return False, "No webhook is registered with Telegram; save the channel to register it"
    if expected_url and url != expected_url:
        return False, f"Telegram posts to {url}, not to this channel's {expected_url}; save the channel again"
    error_date = info.get("last_error_date")
    if isinstance(error_date, int):
        when = datetime.fromtimestamp(error_date, UTC)
        if datetime.now(UTC) - when < RECENT_ERROR:
            return False, (
                f"Telegram could not deliver to the webhook at {when:%Y-%m-%d %H:%M} UTC: "
                f'"{info.get("last_error_message") or "no reason given"}"'
            )
    pending = info.get("pending_update_count") or 0
    return True, f"The webhook is registered and working ({pending} updates waiting)"


def _location_request(chat_id: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    try:
        latitude, longitude = float(payload["latitude"]), float(payload["longitude"])
    except (KeyError, TypeError, ValueError):
        raise PermanentError("a location needs numeric latitude and longitude") from None
    params = {"chat_id": chat_id, "latitude": latitude, "longitude": longitude}
    if payload.get("name") and payload.get("address"):
        return "sendVenue", {**params, "title": str(payload["name"]), "address": str(payload["address"])}
    return "sendLocation", params


def _media_method(message: OutboundMessage) -> tuple[str, str]:
    """The Bot API method and its file field: voice notes (OGG) go as voice, GIFs as animations."""
    mime = (message.media.mime_type if message.media else "") or ""
    url = (message.media_url or "").lower().split("?")[0]
    if message.content_type == ContentType.audio and (mime == "audio/ogg" or url.endswith((".ogg", ".oga"))):
        return "sendVoice", "voice"
    if message.content_type == ContentType.image and (mime == "image/gif" or url.endswith(".gif")):
        return "sendAnimation", "animation"
    field = OUTBOUND_MEDIA[message.content_type]
    return f"send{field.capitalize()}", field


# ---- parsing one Message object ----


def _parse_message(message: Any, *, update_id: int, edited: bool) -> InboundMessage:
    if not isinstance(message, dict):
        raise InvalidPayload("the Update's message must be an object")
    chat = message.get("chat")
    message_id = message.get("message_id")
    if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
        raise InvalidPayload("the message has no chat with a numeric 'id'")
    if not isinstance(message_id, int):
        raise InvalidPayload("the message has no numeric 'message_id'")
    if not isinstance(message.get("date"), int):
        raise InvalidPayload("the message has no numeric 'date'")
    chat_id = chat["id"]
    payload: dict[str, Any] = {"update_id": update_id}
    if message.get("media_group_id"):
        payload["media_group_id"] = str(message["media_group_id"])
    reply = message.get("reply_to_message")
    if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
        payload["reply_to"] = f"{chat_id}:{reply['message_id']}"
    if edited and isinstance(message.get("edit_date"), int):
        payload["edited_at"] = _time(message["edit_date"]).isoformat()
    sender = message.get("from") if isinstance(message.get("from"), dict) else chat
    common = dict(
        external_id=f"{chat_id}:{message_id}",
        sender_id=str(chat_id),
        sender_name=_name(sender),
        sent_at=_time(message["date"]),
        edited=edited,
        edited_at=_time(message["edit_date"]) if edited and isinstance(message.get("edit_date"), int) else None,
    )
    fields = _content(message, sender)
    return InboundMessage(**common, **{**fields, "payload": {**payload, **fields.get("payload", {})}})


def _content(message: dict[str, Any], sender: dict[str, Any]) -> dict[str, Any]:
    """content_type, content, media, payload (and sender_phone) of one message."""
    caption = str(message.get("caption") or "")
    if isinstance(message.get("text"), str):
        return {"content_type": ContentType.text, "content": message["text"]}
    for key, content_type in INBOUND_MEDIA:
        if key in message:
            media, extra = _media(key, message[key])
            return {
                "content_type": content_type,
                "content": caption,
                "media": media,
                "media_mime_type": media.mime_type,
                "file_name": media.file_name,
                "payload": extra,
            }
    if isinstance(message.get("venue"), dict):
        venue = message["venue"]
        place = {
            **_coordinates(venue.get("location")),
            "name": str(venue.get("title") or ""),
            "address": str(venue.get("address") or ""),
        }
        return {"content_type": ContentType.location, "content": "", "payload": place}
    if "location" in message:
        return {"content_type": ContentType.location, "content": "", "payload": _coordinates(message["location"])}
    if isinstance(message.get("contact"), dict):
        return _contact(message["contact"], sender)
    return {"content_type": ContentType.unsupported, "content": caption, "payload": {"raw": message}}


def _media(key: str, value: Any) -> tuple[MediaRef, dict[str, Any]]:
    if key == "photo":  # several sizes of one picture: keep the largest
        sizes = [size for size in value if isinstance(size, dict)] if isinstance(value, list) else []
        if not sizes:
            raise InvalidPayload("a photo message has no PhotoSize")
        value = max(sizes, key=lambda s: (s.get("file_size") or 0, (s.get("width") or 0) * (s.get("height") or 0)))
    if not isinstance(value, dict) or not value.get("file_id"):
        raise InvalidPayload(f"the {key} has no file_id")
    mime = value.get("mime_type") or _default_mime(key, value)
    media = MediaRef(
        ref=str(value["file_id"]),
        mime_type=mime,
        file_name=value.get("file_name"),
        size=value.get("file_size") if isinstance(value.get("file_size"), int) else None,
    )
    extra = {"emoji": value.get("emoji"), "set_name": value.get("set_name")} if key == "sticker" else {}
    if key in ("voice", "video_note", "animation"):
        extra["kind"] = key
    return media, {k: v for k, v in extra.items() if v is not None}


def _default_mime(key: str, value: dict[str, Any]) -> str | None:
    if key == "photo":
        return "image/jpeg"
    if key == "video_note":
        return "video/mp4"
    if key == "sticker":
        return (
            "application/x-tgsticker"
            if value.get("is_animated")
            else ("video/webm" if value.get("is_video") else "image/webp")
        )
    return None


def _coordinates(location: Any) -> dict[str, float]:
    try:
        lat, lon = float(location["latitude"]), float(location["longitude"])
    except (KeyError, TypeError, ValueError):
        raise InvalidPayload("a location needs numeric 'latitude' and 'longitude'") from None
    return {"latitude": lat, "longitude": lon}


def _contact(contact: dict[str, Any], sender: dict[str, Any]) -> dict[str, Any]:
    """A shared contact card. When it is the sender's own (the 'share my phone number' button, user_id equal
    to the sender's id), its number is also the sender's phone."""
    name = " ".join(str(contact.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    phones = [str(contact["phone_number"])] if contact.get("phone_number") else []
    card: dict[str, Any] = {"name": name, "phones": phones}
    emails = [
        line.split(":", 1)[1].strip()
        for line in str(contact.get("vcard") or "").splitlines()
        if line.upper().startswith("EMAIL") and ":" in line
    ]
    if emails:
        card["emails"] = emails
    if contact.get("user_id"):
        card["user_id"] = contact["user_id"]
    own = bool(phones) and contact.get("user_id") is not None and contact.get("user_id") == sender.get("id")
    return {
        "content_type": ContentType.contact,
        "content": name,
        "payload": card,
        **({"sender_phone": phones[0]} if own else {}),
    }


def _name(user: dict[str, Any]) -> str | None:
    full = " ".join(str(user.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    return full or user.get("username") or user.get("title") or None


def _time(epoch: int) -> datetime:
    try:
        return datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidPayload(f"date {epoch!r} is not a Unix time") from None
