"""The WhatsApp Cloud API driver against Meta's documented webhook payloads and a fake Graph API."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from chathub.drivers import make_driver
from chathub.drivers.base import (
    CredentialsError,
    DriverContext,
    InboundMessage,
    InvalidPayload,
    MediaRef,
    OutboundMedia,
    OutboundMessage,
    PermanentError,
    RetryableError,
    SignatureError,
    StatusUpdate,
)
from chathub.drivers.whatsapp import WhatsAppDriver
from chathub.models import ChannelType, ContentType, MessageStatus
from tests.fakes.whatsapp import ACCESS_TOKEN, PHONE_NUMBER_ID, FakeWhatsApp, graph_error

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
APP_SECRET = "3f1b6c0e9a8d7c6b5a4f3e2d1c0b9a8f"
VERIFY_TOKEN = "chathub-verify-7Qp2"
CONFIG = {
    "phone_number_id": PHONE_NUMBER_ID,
    "access_token": ACCESS_TOKEN,
    "app_secret": APP_SECRET,
    "verify_token": VERIFY_TOKEN,
}
SHEENA, SHEENA_BSUID = "16505551234", "US.13491208655302741918"


def driver(
    fake: FakeWhatsApp | None = None,
    http: httpx.AsyncClient | None = None,
    *,
    max_media_bytes: int = 1024,
    **config: Any,
) -> WhatsAppDriver:
    context = DriverContext(
        channel_id=1,
        config=WhatsAppDriver.validate_config({**CONFIG, **config}),
        api_base_url=fake.base_url if fake else None,
        http=http,
        webhook_url="https://chathub.example.com/webhooks/whatsapp/1",
        max_media_bytes=max_media_bytes,
    )
    built = make_driver(ChannelType.whatsapp, context)
    assert isinstance(built, WhatsAppDriver)
    return built


@pytest.fixture
def fake():
    with FakeWhatsApp() as server:
        yield server


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=2) as client:
        yield client


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def raw_message(name: str) -> dict[str, Any]:
    return json.loads(fixture(name))["entry"][0]["changes"][0]["value"]["messages"][0]


def parse(name: str) -> list:
    return driver().parse(fixture(name), {})


def parse_one(name: str) -> InboundMessage:
    [event] = parse(name)
    assert isinstance(event, InboundMessage)
    return event


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"x-hub-signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def text(body: str = "Hello", recipient: str = SHEENA) -> OutboundMessage:
    return OutboundMessage(recipient_id=recipient, content_type=ContentType.text, content=body)


# --- webhook verification ----------------------------------------------------------------------------------


def test_handshake_answers_the_challenge_when_the_verify_token_matches():
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}

    assert driver().answer_handshake(params) == "1158201444"


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": "guessed", "hub.challenge": "1"}, "verify_token"),
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN + "x", "hub.challenge": "1"}, "verify_token"),
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, "verify_token"),
        ({"hub.mode": "subscribe", "hub.verify_token": "tökén", "hub.challenge": "1"}, "verify_token"),
        ({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, "hub.mode"),
        ({"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, "hub.mode"),
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}, "hub.challenge"),
    ],
    ids=["wrong-token", "longer-token", "no-token", "non-ascii-token", "wrong-mode", "no-mode", "no-challenge"],
)
def test_handshake_is_refused_without_subscribe_mode_and_the_right_token(params, names):
    with pytest.raises(SignatureError, match=names):
        driver().answer_handshake(params)


def test_signature_over_the_raw_body_with_the_app_secret_is_accepted():
    body = fixture("text")

    driver().verify(body, signed(body))


@pytest.mark.parametrize(
    "headers",
    [
        {"x-hub-signature-256": "sha256=" + "0" * 64},
        signed(fixture("text"), "another app's secret"),
        signed(fixture("text").replace(b"another color", b"another colour")),
        {"x-hub-signature-256": signed(fixture("text"))["x-hub-signature-256"].removeprefix("sha256=")},
        {"x-hub-signature-256": "sha256=ü"},
    ],
    ids=["zeros", "other-secret", "other-body", "no-prefix", "non-ascii"],
)
def test_wrong_signature_is_refused(headers):
    with pytest.raises(SignatureError, match="does not match"):
        driver().verify(fixture("text"), headers)


def test_missing_signature_is_refused():
    with pytest.raises(SignatureError, match="missing X-Hub-Signature-256"):
        driver().verify(fixture("text"), {"x-hub-signature": "sha1=abc"})


def test_a_channel_without_app_secret_refuses_every_request():
    unconfigured = WhatsAppDriver(DriverContext(channel_id=1, config={"phone_number_id": PHONE_NUMBER_ID}))
    body = fixture("text")

    with pytest.raises(SignatureError, match="app_secret"):
        unconfigured.verify(body, signed(body))


# --- inbound messages --------------------------------------------------------------------------------------


def test_text_message_is_parsed_with_name_phone_time_and_both_ids():
    assert parse_one("text") == InboundMessage(
        external_id="wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        sender_id=SHEENA,
        content_type=ContentType.text,
        content="Does it come in another color?",
        sender_name="Sheena Nelson",
        sender_phone="+16505551234",
        payload={"wa_id": SHEENA, "user_id": SHEENA_BSUID},
        sender_aliases=(SHEENA_BSUID,),
        sent_at=datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC),
    )


def test_customer_without_a_shared_phone_number_is_addressed_by_business_scoped_user_id():
    event = parse_one("bsuid_only")

    assert (event.sender_id, event.sender_phone, event.sender_name) == ("US.13491208655302741999", None, "Pablo")
    assert event.payload == {"user_id": "US.13491208655302741999", "username": "@pablo.m"}


def test_phone_number_from_the_contacts_array_wins_over_the_business_scoped_user_id():
    data = json.loads(fixture("text"))
    del data["entry"][0]["changes"][0]["value"]["messages"][0]["from"]

    [event] = driver().parse(json.dumps(data).encode(), {})

    assert event.sender_id == SHEENA and event.payload["user_id"] == SHEENA_BSUID


@pytest.mark.parametrize(
    ("name", "kind", "media_id", "mime_type", "caption", "file_name"),
    [
        ("image", ContentType.image, "1003383421387256", "image/jpeg", "This is the one I ordered", None),
        ("video", ContentType.video, "1200480154716493", "video/mp4", "", None),
        ("sticker", ContentType.sticker, "1031215802254425", "image/webp", "", None),
        ("document", ContentType.file, "2191924047837458", "application/pdf", "My invoice", "invoice-2025-06.pdf"),
        ("audio_voice", ContentType.audio, "1168325617968318", "audio/ogg; codecs=opus", "", None),
    ],
)
def test_media_stays_at_whatsapp_as_a_media_id_reference(name, kind, media_id, mime_type, caption, file_name):
    event = parse_one(name)

    assert event.content_type == kind and event.content == caption
    assert event.media == MediaRef(ref=media_id, mime_type=mime_type, file_name=file_name)
    assert (event.media_mime_type, event.file_name, event.media_url) == (mime_type, file_name, None)


def test_voice_note_is_flagged_in_the_payload():
    assert parse_one("audio_voice").payload["voice"] is True


def test_location_keeps_coordinates_name_and_address():
    event = parse_one("location")

    assert event.content_type == ContentType.location and event.content == "Philz Coffee"
    assert {k: event.payload[k] for k in ("latitude", "longitude", "name", "address")} == {
        "latitude": 37.44211676562361,
        "longitude": -122.16155960083124,
        "name": "Philz Coffee",
        "address": "101 Forest Ave, Palo Alto, CA 94301",
    }


def test_shared_contact_cards_are_the_payload_and_the_sender_stays_the_customer():
    event = parse_one("contacts")

    assert event.content_type == ContentType.contact and event.sender_id == SHEENA
    assert (event.payload["name"], event.payload["phones"], event.payload["emails"]) == (
        "Barbara J. Johnson",
        ["+1 (940) 555-1234"],
        ["bjohnson@example.com"],
    )
    assert [card["name"] for card in event.payload["cards"]] == ["Barbara J. Johnson", "Pablo Morales"]
    assert event.content == "Barbara J. Johnson, Pablo Morales"


def test_reaction_names_the_reacted_message():
    event = parse_one("reaction")

    assert event.content_type == ContentType.reaction
    assert (event.payload["emoji"], event.payload["message_id"]) == (
        "\U0001f44d",
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3NDQ1NjZGMTI0M0M2RDdDMEUA",
    )


def test_removed_reaction_has_an_empty_emoji():
    event = parse_one("reaction_removed")

    assert event.content_type == ContentType.reaction and event.payload["emoji"] == "" and event.content == ""


@pytest.mark.parametrize(
    ("name", "title", "reply_id", "kind"),
    [
        ("interactive_button_reply", "Cancel order", "cancel-order", "button_reply"),
        ("interactive_list_reply", "Express Shipping", "priority_express", "list_reply"),
        ("interactive_nfm_reply", "Sent", "flow", "nfm_reply"),
        ("button", "Stop promotions", "STOP_PROMOTIONS", "button"),
    ],
)
def test_button_and_list_replies_are_text_with_the_chosen_title(name, title, reply_id, kind):
    event = parse_one(name)

    assert (event.content_type, event.content) == (ContentType.text, title)
    assert (event.payload["reply_id"], event.payload["kind"]) == (reply_id, kind)
    assert event.payload["reply_to_id"] == raw_message(name)["context"]["id"]


def test_flow_response_is_kept_as_data():
    assert parse_one("interactive_nfm_reply").payload["response"] == {
        "flow_token": "appointment-7",
        "date": "2025-06-20",
    }


def test_reply_keeps_the_id_of_the_message_it_answers():
    event = parse_one("reply_context")

    assert event.content == "Yes, that one please"
    assert event.payload["reply_to_id"] == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJBQ0NFUFRFRDAwMQA="


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("unsupported", ""),
        ("unknown", ""),
        ("revoke", ""),
        ("order", "Two of these, please"),
        ("system", "User Sheena Nelson changed from 16505551234 to 16505559999"),
    ],
)
def test_kinds_chathub_cannot_show_are_kept_as_unsupported_with_the_raw_message(name, content):
    event = parse_one(name)

    assert (event.content_type, event.content) == (ContentType.unsupported, content)
    assert event.payload["raw"] == raw_message(name)
    assert event.external_id == raw_message(name)["id"]


def test_an_invented_message_kind_is_not_dropped():
    data = json.loads(fixture("text"))
    data["entry"][0]["changes"][0]["value"]["messages"][0].update(type="hologram", hologram={"id": "7"})

    [event] = driver().parse(json.dumps(data).encode(), {})

    assert event.content_type == ContentType.unsupported and event.payload["raw"]["hologram"] == {"id": "7"}


def test_edit_is_a_new_version_of_the_original_message():
    event = parse_one("edit")

    assert event.edited is True
    assert event.external_id == raw_message("text")["id"]
    assert (event.content_type, event.content) == (ContentType.text, "Does it come in another colour?")
    assert "reply_to_id" not in event.payload and event.payload["edit_id"] == "wamid.edit-1"


def test_redelivered_webhook_gives_the_same_ids():
    first, again = driver().parse(fixture("batch"), {}), driver().parse(fixture("batch"), {})

    assert (
        [e.external_id for e in first]
        == [e.external_id for e in again]
        == ["wamid.batch-1", "wamid.batch-2", "wamid.out-5"]
    )


def test_one_post_with_messages_and_statuses_gives_every_event_of_this_number_only():
    events = parse("batch")

    assert [(type(e).__name__, e.external_id) for e in events] == [
        ("InboundMessage", "wamid.batch-1"),
        ("InboundMessage", "wamid.batch-2"),
        ("StatusUpdate", "wamid.out-5"),
    ]
    assert [(e.sender_id, e.sender_name) for e in events[:2]] == [
        (SHEENA, "Sheena Nelson"),
        ("16505554321", "Pablo Morales"),
    ]


def test_a_post_for_another_phone_number_of_the_same_app_gives_no_events():
    assert driver(phone_number_id="999999999999998").parse(fixture("text"), {}) == []


def test_other_webhook_fields_give_no_events():
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}]}],
    }

    assert driver().parse(json.dumps(body).encode(), {}) == []


# --- receipts ----------------------------------------------------------------------------------------------


def test_sent_delivered_read_and_played_receipts_and_deleted_is_ignored():
    def at(second: int) -> datetime:
        return datetime(2025, 6, 18, 16, 22, second, tzinfo=UTC)

    assert parse("statuses") == [
        StatusUpdate("wamid.out-1", MessageStatus.sent, at=at(51)),
        StatusUpdate("wamid.out-1", MessageStatus.delivered, at=at(52)),
        StatusUpdate("wamid.out-1", MessageStatus.read, at=at(53)),
        StatusUpdate("wamid.voice-1", MessageStatus.read, at=at(55)),  # a voice note played has been heard
    ]


def test_failed_receipt_says_why_starting_with_the_code():
    expired, media = parse("status_failed")

    assert (expired.status, expired.error) == (
        MessageStatus.failed,
        "131047: More than 24 hours have passed since "
        "the customer last wrote; only a template message can reach them now",
    )
    assert media.error == "131053: Media upload error (Downloading media from weblink failed with http code 404.)"


# --- malformed requests ------------------------------------------------------------------------------------


def _text_with(**changes: Any) -> bytes:
    data = json.loads(fixture("text"))
    message = data["entry"][0]["changes"][0]["value"]["messages"][0]
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    return json.dumps(data).encode()


def _value_with(**changes: Any) -> bytes:
    data = json.loads(fixture("text"))
    data["entry"][0]["changes"][0]["value"].update(changes)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (json.dumps({"object": "page", "entry": []}).encode(), "whatsapp_business_account"),
        (json.dumps({"object": "whatsapp_business_account", "entry": {}}).encode(), "'entry'"),
        (
            json.dumps(
                {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {}}]}]}
            ).encode(),
            "metadata",
        ),
        (_value_with(messages={"id": "x"}), "'messages'"),
        (_value_with(statuses=[{"status": "read"}]), "'id'"),
        (_text_with(id=None), "'id'"),
        (_text_with(**{"from": None, "from_user_id": None}).replace(b'"contacts"', b'"nobody"'), "'from'"),
        (_text_with(text={"body": ""}), "'body'"),
        (_text_with(text="hi"), "'text'"),
        (_text_with(timestamp="yesterday"), "timestamp"),
        (_text_with(type="image", image={"mime_type": "image/jpeg"}), "'id'"),
        (_text_with(type="location", location={"latitude": "north", "longitude": 1}), "latitude"),
        (_text_with(type="reaction", reaction={"emoji": "x"}), "'message_id'"),
        (_text_with(type="contacts", contacts=[]), "card"),
        (_text_with(type="interactive", interactive={"type": "button_reply", "button_reply": {"id": "x"}}), "'title'"),
        (_text_with(type="edit", edit={"message": {"type": "text", "text": {"body": "x"}}}), "original_message_id"),
    ],
)
def test_malformed_request_is_refused_naming_the_problem(raw, names):
    with pytest.raises(InvalidPayload, match=names):
        driver().parse(raw, {})


# --- sending -----------------------------------------------------------------------------------------------


async def test_text_goes_as_plain_text_without_link_preview(fake, http):
    external_id = await driver(fake, http).send(text("Hi <b>Sheena</b>, *yes* it_does"))

    [request] = fake.requests_to("messages")
    assert request.path == f"/{PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": SHEENA,
        "type": "text",
        "text": {"body": "Hi <b>Sheena</b>, *yes* it_does", "preview_url": False},
    }
    assert external_id.startswith("wamid.")


async def test_a_business_scoped_user_id_goes_in_recipient_instead_of_to(fake, http):
    await driver(fake, http).send(text(recipient="US.13491208655302741999"))
    await driver(fake, http).send(text(recipient="US.ENT.11815799212886844830"))

    bodies = [r.json for r in fake.requests_to("messages")]
    assert [b.get("recipient") for b in bodies] == ["US.13491208655302741999", "US.ENT.11815799212886844830"]
    assert all("to" not in b for b in bodies)


async def test_attachment_is_uploaded_then_sent_by_media_id_with_the_caption(fake, http, tmp_path):
    photo = tmp_path / "stored-abc123"
    photo.write_bytes(b"\x89PNG fake image")
    message = OutboundMessage(
        recipient_id=SHEENA,
        content_type=ContentType.image,
        content="Here it is in blue",
        media=OutboundMedia(path=photo, mime_type="image/png", file_name="blue.png"),
    )

    await driver(fake, http).send(message)

    [upload] = fake.requests_to("upload")
    assert upload.path == f"/{PHONE_NUMBER_ID}/media" and upload.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    [(media_id, stored)] = fake.uploads.items()
    assert (stored.data, stored.type, stored.messaging_product, stored.file_name) == (
        b"\x89PNG fake image",
        "image/png",
        "whatsapp",
        "blue.png",
    )
    sent = fake.requests_to("messages")[0].json
    assert (sent["type"], sent["image"]) == ("image", {"id": media_id, "caption": "Here it is in blue"})


async def test_document_carries_its_file_name(fake, http, tmp_path):
    pdf = tmp_path / "stored-def456"
    pdf.write_bytes(b"%PDF-1.7")
    message = OutboundMessage(
        recipient_id=SHEENA,
        content_type=ContentType.file,
        content="Your invoice",
        media=OutboundMedia(path=pdf, mime_type="application/pdf", file_name="invoice.pdf"),
    )

    await driver(fake, http).send(message)

    document = fake.requests_to("messages")[0].json["document"]
    assert document == {"id": next(iter(fake.uploads)), "caption": "Your invoice", "filename": "invoice.pdf"}


async def test_web_url_is_sent_as_a_link(fake, http):
    message = OutboundMessage(
        recipient_id=SHEENA, content_type=ContentType.video, content="", media_url="https://cdn.example.com/demo.mp4"
    )

    await driver(fake, http).send(message)

    sent = fake.requests_to("messages")[0].json
    assert (sent["type"], sent["video"]) == ("video", {"link": "https://cdn.example.com/demo.mp4"})
    assert fake.requests_to("upload") == []


async def test_location_goes_as_a_location_message(fake, http):
    message = OutboundMessage(
        recipient_id=SHEENA,
        content_type=ContentType.location,
        content="",
        payload={"latitude": 52.52, "longitude": 13.405, "name": "Our shop", "address": "Unter den Linden 1, Berlin"},
    )

    await driver(fake, http).send(message)

    sent = fake.requests_to("messages")[0].json
    assert (sent["type"], sent["location"]) == (
        "location",
        {"latitude": 52.52, "longitude": 13.405, "name": "Our shop", "address": "Unter den Linden 1, Berlin"},
    )


@pytest.mark.parametrize(
    ("kind", "content", "names"),
    [
        (ContentType.audio, "listen", "caption on audio"),
        (ContentType.sticker, "ha", "caption on sticker"),
        (ContentType.image, "x" * 1025, "1025"),
        (ContentType.text, "x" * 4097, "4097"),
        (ContentType.contact, "Bob", "cannot send contact"),
    ],
)
async def test_what_whatsapp_cannot_carry_is_refused_before_any_call(fake, http, kind, content, names):
    message = OutboundMessage(
        recipient_id=SHEENA, content_type=kind, content=content, media_url="https://cdn.example.com/a"
    )

    assert names in (WhatsAppDriver.check_outbound(kind, content, media_url=message.media_url) or "")
    with pytest.raises(PermanentError, match=names):
        await driver(fake, http).send(message)
    assert fake.requests == []


def test_capabilities_list_what_whatsapp_can_send():
    caps = WhatsAppDriver.capabilities

    assert caps.content_types == {
        ContentType.text,
        ContentType.image,
        ContentType.file,
        ContentType.audio,
        ContentType.video,
        ContentType.sticker,
        ContentType.location,
    }
    assert (caps.max_text_length, caps.supports_typing, caps.supports_receipts) == (4096, True, True)
    assert WhatsAppDriver.check_outbound(ContentType.image, "x" * 1024, media_url="https://a.example/b") is None


async def test_missing_attachment_file_is_a_permanent_error(fake, http, tmp_path):
    message = OutboundMessage(
        recipient_id=SHEENA,
        content_type=ContentType.image,
        media=OutboundMedia(path=tmp_path / "gone", mime_type="image/png", file_name="a.png"),
    )

    with pytest.raises(PermanentError, match="could not be read"):
        await driver(fake, http).send(message)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("status", "body", "headers", "retry_after"),
    [
        (400, graph_error(130429, "Rate limit hit", details="Cloud API message throughput has been reached."), {}, 5),
        (400, graph_error(131056, "(Business Account, Consumer Account) pair rate limit hit"), {}, 60),
        (
            400,
            graph_error(80007, "Rate limit issues"),
            {
                "x-business-use-case-usage": json.dumps(
                    {
                        "102290129340398": [
                            {
                                "type": "whatsapp_business_management",
                                "call_count": 100,
                                "estimated_time_to_regain_access": 3,
                            }
                        ]
                    }
                )
            },
            180,
        ),
        (400, graph_error(4, "Application request limit reached"), {"retry-after": "30"}, 30),
        (500, graph_error(131000, "Something went wrong"), {}, None),
        (503, b"<html>Service Unavailable</html>", {"content-type": "text/html"}, None),
        (429, b"", {"retry-after": "7"}, 7),
    ],
    ids=["130429", "131056", "80007-usage-header", "4-retry-after", "131000", "503-html", "429"],
)
async def test_rate_limits_and_server_trouble_are_retryable_with_a_wait(fake, http, status, body, headers, retry_after):
    fake.script.queue("messages", status, body, headers=headers)

    with pytest.raises(RetryableError) as caught:
        await driver(fake, http).send(text())
    assert caught.value.retry_after == retry_after


async def test_more_than_24_hours_since_the_customer_wrote_is_permanent(fake, http):
    fake.script.queue(
        "messages",
        400,
        graph_error(
            131047,
            "Re-engagement message",
            details="Message failed to send because more than 24 hours have passed "
            "since the customer last replied to this number.",
        ),
    )

    with pytest.raises(PermanentError) as caught:
        await driver(fake, http).send(text())
    assert str(caught.value) == (
        "131047: More than 24 hours have passed since the customer last wrote; only a "
        "template message can reach them now"
    )
    assert caught.value.code == "131047" and not isinstance(caught.value, CredentialsError)


@pytest.mark.parametrize(
    ("code", "title", "details", "expected"),
    [
        (
            131026,
            "Message undeliverable",
            None,
            "131026: The message could not be delivered: the number may not be on WhatsApp",
        ),
        (131051, "Unsupported message type", None, "131051: WhatsApp does not support this kind of message"),
        (
            100,
            "Invalid parameter",
            "Param text['body'] must be at most 4096 characters long.",
            "100: Invalid parameter (Param text['body'] must be at most 4096 characters long.)",
        ),
        (
            131009,
            "Parameter value is not valid",
            "Value for the recipient is not a valid phone number.",
            "131009: Parameter value is not valid (Value for the recipient is not a valid phone number.)",
        ),
        (
            368,
            "Temporarily blocked for policies violations",
            None,
            "368: The WhatsApp Business Account is temporarily blocked for policy violations",
        ),
        (
            131062,
            "Business-scoped User ID recipients are not supported",
            None,
            "131062: This kind of message cannot be sent to a customer known only by their WhatsApp username",
        ),
    ],
)
async def test_refusals_are_permanent_with_a_plain_sentence_and_the_code(fake, http, code, title, details, expected):
    fake.script.queue("messages", 400, graph_error(code, title, details=details))

    with pytest.raises(PermanentError) as caught:
        await driver(fake, http).send(text())
    assert str(caught.value).startswith(expected) and caught.value.code == str(code)
    assert not isinstance(caught.value, CredentialsError)


async def test_expired_access_token_is_a_credentials_error(fake, http):
    with pytest.raises(CredentialsError) as caught:
        await driver(fake, http, access_token="EAAJB-revoked").send(text())

    assert caught.value.code == "190" and "access token is invalid or expired" in str(caught.value)
    assert fake.requests_to("messages")[0].headers["authorization"] == "Bearer EAAJB-revoked"


async def test_timeout_is_retryable(fake):
    fake.script.queue("messages", 200, {"messages": [{"id": "wamid.late"}]}, delay=1.0)

    async with httpx.AsyncClient(timeout=0.2) as impatient:
        with pytest.raises(RetryableError, match="in time"):
            await driver(fake, impatient).send(text())


async def test_unreachable_api_is_retryable(http):
    closed = FakeWhatsApp()  # never started: nothing listens on its port
    with pytest.raises(RetryableError, match="could not be reached"):
        await driver(closed, http).send(text())


async def test_failed_upload_sends_no_message(fake, http, tmp_path):
    (tmp_path / "f").write_bytes(b"data")
    fake.script.queue("upload", 400, graph_error(131053, "Media upload error", details="Unsupported file type."))
    message = OutboundMessage(
        recipient_id=SHEENA,
        content_type=ContentType.audio,
        media=OutboundMedia(path=tmp_path / "f", mime_type="audio/x-unknown", file_name="f"),
    )

    with pytest.raises(PermanentError, match="131053: Media upload error"):
        await driver(fake, http).send(message)
    assert fake.requests_to("messages") == []


# --- typing ------------------------------------------------------------------------------------------------


async def test_typing_marks_the_last_customer_message_read_with_a_typing_indicator(fake, http):
    await driver(fake, http).send_typing(SHEENA, last_inbound_id="wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQz")

    [request] = fake.requests_to("typing")
    assert request.json == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQz",
        "typing_indicator": {"type": "text"},
    }


async def test_typing_without_a_customer_message_calls_nothing(fake, http):
    await driver(fake, http).send_typing(SHEENA, last_inbound_id=None)

    assert fake.requests == []


# --- inbound media -----------------------------------------------------------------------------------------


async def test_media_is_fetched_through_its_url_with_the_bearer_token(fake, http):
    fake.add_media("1003383421387256", b"\xff\xd8 jpeg bytes", mime_type="image/jpeg")

    fetched = await driver(fake, http).fetch_media(MediaRef(ref="1003383421387256", file_name="photo.jpg"))

    assert (fetched.data, fetched.mime_type, fetched.file_name) == (b"\xff\xd8 jpeg bytes", "image/jpeg", "photo.jpg")
    [info] = fake.requests_to("media")
    assert info.path == "/1003383421387256" and info.query == {"phone_number_id": PHONE_NUMBER_ID}
    [download] = fake.requests_to("download")
    assert download.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"


async def test_media_larger_than_the_cap_by_its_declared_size_is_not_downloaded(fake, http):
    fake.add_media("1", b"x" * 10, mime_type="video/mp4", file_size=5000)

    with pytest.raises(PermanentError, match="1024 bytes"):
        await driver(fake, http).fetch_media(MediaRef(ref="1"))
    assert fake.requests_to("download") == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "streamed"])
async def test_media_larger_than_the_cap_is_refused_while_downloading(fake, http, chunked):
    fake.add_media("2", b"x" * 5000, mime_type="video/mp4", file_size=10, chunked=chunked)  # size understated

    with pytest.raises(PermanentError, match="1024 bytes"):
        await driver(fake, http).fetch_media(MediaRef(ref="2"))


async def test_streamed_media_up_to_the_cap_is_fetched_whole(fake, http):
    fake.add_media("6", bytes(range(256)) * 4, mime_type="application/pdf", chunked=True)

    fetched = await driver(fake, http).fetch_media(MediaRef(ref="6"))

    assert fetched.data == bytes(range(256)) * 4 and fetched.mime_type == "application/pdf"


async def test_unknown_or_expired_media_id_is_permanent(fake, http):
    with pytest.raises(PermanentError, match="no longer at WhatsApp"):
        await driver(fake, http).fetch_media(MediaRef(ref="404404404"))


async def test_expired_download_url_is_permanent(fake, http):
    fake.add_media("3", b"data", mime_type="image/png")
    fake.script.queue("download", 404, b"Not Found")

    with pytest.raises(PermanentError, match="expired"):
        await driver(fake, http).fetch_media(MediaRef(ref="3"))


@pytest.mark.parametrize("route", ["media", "download"])
async def test_server_errors_while_fetching_media_are_retryable(fake, http, route):
    fake.add_media("4", b"data", mime_type="image/png")
    fake.script.queue(route, 502, b"Bad Gateway")

    with pytest.raises(RetryableError):
        await driver(fake, http).fetch_media(MediaRef(ref="4"))


async def test_fetching_media_with_a_revoked_token_is_a_credentials_error(fake, http):
    fake.add_media("5", b"data", mime_type="image/png")

    with pytest.raises(CredentialsError):
        await driver(fake, http, access_token="EAAJB-revoked").fetch_media(MediaRef(ref="5"))


# --- webhook registration and health -----------------------------------------------------------------------


async def test_webhook_is_set_by_hand_so_registration_calls_nothing(fake, http):
    assert await driver(fake, http).register_webhook() is None
    assert fake.requests == []


async def test_health_names_the_number(fake, http):
    health = await driver(fake, http).check_health()

    assert health.ok is True
    assert health.summary == "Connected to WhatsApp number +1 555-078-3881 (ChatHub Support), quality rating GREEN"
    [request] = fake.requests_to("phone_number")
    assert request.query == {"fields": "display_phone_number,verified_name,quality_rating"}


async def test_health_with_an_expired_token_flags_the_credentials(fake, http):
    health = await driver(fake, http, access_token="EAAJB-revoked").check_health()

    assert (health.ok, health.summary) == (False, "The access token is invalid or expired")
    assert health.details == {"credentials_rejected": True, "code": "190"}


async def test_health_with_an_unknown_phone_number_id_says_so(fake, http):
    health = await driver(fake, http, phone_number_id="123").check_health()

    assert health.ok is False and "123" in health.summary and "does not exist" in health.summary


async def test_health_when_whatsapp_is_down_is_not_ok(fake, http):
    fake.script.queue("phone_number", 503, b"")

    health = await driver(fake, http).check_health()

    assert health.ok is False and "could not be checked" in health.summary


# --- config ------------------------------------------------------------------------------------------------


def test_config_is_stripped_and_keeps_a_given_verify_token():
    config = WhatsAppDriver.validate_config(
        {
            "phone_number_id": f" {PHONE_NUMBER_ID} ",
            "access_token": f"Bearer {ACCESS_TOKEN}\n",
            "app_secret": " s ",
            "verify_token": " mine ",
            "waba_id": 102290129340398,
        }
    )

    assert config == {
        "phone_number_id": PHONE_NUMBER_ID,
        "access_token": ACCESS_TOKEN,
        "app_secret": "s",
        "verify_token": "mine",
        "waba_id": "102290129340398",
    }


def test_empty_verify_token_is_replaced_by_a_random_one():
    first = WhatsAppDriver.validate_config({**CONFIG, "verify_token": ""})["verify_token"]
    second = WhatsAppDriver.validate_config({**CONFIG, "verify_token": "  "})["verify_token"]

    assert len(first) >= 24 and first != second


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({**CONFIG, "phone_number_id": ""}, "phone_number_id is missing"),
        ({k: v for k, v in CONFIG.items() if k != "access_token"}, "access_token is missing"),
        ({**CONFIG, "app_secret": "  "}, "app_secret is missing"),
        ({**CONFIG, "phone_number_id": "+1 555 078 3881"}, "phone_number_id must be"),
        ({**CONFIG, "waba_id": "acme"}, "waba_id must be"),
        ({**CONFIG, "access_token": ["a"]}, "access_token must be text"),
        ({}, "phone_number_id is missing"),
        ({**CONFIG, "app_secrte": "s"}, "no setting 'app_secrte' \\(did you mean 'app_secret'\\?\\)"),
    ],
)
def test_config_refuses_missing_or_invalid_values_naming_the_key(config, names):
    with pytest.raises(ValueError, match=names):
        WhatsAppDriver.validate_config(config)
