"""WhatsApp Business Platform (Cloud API) channel: one business phone number of a Meta developer app.

Config: `phone_number_id`, `access_token` (a permanent System User token), `app_secret` (signs webhooks),
`verify_token` (answers Meta's webhook check; generated when left empty), optional `waba_id`.

Webhooks are set up by hand in the Meta App Dashboard (callback URL + verify token, `messages` field): Meta
first GETs the URL with `hub.challenge` (`answer_handshake`), then POSTs events signed with
`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`. Parsing lives in
`whatsapp_inbound`, error codes in `whatsapp_errors`.

Outbound goes to `POST /{phone_number_id}/messages`; attachments are uploaded first to
`POST /{phone_number_id}/media`. Inbound media is fetched in two steps: `GET /{media_id}` gives a download URL
that is valid for five minutes and needs the same bearer token.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from chathub.drivers.base import (
    Capabilities,
    ChannelDriver,
    ChannelError,
    ChannelHealth,
    ConfigField,
    CredentialsError,
    FetchedMedia,
    InboundEvent,
    MediaRef,
    OutboundMessage,
    PermanentError,
    RetryableError,
    SignatureError,
    StrictConfig,
    hmac_sha256_hex,
    refuse_unknown_settings,
)
from chathub.drivers.whatsapp_errors import error_from_response
from chathub.drivers.whatsapp_inbound import parse_webhook
from chathub.models import ContentType

SIGNATURE_HEADER = "x-hub-signature-256"
MAX_CAPTION_LENGTH = 1024
OUTBOUND_MEDIA_KINDS = {
    ContentType.image: "image",
    ContentType.video: "video",
    ContentType.audio: "audio",
    ContentType.file: "document",
    ContentType.sticker: "sticker",
}
CAPTIONED_KINDS = {"image", "video", "document"}
# A business-scoped user id: country code, a dot, optionally ENT. (a parent BSUID), then letters and digits.
BSUID_PATTERN = re.compile(r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]+$")
WHERE_TO_FIND = {
    "phone_number_id": "the Phone number ID under WhatsApp > API Setup in the Meta App Dashboard",
    "access_token": "a permanent System User token with whatsapp_business_messaging (Business Settings > System users)",
    "app_secret": "the App secret under App settings > Basic in the Meta App Dashboard",
}


class WhatsAppConfig(StrictConfig):
    phone_number_id: str
    access_token: str
    app_secret: str
    verify_token: str | None = None
    waba_id: str | None = None


CONFIG_KEYS = tuple(WhatsAppConfig.model_fields)


class WhatsAppDriver(ChannelDriver):
    type = "whatsapp"
    label = "WhatsApp"
    icon = "chat"
    config_model = WhatsAppConfig
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
        supports_receipts=True,
    )
    default_api_base_url = "https://graph.facebook.com/v23.0"
    config_fields = (
        ConfigField("phone_number_id", "Phone number ID", hint="WhatsApp > API Setup in the Meta app dashboard"),
        ConfigField("access_token", "Access token", secret=True, hint="A System User's permanent token"),
        ConfigField("app_secret", "App secret", secret=True, hint="App settings > Basic; signs every webhook"),
        # Not secret: it is pasted into Meta's dashboard, and only answers the GET check of the URL.
        ConfigField(
            "verify_token",
            "Verify token",
            required=False,
            hint="Paste it into the webhook settings; leave empty to have one generated",
        ),
        ConfigField("waba_id", "WhatsApp Business Account ID", required=False),
    )

    # --- config ----------------------------------------------------------------------------------------------

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        refuse_unknown_settings(cls.type, config, CONFIG_KEYS)
        cleaned: dict[str, str] = {}
        for key in CONFIG_KEYS:
            value = config.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{key} must be text")
            cleaned[key] = (value or "").strip()
        cleaned["access_token"] = re.sub(r"^Bearer\s+", "", cleaned["access_token"], flags=re.IGNORECASE)
        for key, where in WHERE_TO_FIND.items():
            if not cleaned[key]:
                raise ValueError(f"{key} is missing: paste {where}")
        for key in ("phone_number_id", "waba_id"):
            if cleaned[key] and not cleaned[key].isdigit():
                raise ValueError(f"{key} must be the number Meta shows (digits only), not a phone number")
        if not cleaned["verify_token"]:
            cleaned["verify_token"] = secrets.token_urlsafe(24)
        return cleaned

    @classmethod
    def channel_outbound_problem(cls, content_type: ContentType, content: str) -> str | None:
        kind = OUTBOUND_MEDIA_KINDS.get(content_type)
        if kind and content.strip() and kind not in CAPTIONED_KINDS:
            return f"WhatsApp cannot put a caption on {kind} messages; send the text as its own message"
        if kind and len(content) > MAX_CAPTION_LENGTH:
            return f"the caption has {len(content)} characters; WhatsApp allows {MAX_CAPTION_LENGTH}"
        return None

    @property
    def phone_number_id(self) -> str:
        return str(self.context.config.get("phone_number_id") or "")

    # --- intake ----------------------------------------------------------------------------------------------

    def answer_handshake(self, params: Mapping[str, str]) -> str:
        expected = str(self.context.config.get("verify_token") or "")
        given = params.get("hub.verify_token") or ""
        if params.get("hub.mode") != "subscribe":
            raise SignatureError("hub.mode must be 'subscribe'")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise SignatureError("hub.verify_token does not match the channel's verify token")
        challenge = params.get("hub.challenge") or ""
        if not challenge:
            raise SignatureError("hub.challenge is missing")
        return challenge

    def verify(self, body: bytes, headers: Mapping[str, str], *, query: str = "") -> None:
        secret = str(self.context.config.get("app_secret") or "")
        if not secret:
            raise SignatureError("the channel has no app_secret to check X-Hub-Signature-256 with")
        given = (headers.get(SIGNATURE_HEADER) or "").strip()
        if not given:
            raise SignatureError("missing X-Hub-Signature-256 header")
        expected = f"sha256={hmac_sha256_hex(secret, body)}"
        if not hmac.compare_digest(given.lower().encode(), expected.encode()):
            raise SignatureError("X-Hub-Signature-256 does not match the body (is app_secret right?)")

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
        return parse_webhook(body, self.phone_number_id)

    # --- sending ---------------------------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> str:
        problem = self.check_outbound(
            message.content_type,
            message.content,
            media_url=message.media_url,
            payload=message.payload,
            has_media=message.media is not None,
        )
        if problem:
            raise PermanentError(problem[0].upper() + problem[1:])
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            **_address(message.recipient_id),
        }
        if message.content_type == ContentType.text:
            body |= {"type": "text", "text": {"body": message.content, "preview_url": False}}
        elif message.content_type == ContentType.location:
            body |= {"type": "location", "location": _location(message)}
        else:
            kind = OUTBOUND_MEDIA_KINDS[message.content_type]
            body |= {"type": kind, kind: await self._media_object(message, kind)}
        answer = await self._call("POST", f"/{self.phone_number_id}/messages", json=body)
        sent = answer.get("messages")
        if not (isinstance(sent, list) and sent and isinstance(sent[0], dict) and sent[0].get("id")):
            raise PermanentError("WhatsApp accepted the message but gave no message id")
        return str(sent[0]["id"])

    async def send_typing(self, recipient_id: str, *, last_inbound_id: str | None = None) -> None:
        """Marks the customer's latest message read and shows "typing…" (up to 25 s or until we answer)."""
        if not last_inbound_id:
            return
        await self._call(
            "POST",
            f"/{self.phone_number_id}/messages",
            json={
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": last_inbound_id,
                "typing_indicator": {"type": "text"},
            },
        )

    async def _media_object(self, message: OutboundMessage, kind: str) -> dict[str, Any]:
        if message.media is not None:
            media: dict[str, Any] = {"id": await self._upload(message)}
        else:
            media = {"link": message.media_url}
        if message.content:  # check_outbound let a caption through only for image, video and document
            media["caption"] = message.content
        file_name = message.media.file_name if message.media is not None else message.file_name
        if kind == "document" and file_name:
            media["filename"] = file_name
        return media

    async def _upload(self, message: OutboundMessage) -> str:
        attachment = message.media
        try:
            data = await asyncio.to_thread(attachment.path.read_bytes)
        except OSError as error:
            raise PermanentError(f"The attached file could not be read: {error}") from None
        answer = await self._call(
            "POST",
            f"/{self.phone_number_id}/media",
            files={"file": (attachment.file_name, data, attachment.mime_type)},
            data={"type": attachment.mime_type, "messaging_product": "whatsapp"},
        )
        if not answer.get("id"):
            raise PermanentError("WhatsApp accepted the upload but gave no media id")
        return str(answer["id"])

    # --- media, health ---------------------------------------------------------------------------------------

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        cap = self.context.max_media_bytes
        try:
            info = await self._call(
                "GET", f"/{quote(media.ref, safe='')}", params={"phone_number_id": self.phone_number_id}
            )
        except PermanentError as error:
            if isinstance(error, CredentialsError):
                raise
            raise PermanentError(
                f"The file is no longer at WhatsApp (media ids expire after 7 days): {error}", code=error.code
            ) from None
        url = info.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PermanentError("WhatsApp gave no download URL for the file")
        if str(info.get("file_size") or "").isdigit() and int(info["file_size"]) > cap:
            raise PermanentError(f"the file is larger than {cap} bytes")
        data, headers = await self.download_capped(
            url, source="WhatsApp", refusal=_download_refusal, headers=self._auth
        )
        return FetchedMedia(
            data=data,
            mime_type=info.get("mime_type") or headers.get("content-type") or media.mime_type,
            file_name=media.file_name,
        )

    async def register_webhook(self) -> str | None:
        return None  # set by hand in the Meta App Dashboard: callback URL, verify token, `messages` field

    async def check_health(self) -> ChannelHealth:
        try:
            info = await self._call(
                "GET",
                f"/{self.phone_number_id}",
                params={"fields": "display_phone_number,verified_name,quality_rating"},
            )
        except CredentialsError as error:
            summary = "The access token is invalid or expired" if error.code == "190" else str(error)
            return ChannelHealth(ok=False, summary=summary, details={"credentials_rejected": True, "code": error.code})
        except RetryableError as error:
            return ChannelHealth(ok=False, summary=f"WhatsApp could not be checked right now: {error}")
        except PermanentError as error:
            return ChannelHealth(
                ok=False,
                summary=f"WhatsApp refused phone number id {self.phone_number_id}: {error}",
                details={"code": error.code},
            )
        number = info.get("display_phone_number") or self.phone_number_id
        name = f" ({info['verified_name']})" if info.get("verified_name") else ""
        rating = f", quality rating {info['quality_rating']}" if info.get("quality_rating") else ""
        return ChannelHealth(
            ok=True,
            summary=f"Connected to WhatsApp number {number}{name}{rating}",
            details={k: info[k] for k in ("display_phone_number", "verified_name", "quality_rating") if k in info},
        )

    # --- HTTP ------------------------------------------------------------------------------------------------

    @property
    def _http(self) -> httpx.AsyncClient:
        if self.context.http is None:
            raise RuntimeError("the WhatsApp driver needs DriverContext.http")
        return self.context.http

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.context.config.get('access_token') or ''}"}

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, self.api_base_url + path, headers=self._auth, **kwargs)
        except httpx.TimeoutException:
            raise RetryableError("WhatsApp did not answer in time") from None
        except httpx.TransportError as error:
            raise RetryableError(f"WhatsApp could not be reached: {error}") from None
        if not response.is_success:
            raise error_from_response(response.status_code, response.content, response.headers)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise PermanentError(f"WhatsApp answered {path} with something that is not a JSON object")
        return answer


async def _download_refusal(response: httpx.Response) -> ChannelError:
    if response.status_code in (404, 410):
        return PermanentError(f"The download link expired or the file is gone (HTTP {response.status_code})")
    return error_from_response(response.status_code, await response.aread(), response.headers)


def _address(recipient_id: str) -> dict[str, str]:
    """A phone number goes in `to`; a business-scoped user id (a customer without a shared phone number)
    in `recipient`, as Meta documents for BSUIDs."""
    recipient = recipient_id.strip()
    if BSUID_PATTERN.match(recipient):
        return {"recipient": recipient}
    return {"to": recipient}


def _location(message: OutboundMessage) -> dict[str, Any]:
    payload = message.payload or {}
    try:
        location: dict[str, Any] = {"latitude": float(payload["latitude"]), "longitude": float(payload["longitude"])}
    except (KeyError, TypeError, ValueError):
        raise PermanentError("A location needs numeric latitude and longitude") from None
    name = payload.get("name") or message.content.strip()
    if name:
        location["name"] = name
    if payload.get("address"):
        location["address"] = payload["address"]
    return location
