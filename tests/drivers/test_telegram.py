"""The Telegram driver against Bot API payloads and a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from chathub.drivers import make_driver
from chathub.drivers.base import (
    ChannelDriver,
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
)
from chathub.drivers.telegram import TelegramDriver
from chathub.models import ChannelType, ContentType
from tests.fakes.server import Script
from tests.fakes.telegram import TOKEN, FakeTelegram, failure, too_many_requests

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
SECRET = "hub_secret-123"
WEBHOOK_URL = "https://chathub.example.com/webhooks/telegram/1"
ANN = "987654321"
CONFIG = {"bot_token": TOKEN, "secret_token": SECRET}


@pytest.fixture(scope="module")
def server():
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeTelegram) -> FakeTelegram:
    server.requests.clear()
    server.calls.clear()
    server.files.clear()
    server.blocked_chats.clear()
    server.script = Script()
    server.webhook = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
    return server


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=2.0) as client:
        yield client


@pytest.fixture
def telegram(fake: FakeTelegram, http: httpx.AsyncClient) -> TelegramDriver:
    return make_telegram(fake, http)


def make_telegram(
    fake: FakeTelegram | None = None,
    http: httpx.AsyncClient | None = None,
    *,
    base_url: str | None = None,
    webhook_url: str | None = WEBHOOK_URL,
    max_media_bytes: int = 1_000_000,
    **config,
) -> TelegramDriver:
    context = DriverContext(
        channel_id=1,
        config=TelegramDriver.validate_config({**CONFIG, **config}),
        api_base_url=base_url or (fake.base_url if fake else None),
        http=http,
        webhook_url=webhook_url,
        max_media_bytes=max_media_bytes,
    )
    driver = make_driver(ChannelType.telegram, context)
    assert isinstance(driver, TelegramDriver)
    return driver


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def parse_one(name: str) -> InboundMessage:
    events = make_telegram().parse(fixture(name), {})
    assert len(events) == 1 and isinstance(events[0], InboundMessage)
    return events[0]


def text_to(recipient: str = ANN, content: str = "Hi Ann") -> OutboundMessage:
    return OutboundMessage(recipient_id=recipient, content_type=ContentType.text, content=content)


# --- verification ------------------------------------------------------------------------------------------


def test_request_with_the_channels_secret_token_is_accepted():
    make_telegram().verify(fixture("text"), {"x-telegram-bot-api-secret-token": SECRET})


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"x-telegram-bot-api-secret-token": ""}, "does not match"),
        ({"x-telegram-bot-api-secret-token": "someone-elses-secret"}, "does not match"),
        ({"x-telegram-bot-api-secret-token": SECRET + "x"}, "does not match"),
    ],
    ids=["missing", "empty", "wrong", "longer"],
)
def test_request_without_the_right_secret_token_is_refused(headers, reason):
    with pytest.raises(SignatureError, match=reason):
        make_telegram().verify(fixture("text"), headers)


def test_channel_without_a_secret_token_refuses_every_request():
    driver = TelegramDriver(DriverContext(channel_id=1, config={"bot_token": TOKEN}))

    with pytest.raises(SignatureError, match="no secret_token"):
        driver.verify(fixture("text"), {"x-telegram-bot-api-secret-token": ""})


# --- inbound kinds -----------------------------------------------------------------------------------------


def test_text_message_is_parsed_with_chat_ids_name_and_time():
    assert parse_one("text") == InboundMessage(
        external_id=f"{ANN}:42",
        sender_id=ANN,
        content_type=ContentType.text,
        content="Hello, I need support!",
        sender_name="Ann Lee",
        sent_at=datetime(2024, 2, 14, 10, 0, tzinfo=UTC),
        payload={"update_id": 10000001},
    )


def test_redelivered_update_gives_the_same_ids():
    driver = make_telegram()

    first, again = driver.parse(fixture("text"), {}), driver.parse(fixture("text"), {})

    assert first == again and first[0].external_id == f"{ANN}:42"


def test_edited_message_is_a_new_version_of_the_same_message():
    original, edit = parse_one("text"), parse_one("edited_text")

    assert edit.external_id == original.external_id and edit.edited and not original.edited
    assert edit.content == "Hello, I need support with my order!"
    assert edit.sent_at == original.sent_at
    assert edit.payload == {"update_id": 10000002, "edited_at": "2024-02-14T10:01:00+00:00"}


def test_reply_names_the_message_it_answers():
    assert parse_one("reply").payload == {"update_id": 10000003, "reply_to": f"{ANN}:44"}


def test_group_message_goes_to_the_group_chat_with_the_authors_name():
    event = parse_one("group_text")

    assert (event.sender_id, event.external_id, event.sender_name) == ("-1001234567890", "-1001234567890:7", "Carl")


def test_sender_without_a_name_is_named_by_username():
    assert parse_one("username_only").sender_name == "nobody_special"


def test_album_photo_keeps_the_largest_size_caption_and_media_group():
    event = parse_one("photo_album")

    assert event.content_type == ContentType.image and event.content == "The box arrived broken"
    assert event.media == MediaRef(ref="AgACAgIAAxkBAAIBlarge", mime_type="image/jpeg", size=98123)
    assert event.payload["media_group_id"] == "13612345678901234"
    assert event.media_url is None


def test_photo_sizes_without_file_size_are_compared_by_area():
    assert parse_one("photo_without_sizes").media.ref == "AgAD-full"


def test_photo_size_with_the_most_bytes_wins_over_a_larger_area():
    photo = [
        {"file_id": "wide", "file_unique_id": "w", "file_size": 900, "width": 2000, "height": 100},
        {"file_id": "heavy", "file_unique_id": "h", "file_size": 5000, "width": 800, "height": 200},
    ]
    [event] = make_telegram().parse(_update({**GOOD, "photo": photo}), {})

    assert event.media.ref == "heavy" and event.media.size == 5000


def test_document_is_a_file_with_name_and_mime_type():
    event = parse_one("document")

    assert (event.content_type, event.content) == (ContentType.file, "My invoice")
    assert event.media == MediaRef(
        ref="BQACAgIAAxkBAAIBdoc", mime_type="application/pdf", file_name="invoice-1234.pdf", size=48213
    )
    assert (event.file_name, event.media_mime_type) == ("invoice-1234.pdf", "application/pdf")


@pytest.mark.parametrize(
    ("name", "content_type", "ref", "mime"),
    [
        ("voice", ContentType.audio, "AwACAgIAAxkBAAIBvoice", "audio/ogg"),
        ("audio", ContentType.audio, "CQACAgIAAxkBAAIBaudio", "audio/mpeg"),
        ("video", ContentType.video, "BAACAgIAAxkBAAIBvideo", "video/mp4"),
        ("video_note", ContentType.video, "DQACAgIAAxkBAAIBnote", "video/mp4"),
        ("animation", ContentType.video, "CgACAgIAAxkBAAIBanim", "video/mp4"),
        ("sticker", ContentType.sticker, "CAACAgIAAxkBAAIBsticker", "application/x-tgsticker"),
    ],
)
def test_every_media_kind_keeps_a_reference_to_fetch(name, content_type, ref, mime):
    event = parse_one(name)

    assert (event.content_type, event.media.ref, event.media.mime_type) == (content_type, ref, mime)


def test_video_caption_and_sticker_emoji():
    assert parse_one("video").content == "See the noise"
    sticker = parse_one("sticker")
    assert sticker.content == "" and sticker.payload["emoji"] == "\U0001f44d"


def test_location_keeps_coordinates():
    event = parse_one("location")

    assert event.content_type == ContentType.location
    assert event.payload == {"update_id": 10000013, "latitude": 52.520008, "longitude": 13.404954}


def test_venue_is_a_location_with_name_and_address():
    event = parse_one("venue")

    assert event.content_type == ContentType.location
    assert event.payload == {
        "update_id": 10000014,
        "latitude": 52.516275,
        "longitude": 13.377704,
        "name": "Brandenburg Gate",
        "address": "Pariser Platz, 10117 Berlin",
    }


def test_shared_contact_is_the_card_not_the_sender():
    event = parse_one("contact")

    assert event.content_type == ContentType.contact and event.content == "Bob Stone"
    assert event.payload == {
        "update_id": 10000015,
        "name": "Bob Stone",
        "phones": ["+4915112345678"],
        "emails": ["bob@example.com"],
        "user_id": 11223344,
    }
    assert (event.sender_id, event.sender_name, event.sender_phone) == (ANN, "Ann Lee", None)


def test_customers_own_contact_card_gives_their_phone_number():
    assert parse_one("own_contact").sender_phone == "+4917611122233"


def test_unknown_kind_is_kept_as_unsupported_with_the_raw_message():
    event = parse_one("poll")
    raw = json.loads(fixture("poll"))["message"]

    assert event.content_type == ContentType.unsupported
    assert event.payload == {"update_id": 10000017, "raw": raw}


def test_update_without_a_message_stores_nothing_and_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="chathub.drivers.telegram"):
        assert make_telegram().parse(fixture("my_chat_member"), {}) == []

    assert "10000019" in caplog.text and "my_chat_member" in caplog.text


def _update(message) -> bytes:
    return json.dumps({"update_id": 1, "message": message}).encode()


GOOD = {"message_id": 1, "chat": {"id": 5, "type": "private"}, "date": 1707904800}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "update_id"),
        (json.dumps({"message": GOOD}).encode(), "update_id"),
        (json.dumps({"update_id": "1", "message": GOOD}).encode(), "update_id"),
        (_update("hello"), "must be an object"),
        (_update({**GOOD, "chat": None}), "chat"),
        (_update({**GOOD, "chat": {"id": "5"}}), "chat"),
        (_update({**GOOD, "message_id": None}), "message_id"),
        (_update({**GOOD, "date": "today"}), "date"),
        (_update({**GOOD, "photo": []}), "PhotoSize"),
        (_update({**GOOD, "document": {"file_name": "a.pdf"}}), "file_id"),
        (_update({**GOOD, "location": {"latitude": "north"}}), "latitude"),
    ],
)
def test_malformed_update_is_refused(raw, reason):
    with pytest.raises(InvalidPayload, match=reason):
        make_telegram().parse(raw, {})


# --- sending -----------------------------------------------------------------------------------------------


async def test_text_goes_as_plain_text_and_returns_the_chat_and_message_id(fake, telegram):
    external_id = await telegram.send(text_to(content="<b>50% off</b> _now_ *really*"))

    [call] = fake.calls_to("sendMessage")
    assert call.params == {"chat_id": ANN, "text": "<b>50% off</b> _now_ *really*"}  # no parse_mode
    assert re.fullmatch(rf"{ANN}:\d+", external_id)
    assert external_id == f"{ANN}:{fake._next_message_id}"


@pytest.mark.parametrize(
    ("content_type", "mime", "method", "field"),
    [
        (ContentType.image, "image/png", "sendPhoto", "photo"),
        (ContentType.image, "image/gif", "sendAnimation", "animation"),
        (ContentType.file, "application/pdf", "sendDocument", "document"),
        (ContentType.audio, "audio/mpeg", "sendAudio", "audio"),
        (ContentType.audio, "audio/ogg", "sendVoice", "voice"),
        (ContentType.video, "video/mp4", "sendVideo", "video"),
    ],
)
async def test_attachment_is_uploaded_with_the_text_as_caption(
    fake, telegram, tmp_path, content_type, mime, method, field
):
    path = tmp_path / "upload.bin"
    path.write_bytes(b"\x89PNG fake bytes")
    media = OutboundMedia(path=path, mime_type=mime, file_name="upload.bin")

    external_id = await telegram.send(
        OutboundMessage(recipient_id=ANN, content_type=content_type, content="Your receipt", media=media)
    )

    [call] = fake.calls_to(method)
    assert call.params == {"chat_id": ANN, "caption": "Your receipt"}
    upload = call.files[field]
    assert (upload.data, upload.file_name, upload.content_type) == (b"\x89PNG fake bytes", "upload.bin", mime)
    assert external_id.startswith(f"{ANN}:")


async def test_sticker_is_uploaded_without_a_caption(fake, telegram, tmp_path):
    path = tmp_path / "s.webp"
    path.write_bytes(b"RIFF webp")

    await telegram.send(
        OutboundMessage(
            recipient_id=ANN,
            content_type=ContentType.sticker,
            media=OutboundMedia(path=path, mime_type="image/webp", file_name="s.webp"),
        )
    )

    [call] = fake.calls_to("sendSticker")
    assert call.params == {"chat_id": ANN} and call.files["sticker"].data == b"RIFF webp"


async def test_media_url_is_handed_to_telegram_to_fetch(fake, telegram):
    await telegram.send(
        OutboundMessage(
            recipient_id=ANN, content_type=ContentType.image, content="look", media_url="https://example.com/shoe.jpg"
        )
    )

    [call] = fake.calls_to("sendPhoto")
    assert call.params == {"chat_id": ANN, "photo": "https://example.com/shoe.jpg", "caption": "look"}
    assert call.files == {}


async def test_unreadable_attachment_is_a_permanent_failure(fake, telegram, tmp_path):
    media = OutboundMedia(path=tmp_path / "gone.png", mime_type="image/png", file_name="gone.png")

    with pytest.raises(PermanentError, match="could not be read"):
        await telegram.send(OutboundMessage(recipient_id=ANN, content_type=ContentType.image, media=media))
    assert fake.calls == []


async def test_location_goes_by_send_location(fake, telegram):
    external_id = await telegram.send(
        OutboundMessage(
            recipient_id=ANN, content_type=ContentType.location, payload={"latitude": 52.52, "longitude": "13.405"}
        )
    )

    assert fake.calls_to("sendLocation")[0].params == {"chat_id": ANN, "latitude": 52.52, "longitude": 13.405}
    assert external_id.startswith(f"{ANN}:")


async def test_location_with_name_and_address_goes_as_a_venue(fake, telegram):
    await telegram.send(
        OutboundMessage(
            recipient_id=ANN,
            content_type=ContentType.location,
            payload={"latitude": 52.5163, "longitude": 13.3777, "name": "Our shop", "address": "Pariser Platz 1"},
        )
    )

    assert fake.calls_to("sendVenue")[0].params == {
        "chat_id": ANN,
        "latitude": 52.5163,
        "longitude": 13.3777,
        "title": "Our shop",
        "address": "Pariser Platz 1",
    }


# --- send errors -------------------------------------------------------------------------------------------


async def test_rate_limit_is_retryable_with_telegrams_wait(fake, telegram):
    fake.script.queue("sendMessage", 429, too_many_requests(7))

    with pytest.raises(RetryableError, match="429") as caught:
        await telegram.send(text_to())
    assert caught.value.retry_after == 7


async def test_server_error_is_retryable(fake, telegram):
    fake.script.queue("sendMessage", 502, b"<html>Bad Gateway</html>")

    with pytest.raises(RetryableError, match="502"):
        await telegram.send(text_to())


async def test_timeout_is_retryable(fake):
    async with httpx.AsyncClient(timeout=0.2) as quick:
        fake.script.queue("sendMessage", 200, {"ok": True, "result": {"message_id": 1}}, delay=1.0)
        with pytest.raises(RetryableError, match="in time"):
            await make_telegram(fake, quick).send(text_to())


async def test_unreachable_telegram_is_retryable_and_the_error_hides_the_token(http):
    closed = FakeTelegram()  # never started: nothing listens on its port
    driver = make_telegram(http=http, base_url=closed.base_url)

    with pytest.raises(RetryableError) as caught:
        await driver.send(text_to())
    assert TOKEN not in str(caught.value)


async def test_blocked_bot_is_a_permanent_failure_in_plain_words(fake, telegram):
    fake.blocked_chats.add(ANN)

    with pytest.raises(PermanentError) as caught:
        await telegram.send(text_to())
    assert str(caught.value) == "The customer blocked the bot; Telegram will not deliver messages to them"
    assert caught.value.code == "403" and not isinstance(caught.value, CredentialsError)


@pytest.mark.parametrize(
    ("status", "description", "words"),
    [
        (403, "Forbidden: user is deactivated", "account was deleted"),
        (403, "Forbidden: bot can't initiate conversation with a user", "never started a chat"),
        (400, "Bad Request: chat not found", "does not know this chat"),
        (400, "Bad Request: wrong file identifier/HTTP URL specified", "could not fetch the media"),
        (400, "Bad Request: PHOTO_INVALID_DIMENSIONS", "400: Bad Request: PHOTO_INVALID_DIMENSIONS"),
    ],
)
async def test_refusals_are_permanent_in_plain_words(fake, telegram, status, description, words):
    fake.script.queue("sendMessage", status, failure(status, description))

    with pytest.raises(PermanentError, match=re.escape(words)) as caught:
        await telegram.send(text_to())
    assert caught.value.code == str(status)


async def test_too_long_text_refused_by_telegram_says_so(fake, telegram):
    with pytest.raises(PermanentError, match="longer than the 4096 characters") as caught:
        await telegram.send(text_to(content="x" * 4097))
    assert caught.value.code == "400"


async def test_group_upgraded_to_supergroup_names_the_new_chat(fake, telegram):
    fake.script.queue(
        "sendMessage",
        400,
        failure(400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=-1001234567890),
    )

    with pytest.raises(PermanentError, match="-1001234567890"):
        await telegram.send(text_to())


async def test_rejected_token_is_a_credentials_error(fake, http):
    driver = make_telegram(fake, http, bot_token="123456:wrong-token")

    with pytest.raises(CredentialsError) as caught:
        await driver.send(text_to())
    assert caught.value.code == "401" and "wrong-token" not in str(caught.value)
    assert fake.requests[-1].name == "sendMessage"


# --- outbound checks ---------------------------------------------------------------------------------------


def test_text_limit_is_telegrams_4096():
    assert TelegramDriver.check_outbound(ContentType.text, "x" * 4096) is None
    assert "4096" in TelegramDriver.check_outbound(ContentType.text, "x" * 4097)


def test_caption_over_1024_characters_is_refused_for_media():
    url = "https://example.com/a.jpg"

    assert TelegramDriver.check_outbound(ContentType.image, "x" * 1024, media_url=url) is None
    assert TelegramDriver.check_outbound(ContentType.video, "x" * 1025, media_url=url) == (
        "the caption has 1025 characters; Telegram allows 1024 under media"
    )
    assert TelegramDriver.check_outbound(ContentType.file, "x" * 1025, has_media=True) is not None


def test_text_on_a_sticker_or_location_is_refused():
    assert "cannot put text" in TelegramDriver.check_outbound(ContentType.sticker, "hi", has_media=True)
    assert "cannot put text" in TelegramDriver.check_outbound(
        ContentType.location, "hi", payload={"latitude": 1, "longitude": 2}
    )
    assert TelegramDriver.check_outbound(ContentType.location, "", payload={"latitude": 1, "longitude": 2}) is None


@pytest.mark.parametrize("content_type", [ContentType.contact, ContentType.reaction, ContentType.unsupported])
def test_kinds_telegram_cannot_send_are_refused(content_type):
    assert (
        TelegramDriver.check_outbound(content_type, "x")
        == f"telegram channels cannot send {content_type.value} messages"
    )


def test_capabilities():
    caps = TelegramDriver.capabilities

    assert caps.content_types == {
        ContentType.text,
        ContentType.image,
        ContentType.file,
        ContentType.audio,
        ContentType.video,
        ContentType.sticker,
        ContentType.location,
    }
    assert (caps.max_text_length, caps.supports_typing, caps.supports_receipts, caps.supports_edits) == (
        4096,
        True,
        False,
        True,
    )


# --- typing ------------------------------------------------------------------------------------------------


async def test_typing_sends_the_typing_chat_action(fake, telegram):
    await telegram.send_typing(ANN, last_inbound_id=f"{ANN}:42")

    assert [c.params for c in fake.calls_to("sendChatAction")] == [{"chat_id": ANN, "action": "typing"}]


async def test_typing_to_a_blocked_customer_raises(fake, telegram):
    fake.blocked_chats.add(ANN)

    with pytest.raises(PermanentError, match="blocked"):
        await telegram.send_typing(ANN)


# --- media download ----------------------------------------------------------------------------------------


async def test_media_is_fetched_through_get_file_and_the_file_route(fake, telegram):
    fake.add_file("BQACAgIAAxkBAAIBdoc", b"%PDF-1.7 invoice", file_path="documents/file_12.pdf")

    fetched = await telegram.fetch_media(
        MediaRef(ref="BQACAgIAAxkBAAIBdoc", mime_type="application/pdf", file_name="invoice-1234.pdf", size=16)
    )

    assert (fetched.data, fetched.mime_type, fetched.file_name) == (
        b"%PDF-1.7 invoice",
        "application/pdf",
        "invoice-1234.pdf",
    )
    assert fake.calls_to("getFile")[0].params == {"file_id": "BQACAgIAAxkBAAIBdoc"}
    assert fake.requests_to("download")[0].path == f"/file/bot{TOKEN}/documents/file_12.pdf"


async def test_photo_without_name_is_named_and_typed_from_the_file_path(fake, telegram):
    fake.add_file("AgAD-photo", b"\xff\xd8jpeg", file_path="photos/file_7.jpg")

    fetched = await telegram.fetch_media(MediaRef(ref="AgAD-photo"))

    assert (fetched.mime_type, fetched.file_name) == ("image/jpeg", "file_7.jpg")


async def test_media_over_the_cap_is_refused_before_asking_telegram(fake, http):
    driver = make_telegram(fake, http, max_media_bytes=100)

    with pytest.raises(PermanentError, match="101 bytes"):
        await driver.fetch_media(MediaRef(ref="big", size=101))
    assert fake.calls == []


async def test_download_growing_over_the_cap_is_stopped(fake, http):
    fake.add_file("AgAD-liar", b"x" * 5000, file_path="photos/file_8.jpg", size=10)  # getFile claims 10 bytes
    driver = make_telegram(fake, http, max_media_bytes=1000)

    with pytest.raises(PermanentError, match="1000 bytes"):
        await driver.fetch_media(MediaRef(ref="AgAD-liar"))


async def test_file_over_telegrams_20_mb_is_a_permanent_failure(fake, http):
    fake.add_file("BAAD-huge", b"", file_path="videos/file_9.mp4", size=25 * 1024 * 1024)
    driver = make_telegram(fake, http, max_media_bytes=100 * 1024 * 1024)

    with pytest.raises(PermanentError, match="20 MB") as caught:
        await driver.fetch_media(MediaRef(ref="BAAD-huge"))
    assert caught.value.code == "400"


async def test_unknown_file_id_is_a_permanent_failure(fake, telegram):
    with pytest.raises(PermanentError, match="invalid file_id"):
        await telegram.fetch_media(MediaRef(ref="nope"))


async def test_file_server_error_is_retryable(fake, telegram):
    fake.add_file("AgAD-photo", b"jpeg", file_path="photos/file_7.jpg")
    fake.script.queue("download", 503, b"busy")

    with pytest.raises(RetryableError, match="503"):
        await telegram.fetch_media(MediaRef(ref="AgAD-photo"))


# --- webhook registration and health -----------------------------------------------------------------------


async def test_register_webhook_sets_url_secret_and_update_kinds(fake, telegram):
    sentence = await telegram.register_webhook()

    [call] = fake.calls_to("setWebhook")
    assert call.params == {"url": WEBHOOK_URL, "secret_token": SECRET, "allowed_updates": ["message", "edited_message"]}
    assert fake.webhook["url"] == WEBHOOK_URL and fake.webhook_secret == SECRET
    assert WEBHOOK_URL in sentence


async def test_register_webhook_passes_max_connections_when_set(fake, http):
    await make_telegram(fake, http, max_connections=5).register_webhook()

    assert fake.calls_to("setWebhook")[0].params["max_connections"] == 5


async def test_register_webhook_refusal_quotes_telegram(fake, http):
    driver = make_telegram(fake, http, webhook_url="http://chathub.example.com/webhooks/telegram/1")

    with pytest.raises(PermanentError, match="HTTPS url must be provided for webhook") as caught:
        await driver.register_webhook()
    assert not isinstance(caught.value, CredentialsError)


async def test_register_webhook_with_a_wrong_token_is_a_credentials_error(fake, http):
    with pytest.raises(CredentialsError):
        await make_telegram(fake, http, bot_token="999:nope").register_webhook()


async def test_register_webhook_without_a_public_url_says_what_to_set(fake, http):
    with pytest.raises(PermanentError, match="CHATHUB_PUBLIC_URL"):
        await make_telegram(fake, http, webhook_url=None).register_webhook()
    assert fake.calls == []


async def test_health_is_ok_once_the_webhook_is_registered(fake, telegram):
    await telegram.register_webhook()
    fake.webhook["pending_update_count"] = 2

    health = await telegram.check_health()

    assert health.ok, health.summary
    assert health.details["url"] == WEBHOOK_URL and health.details["pending_update_count"] == 2
    assert health.details["bot_username"] == "@chathub_support_bot"


async def test_health_is_not_ok_without_a_webhook(fake, telegram):
    health = await telegram.check_health()

    assert not health.ok and "No webhook" in health.summary


async def test_health_is_not_ok_when_telegram_posts_elsewhere(fake, telegram):
    fake.webhook["url"] = "https://old-host.example.com/hook"

    health = await telegram.check_health()

    assert not health.ok and "https://old-host.example.com/hook" in health.summary


async def test_health_quotes_a_delivery_error_of_the_last_day(fake, telegram):
    fake.webhook.update(
        url=WEBHOOK_URL,
        last_error_date=int(time.time()) - 3600,
        last_error_message="Wrong response from the webhook: 502 Bad Gateway",
    )

    health = await telegram.check_health()

    assert not health.ok and "Wrong response from the webhook: 502 Bad Gateway" in health.summary
    assert health.details["last_error_message"] == "Wrong response from the webhook: 502 Bad Gateway"


async def test_health_ignores_a_delivery_error_older_than_a_day(fake, telegram):
    fake.webhook.update(
        url=WEBHOOK_URL, last_error_date=int(time.time()) - 2 * 86400, last_error_message="Connection timed out"
    )

    assert (await telegram.check_health()).ok


async def test_health_with_a_rejected_token(fake, http):
    health = await make_telegram(fake, http, bot_token="999:nope").check_health()

    assert not health.ok and health.summary == "The bot token was rejected"


async def test_health_when_telegram_is_unreachable(http):
    health = await make_telegram(http=http, base_url=FakeTelegram().base_url).check_health()

    assert not health.ok and "could not be asked" in health.summary


# --- config ------------------------------------------------------------------------------------------------


def test_registry_knows_the_telegram_driver():
    driver: ChannelDriver = make_driver(ChannelType.telegram, DriverContext(channel_id=1))

    assert isinstance(driver, TelegramDriver)
    assert TelegramDriver.default_api_base_url == "https://api.telegram.org"


def test_config_is_stripped_and_a_secret_token_generated():
    first = TelegramDriver.validate_config({"bot_token": f"  {TOKEN}\n", "secret_token": ""})
    second = TelegramDriver.validate_config({"bot_token": TOKEN})

    assert first["bot_token"] == TOKEN
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", first["secret_token"])
    assert first["secret_token"] != second["secret_token"]
    assert set(first) == {"bot_token", "secret_token"}  # both hold "token": masked when shown


def test_config_keeps_the_given_secret_and_max_connections():
    assert TelegramDriver.validate_config({**CONFIG, "secret_token": f" {SECRET} ", "max_connections": "10"}) == {
        "bot_token": TOKEN,
        "secret_token": SECRET,
        "max_connections": 10,
    }


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({}, "bot_token is required"),
        ({"bot_token": "   "}, "bot_token is required"),
        ({"bot_token": "not-a-token"}, "bot_token does not look"),
        ({"bot_token": "123456:ABC DEF"}, "bot_token does not look"),
        ({"bot_token": TOKEN, "secret_token": "has spaces"}, "secret_token"),
        ({"bot_token": TOKEN, "secret_token": "ümlaut"}, "secret_token"),
        ({"bot_token": TOKEN, "secret_token": "x" * 257}, "secret_token"),
        ({"bot_token": TOKEN, "max_connections": 0}, "max_connections"),
        ({"bot_token": TOKEN, "max_connections": 101}, "max_connections"),
        ({"bot_token": TOKEN, "max_connections": "many"}, "max_connections"),
        ({"bot_token": TOKEN, "max_connections": True}, "max_connections"),
        ({"bot_token": TOKEN, "secret_token": 12345}, "secret_token must be text"),
        ({"bot_token": TOKEN, "bot_tokn": TOKEN}, "no setting 'bot_tokn' \\(did you mean 'bot_token'\\?\\)"),
    ],
)
def test_bad_config_is_refused_naming_the_key(config, names):
    with pytest.raises(ValueError, match=names):
        TelegramDriver.validate_config(config)
