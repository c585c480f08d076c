"""The simulator driver on its own: bytes in, normalized events out; a message in, the outbox out."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from chathub import process_state
from chathub.drivers import make_driver
from chathub.drivers.base import (
    DriverContext,
    InboundMessage,
    InvalidPayload,
    OutboundMessage,
    RetryableError,
    SignatureError,
    StatusUpdate,
)
from chathub.drivers.simulator import SimulatorDriver, outbox, sign
from chathub.models import ChannelType, ContentType, MessageStatus
from chathub.settings import Settings

SECRET = "s3cret"


@pytest.fixture(autouse=True)
def running():
    """Receipts on their way belong to a run: these tests are one, without the rest of the app."""
    process_state.begin(Settings())
    yield
    process_state.end()


def driver(secret: str | None = None, post_webhook=None, **config) -> SimulatorDriver:
    context = DriverContext(
        channel_id=1, config=SimulatorDriver.validate_config(config), webhook_secret=secret, post_webhook=post_webhook
    )
    built = make_driver(ChannelType.simulator, context)
    assert isinstance(built, SimulatorDriver)
    return built


def body(**fields) -> bytes:
    return json.dumps({"from": "+1234567890", "message_id": "m1", **fields}).encode()


def parse_one(**fields):
    events = driver().parse(body(**fields), {})
    assert len(events) == 1
    return events[0]


# --- inbound formats ---------------------------------------------------------------------------------------


def test_seed_text_message_is_parsed_with_sender_phone_and_time():
    event = parse_one(message="Hello, I need support!", type="text", timestamp="2024-02-14T10:00:00Z")

    assert event == InboundMessage(
        external_id="m1",
        sender_id="+1234567890",
        content_type=ContentType.text,
        content="Hello, I need support!",
        sender_phone="+1234567890",
        sent_at=datetime(2024, 2, 14, 10, 0, tzinfo=UTC),
    )


def test_message_without_type_is_text_and_keeps_the_sender_name():
    event = parse_one(message="hi", name="Ann")

    assert event.content_type == ContentType.text
    assert event.sender_name == "Ann"


def test_sender_that_is_not_a_phone_number_has_no_phone():
    event = parse_one(**{"from": "tester-7", "message": "hi"})

    assert event.sender_id == "tester-7" and event.sender_phone is None


def test_numeric_sender_and_message_id_are_taken_as_text():
    event = driver().parse(json.dumps({"from": 1234567890, "message_id": 42, "message": "hi"}).encode(), {})[0]

    assert (event.sender_id, event.external_id) == ("1234567890", "42")


def test_epoch_timestamp_and_naive_time_are_utc():
    assert parse_one(message="a", timestamp=0).sent_at == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_one(message="a", timestamp="2024-02-14T10:00:00").sent_at.tzinfo == UTC


def test_image_url_is_left_for_chathub_to_fetch_and_kept_as_text():
    event = parse_one(
        type="image", media_url="https://example.com/a.png", message="look", file_name="a.png", mime_type="image/png"
    )

    assert event.content_type == ContentType.image
    assert (event.media_url, event.content, event.file_name, event.media_mime_type) == (
        None,
        "look",
        "a.png",
        "image/png",
    )
    assert event.media.ref == "https://example.com/a.png"
    assert event.payload == {"source_url": "https://example.com/a.png"}


@pytest.mark.parametrize("kind", ["audio", "video", "file", "sticker"])
def test_every_media_type_needs_only_a_url(kind):
    event = parse_one(type=kind, media_url="https://example.com/x")

    assert event.content_type == ContentType(kind) and event.content == ""


def test_location_keeps_coordinates_in_the_payload():
    event = parse_one(type="location", latitude="52.52", longitude=13.405, message="here")

    assert event.content_type == ContentType.location
    assert event.payload == {"latitude": 52.52, "longitude": 13.405}
    assert event.content == "here"


def test_contact_keeps_name_and_phone():
    event = parse_one(type="contact", contact={"name": "Bob", "phone": "+4915112345678"})

    assert event.content_type == ContentType.contact
    assert event.content == "Bob"
    assert event.payload == {"name": "Bob", "phone": "+4915112345678"}


def test_unknown_type_is_unsupported_with_the_raw_payload():
    raw = {"from": "+1234567890", "message_id": "m9", "type": "poll", "question": "tea?", "options": [1, 2]}
    event = driver().parse(json.dumps(raw).encode(), {})[0]

    assert event.content_type == ContentType.unsupported
    assert event.payload == raw


@pytest.mark.parametrize("status", ["sent", "delivered", "read", "failed"])
def test_status_receipt_becomes_a_status_update(status):
    raw = {"type": "status", "message_id": "sim-1", "status": status, "timestamp": "2024-02-14T10:00:05Z"}
    events = driver().parse(json.dumps(raw).encode(), {})

    assert events == [
        StatusUpdate(external_id="sim-1", status=MessageStatus(status), at=datetime(2024, 2, 14, 10, 0, 5, tzinfo=UTC))
    ]


def test_failed_receipt_keeps_the_error():
    raw = {"type": "status", "message_id": "sim-1", "status": "failed", "error": "blocked by user"}

    assert driver().parse(json.dumps(raw).encode(), {})[0].error == "blocked by user"


# --- malformed requests ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"message_id": "m1", "message": "hi"}).encode(), "'from'"),
        (json.dumps({"from": "  ", "message_id": "m1", "message": "hi"}).encode(), "'from'"),
        (json.dumps({"from": "+1", "message": "hi"}).encode(), "'message_id'"),
        (json.dumps({"from": "+1", "message_id": "m1", "type": "text"}).encode(), "'message'"),
        (json.dumps({"from": "+1", "message_id": "m1", "message": ""}).encode(), "'message'"),
        (json.dumps({"from": "+1", "message_id": "m1", "type": "image"}).encode(), "'media_url'"),
        (json.dumps({"from": "+1", "message_id": "m1", "type": "location", "latitude": 1}).encode(), "longitude"),
        (
            json.dumps(
                {"from": "+1", "message_id": "m1", "type": "location", "latitude": "x", "longitude": 1}
            ).encode(),
            "latitude",
        ),
        (
            json.dumps({"from": "+1", "message_id": "m1", "type": "location", "latitude": 91, "longitude": 0}).encode(),
            "out of range",
        ),
        (
            json.dumps({"from": "+1", "message_id": "m1", "type": "contact", "contact": {"phone": "1"}}).encode(),
            "'contact'",
        ),
        (json.dumps({"from": "+1", "message_id": "m1", "type": "contact", "contact": "Bob"}).encode(), "'contact'"),
        (
            json.dumps({"from": "+1", "message_id": "m1", "message": "hi", "timestamp": "yesterday"}).encode(),
            "timestamp",
        ),
        (json.dumps({"type": "status", "message_id": "sim-1", "status": "lost"}).encode(), "status must be"),
        (json.dumps({"type": "status", "status": "read"}).encode(), "'message_id'"),
    ],
)
def test_malformed_request_is_refused_naming_the_field(raw, names):
    with pytest.raises(InvalidPayload, match=names):
        driver().parse(raw, {})


# --- signatures --------------------------------------------------------------------------------------------


def test_correct_signature_is_accepted():
    raw = body(message="hi")

    driver(SECRET).verify(raw, {"x-chathub-signature": sign(SECRET, raw)})


def test_signature_is_hex_hmac_sha256_of_the_raw_body():
    raw = body(message="hi")
    assert sign(SECRET, raw) == "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    "headers",
    [
        {"x-chathub-signature": "sha256=" + "0" * 64},
        {"x-chathub-signature": sign("another secret", body(message="hi"))},
        {"x-chathub-signature": sign(SECRET, body(message="hi", extra="changed"))},
    ],
    ids=["wrong", "other-secret", "other-body"],
)
def test_wrong_signature_is_refused(headers):
    with pytest.raises(SignatureError, match="does not match"):
        driver(SECRET).verify(body(message="hi"), headers)


def test_missing_signature_is_refused_when_a_secret_is_set():
    with pytest.raises(SignatureError, match="missing"):
        driver(SECRET).verify(body(message="hi"), {})


def test_unsigned_request_is_accepted_without_a_secret():
    driver().verify(body(message="hi"), {})
    driver().verify(body(message="hi"), {"x-chathub-signature": "sha256=whatever"})


# --- outbound checks and config ----------------------------------------------------------------------------


def test_check_outbound_accepts_text_and_every_media_type():
    assert SimulatorDriver.check_outbound(ContentType.text, "hello") is None
    for kind in (ContentType.image, ContentType.audio, ContentType.video, ContentType.file, ContentType.sticker):
        assert SimulatorDriver.check_outbound(kind, "", media_url="https://example.com/a") is None
    assert SimulatorDriver.check_outbound(ContentType.location, "", payload={"latitude": 1, "longitude": 2}) is None
    assert SimulatorDriver.check_outbound(ContentType.text, "x" * 4096) is None


def test_check_outbound_refuses_media_without_a_web_address():
    assert SimulatorDriver.check_outbound(ContentType.image, "") == "an image message needs an http(s) media_url"
    assert (
        SimulatorDriver.check_outbound(ContentType.file, "", media_url="file:///etc/passwd")
        == "a file message needs an http(s) media_url"
    )


@pytest.mark.parametrize("text", ["", "   \n"])
def test_check_outbound_refuses_an_empty_text(text):
    assert SimulatorDriver.check_outbound(ContentType.text, text) == "the message is empty"


def test_check_outbound_refuses_a_text_over_the_limit():
    reason = SimulatorDriver.check_outbound(ContentType.text, "x" * 4097)

    assert reason is not None and "4097" in reason and "4096" in reason


def test_check_outbound_refuses_an_unsupported_type():
    reason = SimulatorDriver.check_outbound(ContentType.unsupported, "x")

    assert reason == "simulator channels cannot send unsupported messages"


def test_validate_config_fills_defaults():
    assert SimulatorDriver.validate_config({}) == {
        "failure_rate": 0.0,
        "latency_ms": 0,
        "auto_receipts": True,
        "delivered_after_ms": 300,
        "read_after_ms": 1500,
    }
    assert SimulatorDriver.validate_config({"failure_rate": 1, "latency_ms": 60_000})["failure_rate"] == 1


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({"failure_rate": 1.5}, "failure_rate"),
        ({"failure_rate": -0.1}, "failure_rate"),
        ({"failure_rate": "half"}, "failure_rate"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": 60_001}, "latency_ms"),
        ({"delivered_after_ms": 1.5}, "delivered_after_ms"),
        ({"read_after_ms": "soon"}, "read_after_ms"),
        ({"auto_receipts": "yes"}, "auto_receipts"),
        ({"failure_rate": True}, "failure_rate"),
        ({"latency_ms": False}, "latency_ms"),
        ({"secret": "s3cret"}, "no setting 'secret'.*webhook_secret"),
        ({"latency": 10}, "no setting 'latency' \\(did you mean 'latency_ms'\\?\\)"),
    ],
)
def test_validate_config_refuses_bad_values_naming_the_key(config, names):
    with pytest.raises(ValueError, match=names):
        SimulatorDriver.validate_config(config)


# --- sending -----------------------------------------------------------------------------------------------


async def test_send_puts_the_message_in_the_outbox_and_returns_its_id():
    sim = driver(auto_receipts=False)
    message = OutboundMessage(recipient_id="send-test-1", content_type=ContentType.text, content="Hi Ann")

    external_id = await sim.send(message)

    [entry] = [e for e in outbox.for_recipient(1, "send-test-1") if e.external_id == external_id]
    assert external_id.startswith("sim-")
    assert (entry.content_type, entry.content) == (ContentType.text, "Hi Ann")


async def test_send_tells_outbox_listeners():
    heard = []
    outbox.listeners.append(heard.append)
    try:
        external_id = await driver(auto_receipts=False).send(
            OutboundMessage(recipient_id="send-test-2", content_type=ContentType.text, content="x")
        )
    finally:
        outbox.listeners.remove(heard.append)

    assert [e.external_id for e in heard] == [external_id]


async def test_send_at_failure_rate_one_raises_retryable_and_delivers_nothing():
    sim = driver(failure_rate=1.0, auto_receipts=False)

    with pytest.raises(RetryableError):
        await sim.send(OutboundMessage(recipient_id="send-test-3", content_type=ContentType.text, content="x"))
    assert outbox.for_recipient(1, "send-test-3") == []


async def test_send_posts_signed_delivered_then_read_receipts_to_the_intake():
    posted = []

    async def post_webhook(raw: bytes, headers: dict[str, str]) -> None:
        posted.append((json.loads(raw), headers, raw))

    sim = driver(SECRET, post_webhook, delivered_after_ms=0, read_after_ms=0)
    external_id = await sim.send(
        OutboundMessage(recipient_id="send-test-4", content_type=ContentType.text, content="x")
    )
    for _ in range(100):
        if len(posted) == 2:
            break
        await asyncio.sleep(0.01)

    assert [(p["type"], p["message_id"], p["status"]) for p, _, _ in posted] == [
        ("status", external_id, "delivered"),
        ("status", external_id, "read"),
    ]
    for _, headers, raw in posted:
        sim.verify(raw, headers)  # what the driver posts, its own intake accepts
        assert isinstance(sim.parse(raw, headers)[0], StatusUpdate)
