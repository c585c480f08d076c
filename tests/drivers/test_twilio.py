"""The Twilio driver against Twilio's documented formats and a fake Twilio on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

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
from chathub.drivers.twilio import TwilioDriver, signature
from chathub.models import ChannelType, ContentType, MessageStatus
from tests.fakes.server import Script
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, twilio_error

FIXTURES = Path(__file__).parent / "fixtures" / "twilio"
WEBHOOK_URL = "https://chathub.example.com/webhooks/twilio/1"
OUR_NUMBER = "+15017122661"
OUR_MESSAGE = "SMfedcba9876543210fedcba9876543210"
CONFIG = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": OUR_NUMBER}


def driver(
    api_base_url: str | None = None,
    http: httpx.AsyncClient | None = None,
    *,
    webhook_url: str | None = WEBHOOK_URL,
    max_media_bytes: int = 20 * 1024 * 1024,
    **config,
) -> TwilioDriver:
    context = DriverContext(
        channel_id=1,
        config=TwilioDriver.validate_config({**CONFIG, **config}),
        api_base_url=api_base_url,
        http=http,
        webhook_url=webhook_url,
        max_media_bytes=max_media_bytes,
    )
    built = make_driver(ChannelType.twilio, context)
    assert isinstance(built, TwilioDriver)
    return built


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sign(body: bytes, url: str = WEBHOOK_URL, token: str = AUTH_TOKEN) -> dict[str, str]:
    """Headers as Twilio sends them, signed here independently of the driver (no repeated names)."""
    signed = url + "".join(name + value for name, value in sorted(parse_qsl(body.decode(), keep_blank_values=True)))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return {
        "x-twilio-signature": base64.b64encode(digest).decode(),
        "content-type": "application/x-www-form-urlencoded",
    }


def parse(name: str) -> list:
    return driver().parse(fixture(name), {"content-type": "application/x-www-form-urlencoded"})


@pytest.fixture(scope="module")
def running_fake() -> FakeTwilio:
    with FakeTwilio() as running:
        yield running


@pytest.fixture
def fake(running_fake: FakeTwilio) -> FakeTwilio:
    """The module's fake Twilio, with no requests, scripts or media left from other tests."""
    for server in (running_fake, running_fake.cdn):
        server.requests.clear()
        server.script = Script()
    running_fake.cdn.files.clear()
    running_fake.cdn.chunked.clear()
    running_fake.account_status = "active"
    return running_fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def twilio(fake: FakeTwilio, http: httpx.AsyncClient) -> TwilioDriver:
    return driver(fake.base_url, http)


def text(content: str = "Your order ships today", recipient: str = "+15558675310", **fields) -> OutboundMessage:
    return OutboundMessage(
        recipient_id=recipient,
        content_type=ContentType.text,
        content=content,
        **{"status_callback_url": WEBHOOK_URL, **fields},
    )


# --- signatures ----------------------------------------------------------------------------------------------

DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]


def test_signature_matches_twilios_documented_example():
    assert signature("12345", DOCS_URL, DOCS_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_signature_of_repeated_names_matches_the_helper_libraries_vector():
    params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234"), ("Digits", "1234")]

    assert signature("12345", DOCS_URL, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_documented_example_passes_the_signature_check_and_is_then_refused_for_its_account():
    docs = driver(webhook_url="https://mycompany.com/myapp.php", auth_token="12345")
    headers = {"x-twilio-signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}

    with pytest.raises(SignatureError, match="not this channel's"):
        docs.verify(urlencode(DOCS_PARAMS).encode(), headers, query="foo=1&bar=2")


@pytest.mark.parametrize(
    "name", ["sms_text.txt", "whatsapp_text.txt", "mms_three_media.txt", "status_undelivered_30003.txt"]
)
def test_request_signed_with_the_auth_token_over_the_public_url_is_accepted(name):
    body = fixture(name)

    driver().verify(body, sign(body))


def test_signature_covers_the_query_string():
    body = fixture("sms_text.txt")

    driver().verify(body, sign(body, WEBHOOK_URL + "?src=number"), query="src=number")
    with pytest.raises(SignatureError, match="does not match"):
        driver().verify(body, sign(body, WEBHOOK_URL), query="src=number")


@pytest.mark.parametrize("url", ["https://chathub.example.com:443/webhooks/twilio/1"])
def test_signature_over_the_url_with_its_default_port_is_accepted(url):
    body = fixture("sms_text.txt")

    driver().verify(body, sign(body, url))


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (sign(fixture("sms_text.txt"), token="0" * 32), fixture("sms_text.txt")),
        (sign(fixture("sms_text.txt")), fixture("sms_text.txt").replace(b"arrived", b"shipped")),
        (sign(fixture("sms_text.txt"), "http://127.0.0.1:8080/webhooks/twilio/1"), fixture("sms_text.txt")),
        (sign(fixture("sms_text.txt"), "https://chathub.example.com/webhooks/twilio/2"), fixture("sms_text.txt")),
        ({"x-twilio-signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}, fixture("sms_text.txt")),
    ],
    ids=["other-token", "tampered-body", "url-behind-the-proxy", "other-channel-url", "garbage"],
)
def test_wrong_signature_is_refused(headers, body):
    with pytest.raises(SignatureError, match="does not match"):
        driver().verify(body, headers)


def test_missing_signature_is_refused():
    with pytest.raises(SignatureError, match="missing x-twilio-signature"):
        driver().verify(fixture("sms_text.txt"), {"content-type": "application/x-www-form-urlencoded"})


def test_correctly_signed_request_for_another_account_is_refused():
    body = fixture("sms_text.txt").replace(ACCOUNT_SID.encode(), b"AC" + b"9" * 32)

    with pytest.raises(SignatureError, match="AC9999"):
        driver().verify(body, sign(body))


def test_correctly_signed_request_without_account_is_refused():
    body = urlencode([(k, v) for k, v in parse_qsl(fixture("sms_text.txt").decode()) if k != "AccountSid"]).encode()

    with pytest.raises(SignatureError, match="not this channel's"):
        driver().verify(body, sign(body))


def test_without_a_public_url_nothing_can_be_verified():
    body = fixture("sms_text.txt")

    with pytest.raises(SignatureError, match="CHATHUB_PUBLIC_URL"):
        driver(webhook_url=None).verify(body, sign(body))


def test_body_that_is_not_form_data_is_refused():
    with pytest.raises(SignatureError, match="not form data"):
        driver().verify(b"\xff\xfe{}", {"x-twilio-signature": "abc="})


# --- incoming messages ---------------------------------------------------------------------------------------


def test_sms_becomes_a_text_message_from_the_phone_number():
    assert parse("sms_text.txt") == [
        InboundMessage(
            external_id="SM1f0e9d8c7b6a59483726150f1e2d3c4b",
            sender_id="+15558675310",
            content_type=ContentType.text,
            content="Hi, my order #1042 hasn't arrived yet",
            sender_phone="+15558675310",
        )
    ]


def test_whatsapp_sender_keeps_the_prefix_and_gives_phone_and_profile_name():
    [event] = parse("whatsapp_text.txt")

    assert event.sender_id == "whatsapp:+15551234567"
    assert event.sender_phone == "+15551234567"
    assert event.sender_name == "Ana María"
    assert (event.content_type, event.content) == (ContentType.text, "Hola! Is 5 + 3 < 10 & café open?")


def test_mms_gives_one_message_per_media_with_the_body_as_first_caption():
    events = parse("mms_three_media.txt")
    sid = "MM5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
    base = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media/ME{sid[2:-2]}"

    assert [(e.external_id, e.content_type, e.content) for e in events] == [
        (sid, ContentType.image, "Photos of the damage + the invoice"),
        (f"{sid}/1", ContentType.video, ""),
        (f"{sid}/2", ContentType.file, ""),
    ]
    assert [e.media for e in events] == [
        MediaRef(ref=f"{base}00", mime_type="image/jpeg"),
        MediaRef(ref=f"{base}01", mime_type="video/mp4"),
        MediaRef(ref=f"{base}02", mime_type="application/pdf"),
    ]
    assert all(e.media_url is None and e.payload == {"media_group_id": sid} for e in events)
    assert {e.sender_id for e in events} == {"+12125551234"}


def test_whatsapp_voice_note_is_audio_still_at_twilio():
    [event] = parse("whatsapp_voice.txt")

    assert (event.content_type, event.content, event.media_mime_type) == (ContentType.audio, "", "audio/ogg")
    assert event.media.ref == (
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/"
        "MM9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b/Media/ME9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c00"
    )
    assert event.payload is None and event.media_url is None


def test_whatsapp_location_keeps_coordinates_label_and_address():
    [event] = parse("whatsapp_location.txt")

    assert event.content_type == ContentType.location
    assert event.payload == {
        "latitude": 37.7879277,
        "longitude": -122.4075394,
        "name": "Our store",
        "address": "1 Market St, San Francisco, CA 94105",
    }


def test_whatsapp_button_reply_is_text_with_its_payload_and_the_replied_message():
    [event] = parse("whatsapp_button.txt")

    assert (event.content_type, event.content) == (ContentType.text, "Yes, confirm")
    assert event.payload == {"reply_id": "confirm_order_1042", "kind": "button", "reply_to": OUR_MESSAGE}


def test_message_with_nothing_to_show_is_unsupported_with_the_raw_parameters():
    [event] = parse("whatsapp_unsupported.txt")

    assert event.content_type == ContentType.unsupported
    assert event.payload["raw"]["MessageType"] == "unsupported"
    assert event.payload["raw"]["MessageSid"] == event.external_id == "SM00112233445566778899aabbccddeeff"


def test_redelivered_webhook_gives_the_same_ids():
    for name in ("sms_text.txt", "mms_three_media.txt", "status_delivered.txt"):
        assert parse(name) == parse(name)
    assert len({e.external_id for e in parse("mms_three_media.txt")}) == 3


def test_messages_are_never_edits_because_twilio_has_none():
    assert TwilioDriver.capabilities.supports_edits is False
    names = ["sms_text.txt", "mms_three_media.txt", "whatsapp_text.txt", "whatsapp_button.txt"]
    assert not any(event.edited for name in names for event in parse(name))


def test_older_webhooks_with_only_sms_sid_still_parse():
    body = urlencode(
        {"SmsSid": "SM1", "SmsStatus": "received", "From": "+15558675310", "Body": "hi", "AccountSid": ACCOUNT_SID}
    ).encode()

    assert driver().parse(body, {})[0].external_id == "SM1"


# --- status callbacks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("status_sent.txt", MessageStatus.sent),
        ("status_delivered.txt", MessageStatus.delivered),
        ("status_read_whatsapp.txt", MessageStatus.read),
    ],
)
def test_status_callback_becomes_a_receipt(name, status):
    assert parse(name) == [StatusUpdate(external_id=OUR_MESSAGE, status=status)]


@pytest.mark.parametrize("status", ["queued", "accepted", "scheduled", "sending", "some_new_status"])
def test_status_callbacks_that_say_nothing_new_are_ignored(status):
    body = fixture("status_queued.txt").replace(b"=queued", f"={status}".encode())

    assert driver().parse(body, {}) == []


def test_undelivered_sms_fails_with_the_code_and_plain_words():
    [update] = parse("status_undelivered_30003.txt")

    assert update.status == MessageStatus.failed
    assert update.error == (
        "30003: The customer's phone is unreachable (switched off, out of coverage or unable to receive texts)"
    )


def test_whatsapp_outside_the_24_hour_window_fails_saying_a_template_is_needed():
    [update] = parse("status_failed_63016_whatsapp.txt")

    assert (update.external_id, update.status) == (OUR_MESSAGE, MessageStatus.failed)
    assert update.error.startswith("63016: More than 24 hours have passed")
    assert "template" in update.error


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("30004", "blocked"),
        ("30005", "unknown to the carrier"),
        ("30006", "landline"),
        ("30007", "spam"),
        ("30008", "unknown reason"),
        ("21610", "replied STOP"),
        ("63003", "not a WhatsApp user"),
    ],
)
def test_failed_status_explains_the_common_codes(code, words):
    body = fixture("status_undelivered_30003.txt").replace(b"ErrorCode=30003", f"ErrorCode={code}".encode())

    [update] = driver().parse(body, {})

    assert update.error.startswith(f"{code}: ") and words in update.error


def test_unknown_error_code_keeps_twilios_message_or_links_the_docs():
    body = fixture("status_undelivered_30003.txt").replace(b"ErrorCode=30003", b"ErrorCode=39999")

    assert (
        driver().parse(body, {})[0].error
        == "39999: Twilio reported error 39999 (see https://www.twilio.com/docs/api/errors/39999)"
    )
    assert driver().parse(body + b"&ErrorMessage=Carrier+said+no", {})[0].error == "39999: Carrier said no"


def test_failed_status_without_a_code_still_says_so():
    body = fixture("status_undelivered_30003.txt").replace(b"ErrorCode=30003&", b"")

    assert driver().parse(body, {})[0].error == "Twilio reported the message as undelivered without an error code"


# --- malformed requests --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"From=%2B15558675310&Body=hi", "'MessageSid'"),
        (b"MessageSid=SM1&Body=hi", "'From'"),
        (b"MessageSid=SM1&From=%2B1555&NumMedia=two", "NumMedia"),
        (b"MessageSid=SM1&From=%2B1555&NumMedia=2&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm", "'MediaUrl1'"),
        (b"MessageSid=SM1&From=%2B1555&Latitude=north&Longitude=1", "numbers"),
        (b"MessageSid=SM1&From=%2B1555&Latitude=91&Longitude=1", "out of range"),
        (b"\xff\xfe", "form data"),
        (b'{"MessageSid": "SM1"}', "form data"),
    ],
)
def test_malformed_request_is_refused_naming_the_problem(body, names):
    with pytest.raises(InvalidPayload, match=names):
        driver().parse(body, {})


# --- sending -------------------------------------------------------------------------------------------------


async def test_text_goes_to_messages_json_with_basic_auth_and_status_callback(fake, twilio):
    sid = await twilio.send(text("Price: <10 & *50%* off_"))

    [request] = fake.requests_to("messages")
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert (
        request.headers["authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    )
    assert request.form == {
        "To": ["+15558675310"],
        "From": [OUR_NUMBER],
        "Body": ["Price: <10 & *50%* off_"],
        "StatusCallback": [WEBHOOK_URL],
    }
    assert sid.startswith("SM") and len(sid) == 34


async def test_send_returns_the_sid_from_twilios_answer(fake, twilio):
    fake.script.queue("messages", 201, {"sid": "SM0000000000000000000000000000abcd", "status": "queued"})

    assert await twilio.send(text()) == "SM0000000000000000000000000000abcd"


async def test_messaging_service_replaces_from(fake, http):
    service = "MG9752274e9e519418a7406176694466fa"

    await driver(fake.base_url, http, messaging_service_sid=service).send(text())

    form = fake.requests_to("messages")[0].form
    assert form["MessagingServiceSid"] == [service] and "From" not in form


async def test_whatsapp_reply_goes_back_to_the_whatsapp_address(fake, http):
    whatsapp = driver(fake.base_url, http, from_number="whatsapp:+14155238886")

    await whatsapp.send(text(recipient="whatsapp:+15551234567"))
    await whatsapp.send(text(recipient="+15551234567"))  # a bare number given through the REST API

    assert [r.form["To"] for r in fake.requests_to("messages")] == [["whatsapp:+15551234567"]] * 2
    assert fake.requests_to("messages")[0].form["From"] == ["whatsapp:+14155238886"]


async def test_attachment_goes_as_its_public_link_with_the_text_as_caption(fake, twilio, tmp_path):
    link = "https://chathub.example.com/media/public/7/1900000000/abc"
    media = OutboundMedia(path=tmp_path / "a.jpg", mime_type="image/jpeg", file_name="a.jpg", public_url=link)

    sid = await twilio.send(
        OutboundMessage(recipient_id="+15558675310", content_type=ContentType.image, content="The receipt", media=media)
    )

    form = fake.requests_to("messages")[0].form
    assert (form["MediaUrl"], form["Body"]) == ([link], ["The receipt"])
    assert "StatusCallback" not in form  # none was given
    assert sid.startswith("MM")


async def test_media_url_given_through_the_api_is_passed_on_without_an_empty_body(fake, twilio):
    await twilio.send(
        OutboundMessage(
            recipient_id="+15558675310", content_type=ContentType.file, media_url="https://files.example.com/manual.pdf"
        )
    )

    assert fake.requests_to("messages")[0].form == {
        "To": ["+15558675310"],
        "From": [OUR_NUMBER],
        "MediaUrl": ["https://files.example.com/manual.pdf"],
    }


@pytest.mark.parametrize(
    "public_url",
    [
        None,
        "http://127.0.0.1:8080/media/public/7/1900000000/abc",
        "http://localhost:8080/media/public/7",
        "http://10.0.0.5/media/public/7",
        "http://chathub:8080/media/public/7",
    ],
)
async def test_attachment_without_a_public_link_is_refused_before_calling_twilio(fake, twilio, tmp_path, public_url):
    media = OutboundMedia(path=tmp_path / "a.jpg", mime_type="image/jpeg", file_name="a.jpg", public_url=public_url)

    with pytest.raises(PermanentError, match="CHATHUB_PUBLIC_URL must be ChatHub's public"):
        await twilio.send(OutboundMessage(recipient_id="+15558675310", content_type=ContentType.image, media=media))
    assert fake.requests_to("messages") == []


async def test_status_callback_twilio_could_not_reach_is_left_out(fake, twilio):
    await twilio.send(text(status_callback_url=None))
    await twilio.send(text(status_callback_url="http://127.0.0.1:8080/webhooks/twilio/1"))

    assert [r.form["Body"] for r in fake.requests_to("messages") if "StatusCallback" not in r.form] == [
        ["Your order ships today"]
    ] * 2


async def test_rate_limit_is_retryable_after_twilios_wait(fake, twilio):
    fake.script.queue("messages", 429, twilio_error(20429, "Too Many Requests", 429), headers={"Retry-After": "7"})

    with pytest.raises(RetryableError, match="20429") as caught:
        await twilio.send(text())
    assert caught.value.retry_after == 7


async def test_rate_limit_code_without_a_wait_hint_is_retryable(fake, twilio):
    fake.script.queue("messages", 429, twilio_error(20429, "Too Many Requests", 429))

    with pytest.raises(RetryableError) as caught:
        await twilio.send(text())
    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retryable(fake, twilio, status):
    fake.script.queue("messages", status, twilio_error(20500, "Internal Server Error", status))

    with pytest.raises(RetryableError, match=f"HTTP {status}"):
        await twilio.send(text())


async def test_timeout_is_retryable(fake):
    fake.script.queue("messages", 201, {"sid": "SMlate"}, delay=0.5)
    async with httpx.AsyncClient(timeout=0.1) as impatient:
        with pytest.raises(RetryableError, match="ReadTimeout"):
            await driver(fake.base_url, impatient).send(text())


async def test_unreachable_twilio_is_retryable(http):
    with pytest.raises(RetryableError, match="could not be reached"):
        await driver("http://127.0.0.1:9", http).send(text())


async def test_rejected_auth_token_is_a_credentials_error(fake, http):
    with pytest.raises(CredentialsError, match="20003: Twilio rejected the Account SID or auth token") as caught:
        await driver(fake.base_url, http, auth_token="0" * 32).send(text())
    assert caught.value.code == "20003"
    assert fake.requests_to("messages")[0].headers["authorization"].startswith("Basic ")


async def test_customer_who_replied_stop_is_a_permanent_error_saying_start(fake, twilio):
    fake.script.queue("messages", 400, twilio_error(21610, "Attempt to send to unsubscribed recipient"))

    with pytest.raises(PermanentError) as caught:
        await twilio.send(text())
    assert str(caught.value) == (
        "21610: The customer replied STOP and has unsubscribed; they must text START before you can message them again"
    )
    assert caught.value.code == "21610" and not isinstance(caught.value, CredentialsError)


@pytest.mark.parametrize(
    ("code", "twilio_message", "words"),
    [
        (21211, "The 'To' number +1555 is not a valid phone number.", "not a valid phone number"),
        (21614, "'To' number is not a valid mobile number", "not a mobile number"),
        (
            21408,
            "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
            "Geo permissions",
        ),
        (
            63016,
            "Failed to send freeform message because you are outside the allowed window.",
            "approved WhatsApp template",
        ),
    ],
)
async def test_refusals_are_permanent_in_plain_words(fake, twilio, code, twilio_message, words):
    fake.script.queue("messages", 400, twilio_error(code, twilio_message))

    with pytest.raises(PermanentError, match=words) as caught:
        await twilio.send(text())
    assert caught.value.code == str(code) and str(caught.value).startswith(f"{code}: ")


async def test_unknown_refusal_keeps_twilios_message(fake, twilio):
    fake.script.queue("messages", 400, twilio_error(21999, "Something new went wrong"))

    with pytest.raises(PermanentError, match="^21999: Something new went wrong$"):
        await twilio.send(text())


async def test_refusal_without_a_json_body_names_the_http_status(fake, twilio):
    fake.script.queue("messages", 404, b"<html>Not Found</html>")

    with pytest.raises(PermanentError, match="HTTP 404"):
        await twilio.send(text())


async def test_fake_refuses_a_message_without_body_or_media(fake, twilio):
    # the fake answers like Twilio, so a driver that forgot the body would see 21602
    with pytest.raises(PermanentError, match="21602"):
        await twilio.send(text(content=""))


async def test_typing_is_not_supported_and_calls_nothing(fake, twilio):
    assert TwilioDriver.capabilities.supports_typing is False

    await twilio.send_typing("+15558675310", last_inbound_id="SM1")

    assert fake.requests == []


# --- media ---------------------------------------------------------------------------------------------------


async def test_media_is_fetched_with_basic_auth_and_the_cdn_never_sees_the_token(fake, twilio):
    fake.add_media("ME01", b"\xff\xd8jpeg-bytes", "image/jpeg")

    fetched = await twilio.fetch_media(MediaRef(ref=fake.media_url("MM1", "ME01"), mime_type="image/jpeg"))

    assert (fetched.data, fetched.mime_type, fetched.file_name) == (b"\xff\xd8jpeg-bytes", "image/jpeg", "ME01.jpg")
    assert fake.requests_to("media")[0].headers["authorization"].startswith("Basic ")
    [cdn_request] = fake.cdn.requests_to("cdn")
    assert "authorization" not in cdn_request.headers
    assert AUTH_TOKEN not in str(cdn_request.headers)


async def test_media_from_a_parsed_webhook_round_trips(fake, twilio):
    body = fixture("mms_three_media.txt").replace(
        b"https%3A%2F%2Fapi.twilio.com", fake.base_url.replace(":", "%3A").replace("/", "%2F").encode()
    )
    events = twilio.parse(body, {})
    for index, event in enumerate(events):
        fake.add_media(event.media.ref.rsplit("/", 1)[1], f"file {index}".encode(), event.media.mime_type)

    fetched = [await twilio.fetch_media(event.media) for event in events]

    assert [(f.data, f.mime_type) for f in fetched] == [
        (b"file 0", "image/jpeg"),
        (b"file 1", "video/mp4"),
        (b"file 2", "application/pdf"),
    ]


async def test_media_over_the_limit_is_refused(fake, http):
    fake.add_media("MEbig", b"x" * 5000, "video/mp4")
    fake.add_media("MEchunked", b"x" * 5000, "video/mp4", chunked=True)
    small = driver(fake.base_url, http, max_media_bytes=4096)

    with pytest.raises(PermanentError, match="5000 bytes; ChatHub keeps files up to 4096 bytes"):
        await small.fetch_media(MediaRef(ref=fake.media_url("MM1", "MEbig")))
    with pytest.raises(PermanentError, match="larger than 4096 bytes"):
        await small.fetch_media(MediaRef(ref=fake.media_url("MM1", "MEchunked")))
    fake.add_media("MEsmall", b"x" * 4096, "video/mp4", chunked=True)
    assert len((await small.fetch_media(MediaRef(ref=fake.media_url("MM1", "MEsmall")))).data) == 4096


async def test_media_with_rejected_credentials_is_a_credentials_error(fake, http):
    fake.add_media("ME01", b"x", "image/png")

    with pytest.raises(CredentialsError):
        await driver(fake.base_url, http, auth_token="0" * 32).fetch_media(MediaRef(ref=fake.media_url("MM1", "ME01")))
    assert fake.cdn.requests == []


async def test_deleted_media_is_permanent_and_a_busy_twilio_retryable(fake, twilio):
    with pytest.raises(PermanentError, match="no longer at Twilio"):
        await twilio.fetch_media(MediaRef(ref=fake.media_url("MM1", "MEgone")))
    fake.script.queue("media", 503, twilio_error(20503, "Service Unavailable", 503), headers={"Retry-After": "3"})
    with pytest.raises(RetryableError) as caught:
        await twilio.fetch_media(MediaRef(ref=fake.media_url("MM1", "MEgone")))
    assert caught.value.retry_after == 3


async def test_credentials_are_never_sent_to_a_host_that_is_not_twilio(fake, twilio):
    with pytest.raises(PermanentError, match="refusing to send Twilio credentials to evil.example.com"):
        await twilio.fetch_media(MediaRef(ref="https://evil.example.com/2010-04-01/Media/ME1"))
    with pytest.raises(PermanentError, match="refusing"):
        await twilio.fetch_media(MediaRef(ref=fake.cdn.base_url + "/media/ME1"))  # same host, other port
    assert fake.requests == [] and fake.cdn.requests == []


# --- webhook registration and health -------------------------------------------------------------------------


async def test_webhook_is_pasted_by_the_admin_so_register_does_nothing(fake, twilio):
    assert await twilio.register_webhook() is None
    assert fake.requests == []


async def test_health_reports_the_active_account_by_name(fake, twilio):
    health = await twilio.check_health()

    assert (health.ok, health.summary) == (True, "The Twilio account 'ChatHub support' is active")
    assert health.details["webhook_url"] == WEBHOOK_URL
    assert fake.requests_to("account")[0].path == f"/2010-04-01/Accounts/{ACCOUNT_SID}.json"


async def test_health_flags_a_rejected_auth_token(fake, http):
    health = await driver(fake.base_url, http, auth_token="0" * 32).check_health()

    assert (health.ok, health.summary) == (False, "The Account SID or auth token was rejected")


async def test_health_flags_a_suspended_account(fake, twilio):
    fake.account_status = "suspended"

    health = await twilio.check_health()

    assert (health.ok, health.summary) == (False, "The Twilio account 'ChatHub support' is suspended")


async def test_health_says_when_twilio_cannot_be_reached(http):
    health = await driver("http://127.0.0.1:9", http).check_health()

    assert health.ok is False and "could not be reached" in health.summary


# --- capabilities and config ---------------------------------------------------------------------------------


def test_capabilities_are_what_twilio_messaging_can_send():
    caps = TwilioDriver.capabilities
    assert caps.content_types == {
        ContentType.text,
        ContentType.image,
        ContentType.audio,
        ContentType.video,
        ContentType.file,
    }
    assert (caps.max_text_length, caps.supports_receipts) == (1600, True)
    assert TwilioDriver.default_api_base_url == "https://api.twilio.com"
    assert TwilioDriver.check_outbound(ContentType.text, "x" * 1600) is None
    assert "1601" in TwilioDriver.check_outbound(ContentType.text, "x" * 1601)
    assert (
        TwilioDriver.check_outbound(ContentType.location, "", payload={"latitude": 1, "longitude": 2})
        == "twilio channels cannot send location messages"
    )


def test_validate_config_strips_and_fills_the_optional_service():
    config = TwilioDriver.validate_config(
        {"account_sid": f" {ACCOUNT_SID} ", "auth_token": f"{AUTH_TOKEN}\n", "from_number": " whatsapp:+14155238886 "}
    )

    assert config == {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": "whatsapp:+14155238886",
        "messaging_service_sid": "",
    }


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"account_sid": ""}, "account_sid"),
        ({"account_sid": "AC123"}, "account_sid"),
        ({"account_sid": "SK" + "0" * 32}, "account_sid"),
        ({"auth_token": ""}, "auth_token"),
        ({"auth_token": None}, "auth_token"),
        ({"auth_token": "abc def"}, "auth_token"),
        ({"from_number": ""}, "from_number"),
        ({"from_number": "5551234567"}, "from_number"),
        ({"from_number": "sms:+15551234567"}, "from_number"),
        ({"from_number": 15551234567}, "from_number"),
        ({"messaging_service_sid": "MG123"}, "messaging_service_sid"),
        ({"status_callback": "https://x.example"}, "no setting 'status_callback'"),
    ],
)
def test_validate_config_refuses_bad_values_naming_the_key(changes, names):
    with pytest.raises(ValueError, match=names):
        TwilioDriver.validate_config({**CONFIG, **changes})
