"""WhatsApp Cloud API webhooks -> ChatHub events (the parsing half of the WhatsApp driver).

Meta posts one envelope for everything a business account subscribed to::

    {"object": "whatsapp_business_account",
     "entry": [{"id": "<WABA id>", "changes": [{"field": "messages", "value": {
         "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
         "contacts": [{"profile": {"name": "Sheena Nelson", "username": "@sheena"}, "wa_id": "16505551234",
                       "user_id": "US.13491208655302741918"}],
         "messages": [{"from": "16505551234", "from_user_id": "US.13491208655302741918",
                       "id": "wamid.HBgL...", "timestamp": "1749416383", "type": "text",
                       "text": {"body": "Does it come in another color?"}}],
         "statuses": [{"id": "wamid.HBgL...", "status": "failed", "timestamp": "1750263773",
                       "recipient_id": "16505551234",
                       "errors": [{"code": 131047, "title": "Re-engagement message", ...}]}]}}]}]}

A customer who adopted a WhatsApp username may come without a phone number (`from`/`wa_id` omitted): the
business-scoped user id (BSUID, `from_user_id`/`user_id`) is then the only stable address.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chathub.drivers.base import InboundEvent, InboundMessage, InvalidPayload, MediaRef, StatusUpdate
from chathub.drivers.whatsapp_errors import error_sentence
from chathub.models import ContentType, MessageStatus

MEDIA_KINDS = {
    "image": ContentType.image,
    "video": ContentType.video,
    "audio": ContentType.audio,
    "document": ContentType.file,
    "sticker": ContentType.sticker,
}
# "deleted" is not a delivery state (the customer deleted our message): it is ignored, like any status
# Meta may add later. A voice note "played" has been seen, so it counts as read.
RECEIPT_STATUSES = {
    "sent": MessageStatus.sent,
    "delivered": MessageStatus.delivered,
    "read": MessageStatus.read,
    "played": MessageStatus.read,
    "failed": MessageStatus.failed,
}


def parse_webhook(body: bytes, phone_number_id: str) -> list[InboundEvent]:
    """Every message and receipt in one POST that belongs to `phone_number_id`, in order."""
    data = _object(_load(body), "the body")
    if data.get("object") != "whatsapp_business_account":
        raise InvalidPayload("'object' must be 'whatsapp_business_account'")
    events: list[InboundEvent] = []
    for entry in _list(data, "entry"):
        for change in _list(_object(entry, "an entry"), "changes"):
            change = _object(change, "a change")
            if change.get("field") != "messages":
                continue  # template, account and quality updates carry no conversation events
            value = _object(change.get("value"), "the 'value' of a messages change")
            metadata = _object(value.get("metadata"), "'metadata'")
            if str(metadata.get("phone_number_id") or "") != phone_number_id:
                continue  # another number of the same Meta app posts to this URL too
            events.extend(_parse_value(value))
    return events


def _parse_value(value: dict[str, Any]) -> list[InboundEvent]:
    contacts = [_object(c, "a contact") for c in _list(value, "contacts")]
    events: list[InboundEvent] = []
    for message in _list(value, "messages"):
        events.append(_parse_message(_object(message, "a message"), contacts))
    for status in _list(value, "statuses"):
        update = _parse_status(_object(status, "a status"))
        if update is not None:
            events.append(update)
    return events


# --- messages ------------------------------------------------------------------------------------------------


def _parse_message(message: dict[str, Any], contacts: list[dict[str, Any]]) -> InboundMessage:
    kind = str(message.get("type") or "")
    if kind == "edit":
        return _parse_edit(message, contacts)
    identity = _identity(message, contacts)
    common = dict(
        external_id=_required_text(message, "id", "a message"),
        sent_at=_time(message.get("timestamp")),
        **identity.pop("sender"),
    )
    extra = {**identity, **_context(message)}
    parser = _KIND_PARSERS.get(kind)
    if parser is None and kind in MEDIA_KINDS:
        parser = _parse_media
    fields = parser(message, kind) if parser else _unsupported(message)
    payload = {**extra, **(fields.pop("payload", None) or {})}
    return InboundMessage(**common, **fields, payload=payload or None)


def _parse_edit(message: dict[str, Any], contacts: list[dict[str, Any]]) -> InboundMessage:
    """A customer edited an earlier message: a new version of it, under the original's id."""
    edit = _object(message.get("edit"), "'edit'")
    original_id = _required_text(edit, "original_message_id", "'edit'")
    new_version = dict(_object(edit.get("message"), "'edit.message'"))
    if _object(new_version.get("context") or {}, "'context'").get("id") == original_id:
        new_version.pop("context")  # it points at the message it replaces, not at a message it answers
    for key in ("from", "from_user_id", "from_parent_user_id", "timestamp"):
        if key in message:
            new_version[key] = message[key]
    new_version["id"] = original_id
    parsed = _parse_message(new_version, contacts)
    return replace(parsed, edited=True, payload={**(parsed.payload or {}), "edit_id": message.get("id")})


def _identity(message: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    """Who wrote: the phone number (wa_id) when Meta shares it, else the business-scoped user id."""
    wa_id = _text(message.get("from"))
    user_id = _text(message.get("from_user_id"))
    contact = _matching_contact(contacts, wa_id, user_id)
    wa_id = wa_id or _text(contact.get("wa_id"))
    user_id = user_id or _text(contact.get("user_id"))
    sender_id = wa_id or user_id
    if not sender_id:
        raise InvalidPayload("a message needs 'from' or 'from_user_id'")
    profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
    aliases = (user_id,) if wa_id and user_id else ()  # the stable id, for when the phone number is hidden later
    identity: dict[str, Any] = {
        "sender": dict(
            sender_id=sender_id,
            sender_name=_text(profile.get("name")) or None,
            sender_phone=f"+{wa_id}" if wa_id.isdigit() else None,
            sender_aliases=aliases,
        )
    }
    for key, found in (
        ("wa_id", wa_id),
        ("user_id", user_id),
        ("parent_user_id", _text(message.get("from_parent_user_id") or contact.get("parent_user_id"))),
        ("username", _text(profile.get("username"))),
    ):
        if found:
            identity[key] = found
    return identity


def _matching_contact(contacts: list[dict[str, Any]], wa_id: str, user_id: str) -> dict[str, Any]:
    for contact in contacts:
        if (wa_id and contact.get("wa_id") == wa_id) or (user_id and contact.get("user_id") == user_id):
            return contact
    return contacts[0] if len(contacts) == 1 else {}


def _context(message: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    context = message.get("context")
    if isinstance(context, dict):
        if _text(context.get("id")):
            extra["reply_to_id"] = context["id"]
        if context.get("forwarded") or context.get("frequently_forwarded"):
            extra["forwarded"] = True
    if isinstance(message.get("referral"), dict):
        extra["referral"] = message["referral"]  # the Click-to-WhatsApp ad the customer came from
    if _text(message.get("group_id")):
        extra["group_id"] = message["group_id"]
    return extra


def _parse_text(message: dict[str, Any], kind: str) -> dict[str, Any]:
    text = _object(message.get("text"), "'text'")
    return dict(content_type=ContentType.text, content=_required_text(text, "body", "'text'", strip=False))


def _parse_media(message: dict[str, Any], kind: str) -> dict[str, Any]:
    media = _object(message.get(kind), f"'{kind}'")
    mime_type = _text(media.get("mime_type")) or None
    file_name = _text(media.get("filename")) or None
    fields: dict[str, Any] = dict(
        content_type=MEDIA_KINDS[kind],
        content=_text(media.get("caption"), strip=False),
        media=MediaRef(ref=_required_text(media, "id", f"'{kind}'"), mime_type=mime_type, file_name=file_name),
        media_mime_type=mime_type,
        file_name=file_name,
    )
    if kind == "audio":
        fields["payload"] = {"voice": bool(media.get("voice"))}
    return fields


def _parse_location(message: dict[str, Any], kind: str) -> dict[str, Any]:
    location = _object(message.get("location"), "'location'")
    try:
        latitude, longitude = float(location["latitude"]), float(location["longitude"])
    except (KeyError, TypeError, ValueError):
        raise InvalidPayload("a location needs numeric 'latitude' and 'longitude'") from None
    payload: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    for key in ("name", "address", "url"):
        if _text(location.get(key)):
            payload[key] = location[key]
    return dict(
        content_type=ContentType.location, content=payload.get("name") or payload.get("address") or "", payload=payload
    )


def _parse_contacts(message: dict[str, Any], kind: str) -> dict[str, Any]:
    """Contact cards the customer shared (not the customer): the first in the payload, all under 'cards'."""
    cards = [_contact_card(_object(card, "a shared contact")) for card in _list(message, "contacts")]
    if not cards:
        raise InvalidPayload("a contacts message needs at least one card in 'contacts'")
    payload = dict(cards[0])
    if len(cards) > 1:
        payload["cards"] = cards
    return dict(
        content_type=ContentType.contact, content=", ".join(c["name"] for c in cards if c["name"]), payload=payload
    )


def _contact_card(card: dict[str, Any]) -> dict[str, Any]:
    name = card.get("name") if isinstance(card.get("name"), dict) else {}
    full_name = _text(name.get("formatted_name")) or " ".join(
        part for part in (_text(name.get("first_name")), _text(name.get("last_name"))) if part
    )
    phones = [_text(p.get("phone")) or _text(p.get("wa_id")) for p in card.get("phones") or [] if isinstance(p, dict)]
    emails = [_text(e.get("email")) for e in card.get("emails") or [] if isinstance(e, dict)]
    result: dict[str, Any] = {"name": full_name, "phones": [p for p in phones if p]}
    if any(emails):
        result["emails"] = [e for e in emails if e]
    return result


def _parse_reaction(message: dict[str, Any], kind: str) -> dict[str, Any]:
    reaction = _object(message.get("reaction"), "'reaction'")
    emoji = _text(reaction.get("emoji"), strip=False)  # missing or "" when the customer removed the reaction
    return dict(
        content_type=ContentType.reaction,
        content=emoji,
        payload={"emoji": emoji, "message_id": _required_text(reaction, "message_id", "'reaction'")},
    )


def _parse_interactive(message: dict[str, Any], kind: str) -> dict[str, Any]:
    """A tap on a reply button or list row the business sent, or a submitted WhatsApp Flow."""
    interactive = _object(message.get("interactive"), "'interactive'")
    reply_kind = str(interactive.get("type") or "")
    reply = interactive.get(reply_kind)
    if reply_kind in ("button_reply", "list_reply"):
        reply = _object(reply, f"'{reply_kind}'")
        payload = {"reply_id": _text(reply.get("id")), "kind": reply_kind}
        if _text(reply.get("description")):
            payload["description"] = reply["description"]
        return dict(
            content_type=ContentType.text, content=_required_text(reply, "title", f"'{reply_kind}'"), payload=payload
        )
    if reply_kind == "nfm_reply":
        reply = _object(reply, "'nfm_reply'")
        response = reply.get("response_json")
        try:
            response = json.loads(response) if isinstance(response, str) else response
        except ValueError:
            pass
        return dict(
            content_type=ContentType.text,
            content=_text(reply.get("body")) or "Form submitted",
            payload={"reply_id": _text(reply.get("name")), "kind": "nfm_reply", "response": response},
        )
    return _unsupported(message)


def _parse_button(message: dict[str, Any], kind: str) -> dict[str, Any]:
    """A quick-reply button of a template message."""
    button = _object(message.get("button"), "'button'")
    return dict(
        content_type=ContentType.text,
        content=_required_text(button, "text", "'button'"),
        payload={"reply_id": _text(button.get("payload")), "kind": "button"},
    )


def _unsupported(message: dict[str, Any]) -> dict[str, Any]:
    """System notices, orders, revokes, kinds WhatsApp itself does not support, and kinds added later:
    kept for the agent with the raw message, never dropped."""
    readable = ""
    for key, field in (("system", "body"), ("order", "text")):
        if isinstance(message.get(key), dict):
            readable = _text(message[key].get(field))
    return dict(content_type=ContentType.unsupported, content=readable, payload={"raw": message})


_KIND_PARSERS = {
    "text": _parse_text,
    "location": _parse_location,
    "contacts": _parse_contacts,
    "reaction": _parse_reaction,
    "interactive": _parse_interactive,
    "button": _parse_button,
}


# --- receipts ------------------------------------------------------------------------------------------------


def _parse_status(status: dict[str, Any]) -> StatusUpdate | None:
    external_id = _required_text(status, "id", "a status")
    state = RECEIPT_STATUSES.get(str(status.get("status") or ""))
    if state is None:
        return None
    error = None
    if state == MessageStatus.failed:
        errors = status.get("errors") if isinstance(status.get("errors"), list) else []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        details = first.get("error_data", {}).get("details") if isinstance(first.get("error_data"), dict) else None
        error = error_sentence(
            first.get("code"), title=first.get("title"), message=first.get("message"), details=details
        )
    return StatusUpdate(external_id=external_id, status=state, error=error, at=_time(status.get("timestamp")))


# --- small readers -------------------------------------------------------------------------------------------


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidPayload(f"body is not valid JSON: {error}") from None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidPayload(f"{what} must be a JSON object")
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise InvalidPayload(f"'{key}' must be a list")
    return value


def _text(value: Any, *, strip: bool = True) -> str:
    if not isinstance(value, str):
        return ""
    return value.strip() if strip else value


def _required_text(data: dict[str, Any], key: str, where: str, *, strip: bool = True) -> str:
    value = _text(data.get(key), strip=strip)
    if not value.strip():
        raise InvalidPayload(f"{where} needs '{key}'")
    return value


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise InvalidPayload(f"timestamp {value!r} is not a Unix time") from None
