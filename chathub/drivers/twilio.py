"""SMS, MMS and WhatsApp through Twilio Programmable Messaging (https://www.twilio.com/docs/messaging).

Inbound: Twilio posts `application/x-www-form-urlencoded` requests to the URL the admin pasted into the
number's (or WhatsApp sender's) "A message comes in" setting, and the status callbacks of our own messages to
the `StatusCallback` URL we send with each one (the same ChatHub webhook URL). Both are signed with
`X-Twilio-Signature` = base64(HMAC-SHA1(auth token, public URL + every parameter name and value, sorted)).
An incoming message has `SmsStatus=received` and no `MessageStatus`; a status callback has `MessageStatus`.

Outbound: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with basic auth (account SID, auth token).
Media goes as `MediaUrl`: Twilio fetches it, so attachments need ChatHub's public link. Errors come back as
`{"code", "message", "more_info", "status"}`; delivery failures arrive later as `ErrorCode` in callbacks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import mimetypes
import re
from collections.abc import Mapping
from email.message import Message as MimeHeader
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

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
    InboundMessage,
    InvalidPayload,
    MediaRef,
    OutboundMessage,
    PermanentError,
    RetryableError,
    SignatureError,
    StatusUpdate,
    StrictConfig,
    refuse_unknown_settings,
)
from chathub.models import ContentType, MessageStatus

SIGNATURE_HEADER = "x-twilio-signature"
API_VERSION = "2010-04-01"
ACCOUNT_SID_PATTERN = re.compile(r"^AC[0-9a-fA-F]{32}$")
SERVICE_SID_PATTERN = re.compile(r"^MG[0-9a-fA-F]{32}$")
FROM_NUMBER_PATTERN = re.compile(r"^(whatsapp:)?\+[1-9]\d{6,14}$")
PHONE_PATTERN = re.compile(r"^\+?\d{3,15}$")
WHATSAPP_PREFIX = "whatsapp:"

# MessageStatus values of a status callback. Those missing here (queued, accepted, scheduled, sending,
# receiving, received) say nothing new about our message and are ignored.
RECEIPT_STATUSES = {
    "sent": MessageStatus.sent,
    "delivered": MessageStatus.delivered,
    "partially_delivered": MessageStatus.delivered,
    "read": MessageStatus.read,
    "undelivered": MessageStatus.failed,
    "failed": MessageStatus.failed,
    "canceled": MessageStatus.failed,
}
INBOUND_STATUSES = {"", "received", "receiving"}

# Twilio error codes an agent meets, in plain words (https://www.twilio.com/docs/api/errors/<code>).
ERROR_SENTENCES = {
    "20003": "Twilio rejected the Account SID or auth token",
    "20404": "Twilio does not know this account or resource; check the Account SID",
    "20429": "Twilio is rate limiting this account; the message will be retried",
    "21211": "The 'To' number is not a valid phone number",
    "21408": "Twilio may not send messages to this country yet; enable it under Messaging > Settings > Geo permissions",
    "21606": "The 'From' number cannot send messages to this destination; check the channel's from_number",
    "21608": "A Twilio trial account can only send to verified phone numbers",
    "21610": "The customer replied STOP and has unsubscribed; they must text START before you can message them again",
    "21612": "Twilio cannot route a message from this sender to the customer's number",
    "21614": "The 'To' number is not a mobile number and cannot receive text messages",
    "21617": "The message is longer than the 1600 characters Twilio allows",
    "21620": "Twilio could not use the attachment's link",
    "21621": "The 'From' number cannot send MMS (pictures or files)",
    "21623": "The message has more attachments than Twilio allows",
    "21910": "The 'From' and 'To' addresses are on different channels (one WhatsApp, one SMS)",
    "30001": "Twilio's queue for this sender overflowed; too many messages were sent too quickly",
    "30002": "The Twilio account is suspended",
    "30003": "The customer's phone is unreachable (switched off, out of coverage or unable to receive texts)",
    "30004": "The message was blocked: the customer blocked this sender or their carrier refused it",
    "30005": "The customer's number is unknown to the carrier; it may no longer exist",
    "30006": "The number is a landline or its carrier cannot be reached, so it cannot receive texts",
    "30007": "The carrier filtered the message as spam",
    "30008": "The carrier failed to deliver the message for an unknown reason",
    "30009": "Part of the long message went missing on the way to the customer",
    "30010": "The message cost more than the maximum price set for it",
    "30019": "The attachment is larger than the carrier allows",
    "30034": "US carriers block messages from numbers that are not registered for A2P 10DLC",
    "63003": "The address is not a WhatsApp user (or the number is inactive)",
    "63007": "Twilio has no WhatsApp sender with this channel's from_number",
    "63013": "WhatsApp refused the message for a policy violation",
    "63015": "The customer has not joined the WhatsApp sandbox (they must send the join code first)",
    "63016": "More than 24 hours have passed since the customer last wrote; only an approved WhatsApp template "
    "can reopen the conversation",
    "63018": "WhatsApp's rate limit for this sender was exceeded",
    "63019": "WhatsApp could not download the attachment",
    "63021": "WhatsApp refused the message content as invalid",
    "63024": "The recipient cannot receive this WhatsApp message (not a valid WhatsApp user)",
    "63032": "WhatsApp did not deliver the message to this user in their country or at this time",
    "63049": "WhatsApp chose not to deliver this marketing message to the customer",
}


class TwilioConfig(StrictConfig):
    account_sid: str
    auth_token: str
    from_number: str
    messaging_service_sid: str | None = None


class TwilioDriver(ChannelDriver):
    """Config: `account_sid` (AC…), `auth_token`, `from_number` (`+15551234567` for SMS/MMS or
    `whatsapp:+15551234567` for WhatsApp); optional `messaging_service_sid` (MG…), sent instead of From."""

    type = "twilio"
    label = "Twilio (SMS, WhatsApp)"
    icon = "sms"
    config_model = TwilioConfig
    default_api_base_url = "https://api.twilio.com"
    # Twilio reads the answer to an incoming message as TwiML: an empty <Response/> sends no auto-reply.
    acknowledgement = ('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', "text/xml")
    config_fields = (
        ConfigField("account_sid", "Account SID", hint="AC… from the Twilio Console"),
        ConfigField("auth_token", "Auth token", secret=True),
        ConfigField("from_number", "From number", hint="+15551234567 for SMS, whatsapp:+15551234567 for WhatsApp"),
        ConfigField(
            "messaging_service_sid",
            "Messaging Service SID",
            required=False,
            hint="MG…; sent instead of the From number when set",
        ),
    )
    capabilities = Capabilities(
        content_types=frozenset(
            {ContentType.text, ContentType.image, ContentType.audio, ContentType.video, ContentType.file}
        ),
        max_text_length=1600,
        supports_typing=False,
        supports_receipts=True,
        supports_edits=False,
    )

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        keys = list(cls.config_model.model_fields)
        refuse_unknown_settings(cls.type, config, keys)
        cleaned = {}
        for key in keys:
            value = config.get(key)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{key} must be text")
            cleaned[key] = (value or "").strip()
        if not ACCOUNT_SID_PATTERN.fullmatch(cleaned["account_sid"]):
            raise ValueError(
                "account_sid must be the Account SID from the Twilio Console: AC followed by 32 hexadecimal characters"
            )
        if not cleaned["auth_token"] or re.search(r"\s", cleaned["auth_token"]):
            raise ValueError("auth_token is missing or has spaces in it: copy the Auth Token from the Twilio Console")
        if not FROM_NUMBER_PATTERN.fullmatch(cleaned["from_number"]):
            raise ValueError(
                "from_number must be the Twilio number in E.164 form, like +15551234567, or "
                "whatsapp:+15551234567 for a WhatsApp sender"
            )
        service = cleaned["messaging_service_sid"]
        if service and not SERVICE_SID_PATTERN.fullmatch(service):
            raise ValueError("messaging_service_sid must be MG followed by 32 hexadecimal characters (or empty)")
        return cleaned

    # --- inbound -----------------------------------------------------------------------------------------

    def verify(self, body: bytes, headers: Mapping[str, str], *, query: str = "") -> None:
        given = headers.get(SIGNATURE_HEADER, "")
        if not given:
            raise SignatureError(f"missing {SIGNATURE_HEADER} header")
        if not self.context.webhook_url:
            raise SignatureError(
                "the channel's public webhook URL is unknown (set CHATHUB_PUBLIC_URL); Twilio signs that URL"
            )
        try:
            pairs = _form_pairs(body)
        except InvalidPayload:
            raise SignatureError("the body is not form data, so it cannot be Twilio's") from None
        url = self.context.webhook_url + (f"?{query}" if query else "")
        token = str(self.context.config.get("auth_token", ""))
        if not any(
            hmac.compare_digest(given.encode(), signature(token, candidate, pairs).encode())
            for candidate in _url_variants(url)
        ):
            raise SignatureError(
                f"{SIGNATURE_HEADER} does not match; CHATHUB_PUBLIC_URL must be exactly the "
                f"address Twilio calls ({url})"
            )
        account = dict(pairs).get("AccountSid", "")
        if not hmac.compare_digest(account.encode(), str(self.context.config.get("account_sid", "")).encode()):
            raise SignatureError(f"the request is for Twilio account {account or '(none)'}, not this channel's")

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
        params = dict(reversed(_form_pairs(body)))  # the first value of a repeated name wins
        message_sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid") or ""
        if not message_sid:
            raise InvalidPayload("missing required field 'MessageSid'")
        status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
        if status in INBOUND_STATUSES:
            return _parse_incoming(message_sid, params)
        return _parse_status(message_sid, status, params)

    # --- outbound ----------------------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> str:
        config = self.context.config
        form: list[tuple[str, str]] = [("To", self._recipient(message.recipient_id))]
        if config.get("messaging_service_sid"):
            form.append(("MessagingServiceSid", config["messaging_service_sid"]))
        else:
            form.append(("From", config["from_number"]))
        if message.content:
            form.append(("Body", message.content))
        media_url = _outbound_media_url(message)
        if media_url:
            form.append(("MediaUrl", media_url))
        if message.status_callback_url and _is_public(message.status_callback_url):
            form.append(("StatusCallback", message.status_callback_url))
        response = await self._request(
            "POST",
            self._account_path("/Messages.json"),
            content=urlencode(form),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        if response.is_success:
            sid = _json(response).get("sid")
            if not isinstance(sid, str) or not sid:
                raise PermanentError("Twilio accepted the message but returned no sid")
            return sid
        raise _send_error(response)

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        if not self._may_carry_credentials(media.ref):
            raise PermanentError(f"refusing to send Twilio credentials to {urlsplit(media.ref).netloc or media.ref}")
        # Twilio answers with a redirect to its CDN; httpx drops the Authorization header when a redirect
        # leaves the origin, so the auth token never reaches the CDN.
        data, headers = await self.download_capped(
            media.ref, source="Twilio", refusal=_media_refusal, auth=self._auth, follow_redirects=True
        )
        mime = (headers.get("content-type") or media.mime_type or "").split(";")[0].strip()
        name = _disposition_file_name(headers) or media.file_name or _file_name(media.ref, mime)
        return FetchedMedia(data, mime_type=mime or None, file_name=name)

    async def register_webhook(self) -> str | None:
        return None  # the admin pastes the webhook URL into the number's "A message comes in" setting

    async def check_health(self) -> ChannelHealth:
        details: dict[str, Any] = {"webhook_url": self.context.webhook_url}
        try:
            response = await self._request("GET", self._account_path(".json"))
        except RetryableError as error:
            return ChannelHealth(ok=False, summary=str(error), details=details)
        if response.status_code in (401, 403):
            return ChannelHealth(
                ok=False,
                summary="The Account SID or auth token was rejected",
                details={**details, "credentials_rejected": True, "code": "20003"},
            )
        if not response.is_success:
            error = _json(response)
            return ChannelHealth(
                ok=False,
                summary=f"Twilio answered HTTP {response.status_code}: "
                f"{error.get('message') or response.reason_phrase}",
                details=details,
            )
        account = _json(response)
        status, name = str(account.get("status", "")), str(account.get("friendly_name", ""))
        details.update(status=status, friendly_name=name, account_type=account.get("type"))
        if status != "active":
            return ChannelHealth(
                ok=False, summary=f"The Twilio account '{name}' is {status or 'not active'}", details=details
            )
        return ChannelHealth(ok=True, summary=f"The Twilio account '{name}' is active", details=details)

    # --- helpers -----------------------------------------------------------------------------------------

    @property
    def _http(self) -> httpx.AsyncClient:
        if self.context.http is None:
            raise RuntimeError("the Twilio driver needs an HTTP client in its context")
        return self.context.http

    @property
    def _auth(self) -> tuple[str, str]:
        return str(self.context.config.get("account_sid", "")), str(self.context.config.get("auth_token", ""))

    def _account_path(self, suffix: str) -> str:
        return f"{self.api_base_url}/{API_VERSION}/Accounts/{self._auth[0]}{suffix}"

    def _recipient(self, recipient_id: str) -> str:
        # A WhatsApp channel answers WhatsApp addresses; a bare number (e.g. from the REST API) gets the prefix.
        if str(self.context.config.get("from_number", "")).startswith(WHATSAPP_PREFIX) and ":" not in recipient_id:
            return WHATSAPP_PREFIX + recipient_id
        return recipient_id

    def _may_carry_credentials(self, url: str) -> bool:
        target, api = urlsplit(url), urlsplit(self.api_base_url)
        if (target.scheme, target.netloc) == (api.scheme, api.netloc):
            return True
        host = (target.hostname or "").lower()
        return target.scheme == "https" and (host == "twilio.com" or host.endswith(".twilio.com"))

    async def _request(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method, url, auth=self._auth, headers={"accept": "application/json", **(headers or {})}, **kwargs
            )
        except (httpx.TimeoutException, httpx.TransportError) as error:
            raise RetryableError(f"Twilio could not be reached: {type(error).__name__}") from None


def signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """X-Twilio-Signature for a form POST to `url`. Like Twilio's helper libraries, each name's values are
    sorted and a value repeated under one name counts once."""
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def error_sentence(code: str, fallback: str | None = None) -> str:
    """'<code>: <plain words>' for a Twilio error code."""
    words = (
        ERROR_SENTENCES.get(code)
        or fallback
        or f"Twilio reported error {code} (see https://www.twilio.com/docs/api/errors/{code})"
    )
    return f"{code}: {words}"


def _form_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise InvalidPayload("body is not application/x-www-form-urlencoded form data") from None


def _url_variants(url: str) -> list[str]:
    """The URL as given, without its port and with the default port: Twilio's helper libraries accept all
    three because Twilio's own signing is not consistent about the port."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    without_port = parts._replace(netloc=host).geturl()
    default_port = 443 if parts.scheme == "https" else 80
    with_port = url if parts.port else parts._replace(netloc=f"{host}:{default_port}").geturl()
    return list(dict.fromkeys([url, without_port, with_port]))


def _phone(address: str) -> str | None:
    number = address.split(":", 1)[1] if ":" in address else address
    return number if PHONE_PATTERN.fullmatch(number) else None


def _media_kind(mime: str) -> ContentType:
    major = mime.split("/", 1)[0].lower()
    return {"image": ContentType.image, "audio": ContentType.audio, "video": ContentType.video}.get(
        major, ContentType.file
    )


def _parse_incoming(message_sid: str, params: dict[str, str]) -> list[InboundEvent]:
    sender = params.get("From", "").strip()
    if not sender:
        raise InvalidPayload("missing required field 'From'")
    try:
        media_count = int(params.get("NumMedia") or 0)
    except ValueError:
        raise InvalidPayload(f"NumMedia {params['NumMedia']!r} is not a number") from None
    body = params.get("Body", "")
    extra: dict[str, Any] = {}
    if params.get("OriginalRepliedMessageSid"):
        extra["reply_to"] = params["OriginalRepliedMessageSid"]
    common = dict(sender_id=sender, sender_phone=_phone(sender), sender_name=params.get("ProfileName") or None)

    if media_count > 0:
        events: list[InboundEvent] = []
        for index in range(media_count):
            url = params.get(f"MediaUrl{index}", "")
            if not url:
                raise InvalidPayload(f"NumMedia is {media_count} but 'MediaUrl{index}' is missing")
            mime = params.get(f"MediaContentType{index}") or None
            events.append(
                InboundMessage(
                    external_id=message_sid if index == 0 else f"{message_sid}/{index}",
                    content_type=_media_kind(mime or ""),
                    content=body if index == 0 else "",
                    media_mime_type=mime,
                    media=MediaRef(ref=url, mime_type=mime),
                    payload={**extra, "media_group_id": message_sid} if media_count > 1 else extra or None,
                    **common,
                )
            )
        return events
    if params.get("Latitude") and params.get("Longitude"):
        return [
            InboundMessage(
                external_id=message_sid,
                content_type=ContentType.location,
                content=body,
                payload={**_location(params), **extra},
                **common,
            )
        ]
    if params.get("ButtonText") or params.get("ButtonPayload"):
        title = params.get("ButtonText") or body or params["ButtonPayload"]
        return [
            InboundMessage(
                external_id=message_sid,
                content_type=ContentType.text,
                content=title,
                payload={"reply_id": params.get("ButtonPayload") or title, "kind": "button", **extra},
                **common,
            )
        ]
    if body:
        return [
            InboundMessage(
                external_id=message_sid, content_type=ContentType.text, content=body, payload=extra or None, **common
            )
        ]
    return [
        InboundMessage(external_id=message_sid, content_type=ContentType.unsupported, payload={"raw": params}, **common)
    ]


def _location(params: dict[str, str]) -> dict[str, Any]:
    try:
        latitude, longitude = float(params["Latitude"]), float(params["Longitude"])
    except ValueError:
        raise InvalidPayload("Latitude and Longitude must be numbers") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidPayload("Latitude or Longitude is out of range")
    location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if params.get("Label"):
        location["name"] = params["Label"]
    if params.get("Address"):
        location["address"] = params["Address"]
    return location


def _parse_status(message_sid: str, status: str, params: dict[str, str]) -> list[InboundEvent]:
    mapped = RECEIPT_STATUSES.get(status)
    if mapped is None:
        return []
    error = None
    if mapped == MessageStatus.failed:
        code = params.get("ErrorCode", "").strip()
        if code and code != "0":
            error = error_sentence(code, params.get("ErrorMessage") or None)
        elif status == "canceled":
            error = "The scheduled message was canceled before it was sent"
        else:
            error = f"Twilio reported the message as {status} without an error code"
    return [StatusUpdate(external_id=message_sid, status=mapped, error=error)]


def _outbound_media_url(message: OutboundMessage) -> str | None:
    if message.media is not None:
        if not message.media.public_url or not _is_public(message.media.public_url):
            raise PermanentError(
                "Twilio fetches attachments from ChatHub's public link, and this ChatHub is "
                "not reachable from the internet: CHATHUB_PUBLIC_URL must be ChatHub's public "
                "https address"
            )
        return message.media.public_url
    return message.media_url or None


def _is_public(url: str) -> bool:
    """Whether Twilio could reach `url`: not localhost, a private address or a name without a domain."""
    host = (urlsplit(url).hostname or "").lower()
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host and not host.endswith((".localhost", ".local", ".internal", ".lan", ".home.arpa"))
    return address.is_global


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _send_error(response: httpx.Response) -> Exception:
    error = _json(response)
    code = str(error.get("code") or "")
    message = str(error.get("message") or "").strip()
    status = response.status_code
    if status == 429 or code == "20429":
        return RetryableError(error_sentence("20429"), retry_after=_retry_after(response.headers))
    if status >= 500:
        return RetryableError(
            f"Twilio had a server error (HTTP {status}){': ' + message if message else ''}",
            retry_after=_retry_after(response.headers),
        )
    if status == 401 or code == "20003":
        return CredentialsError(error_sentence("20003"), code="20003")
    if code:
        return PermanentError(error_sentence(code, message or None), code=code)
    return PermanentError(f"Twilio refused the message (HTTP {status}){': ' + message if message else ''}")


async def _media_refusal(response: httpx.Response) -> ChannelError:
    return _media_error(response.status_code, response.headers)


def _media_error(status: int, headers: Mapping[str, str]) -> ChannelError:
    if status == 429 or status >= 500:
        return RetryableError(
            f"Twilio could not hand over the media now (HTTP {status})", retry_after=_retry_after(headers)
        )
    if status == 401:
        return CredentialsError("Twilio rejected the Account SID or auth token for the media download", code="20003")
    if status == 404:
        return PermanentError("The media is no longer at Twilio (it was deleted)")
    return PermanentError(f"Twilio refused the media download (HTTP {status})")


def _disposition_file_name(headers: Mapping[str, str]) -> str | None:
    disposition = headers.get("content-disposition")
    if not disposition:
        return None
    header = MimeHeader()
    header["content-disposition"] = disposition
    name = header.get_filename()
    return name.replace("/", "_").replace("\\", "_") if name else None


def _file_name(url: str, mime: str) -> str | None:
    stem = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    extension = mimetypes.guess_extension(mime) if mime else None
    return stem + (extension or "") if stem else None
