"""A Twilio channel (SMS/MMS and WhatsApp) end to end through the running app, against a fake Twilio REST API
on 127.0.0.1: webhooks are signed over ChatHub's PUBLIC URL while the app is reached at another address,
accepted ones are answered with empty TwiML, messages and media arrive (media fetched through Twilio's
redirect to its CDN and served to agents only), receipts only move forward, replies go out with ChatHub's
status callback URL and attachments as signed public links, and Twilio's refusals reach the thread and the
channel."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from chathub import db
from chathub.models import Message, utcnow
from chathub.services import media
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, twilio_error
from tests.helpers.app import PUBLIC_URL
from tests.helpers.waiting import eventually

INTERNAL_URL = "http://test"  # where the test client reaches the app (the proxy's side of it)
QUERY = "source=sms"
SMS_NUMBER = "+15017122661"
WHATSAPP_NUMBER = "whatsapp:+14155238886"
FIXTURES = Path(__file__).parent.parent / "drivers" / "fixtures" / "twilio"
JPEG = b"\xff\xd8\xff\xe0" + b"\x10" * 200
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 300
PDF = b"%PDF-1.4\n" + b"%" * 100
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


pytestmark = pytest.mark.usefixtures("https_public_url")


@pytest.fixture
def fake():
    with FakeTwilio() as server:
        yield server


def fixture(name: str, **changes: str) -> list[tuple[str, str]]:
    """A documented webhook's form fields, with some values replaced (or added)."""
    pairs = parse_qsl((FIXTURES / f"{name}.txt").read_text().strip(), keep_blank_values=True)
    pairs = [(key, changes.pop(key, value)) for key, value in pairs]
    return pairs + list(changes.items())


def twilio_signature(token: str, url: str, pairs: list[tuple[str, str]]) -> str:
    """As Twilio documents it: the full URL, then each parameter's name and value sorted by name,
    HMAC-SHA1 with the auth token, base64."""
    signed = url + "".join(name + value for name, value in sorted(pairs))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


async def post_form(
    client: httpx.AsyncClient,
    channel: dict,
    pairs: list[tuple[str, str]],
    *,
    signed_url: str | None = None,
    token: str = AUTH_TOKEN,
    signature: str | None = None,
    body: str | None = None,
) -> httpx.Response:
    """Post as Twilio does: to the app's own address with ?source=sms, signed over the public URL."""
    path = f"/webhooks/twilio/{channel['id']}?{QUERY}"
    url = signed_url if signed_url is not None else PUBLIC_URL + path
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if signature != "":
        headers["x-twilio-signature"] = signature or twilio_signature(token, url, pairs)
    return await client.post(path, content=body if body is not None else urlencode(pairs), headers=headers)


async def create_channel(
    client: httpx.AsyncClient,
    auth: dict,
    fake: FakeTwilio,
    *,
    from_number: str = SMS_NUMBER,
    auth_token: str = AUTH_TOKEN,
) -> dict:
    response = await client.post(
        "/api/v1/channels",
        headers=auth,
        json={
            "type": "twilio",
            "name": "Twilio",
            "config": {
                "account_sid": ACCOUNT_SID,
                "auth_token": auth_token,
                "from_number": from_number,
                "api_base_url": fake.base_url,
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def messages_of(client: httpx.AsyncClient, auth: dict) -> list[dict]:
    found = []
    for conversation in await _conversations(client, auth):
        found += (await client.get(f"/api/v1/conversations/{conversation['id']}/messages", headers=auth)).json()[
            "items"
        ]
    return found


async def _conversations(client, auth):
    return (await client.get("/api/v1/conversations", headers=auth)).json()["items"]


async def _message_with_status(client, auth, conversation_id, status):
    items = (await client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=auth)).json()["items"]
    return next((m for m in items if m["direction"] == "outbound" and m["status"] == status), None)


async def _processed_logs(client, auth, count):
    logs = (await client.get("/api/v1/webhook-logs?status=processed", headers=auth)).json()["items"]
    return logs if len(logs) >= count else None


async def conversation_with_a_customer(client, auth, fake, *, whatsapp: bool = False) -> tuple[dict, dict]:
    """A channel and the conversation a customer's first message opened."""
    channel = await create_channel(client, auth, fake, from_number=WHATSAPP_NUMBER if whatsapp else SMS_NUMBER)
    response = await post_form(client, channel, fixture("whatsapp_text" if whatsapp else "sms_text"))
    assert response.status_code == 200, response.text
    return channel, (await eventually(lambda: _conversations(client, auth)))[0]


async def sent_reply(client, auth, conversation: dict, text: str = "We are on it") -> dict:
    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=auth, json={"content": text}
    )
    assert response.status_code == 201, response.text
    return await eventually(lambda: _message_with_status(client, auth, conversation["id"], "sent"))


async def post_status(client, channel, name: str, message_sid: str, **changes: str) -> None:
    response = await post_form(client, channel, fixture(name, MessageSid=message_sid, SmsSid=message_sid, **changes))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")


async def stored_message(message_id: int) -> Message:
    async with db.read_session() as session:
        return await session.get(Message, message_id)


# --- set-up ----------------------------------------------------------------------------------------------


async def test_saving_the_channel_hides_the_token_and_reports_the_account_healthy(client, auth, fake):
    channel = await create_channel(client, auth, fake)

    assert channel["webhook_url"] == f"{PUBLIC_URL}/webhooks/twilio/{channel['id']}"
    assert channel["api_base_url"] == fake.base_url and channel["problem"] is None
    assert AUTH_TOKEN not in json.dumps(channel) and channel["config"]["account_sid"] == ACCOUNT_SID

    health = await client.get(f"/api/v1/channels/{channel['id']}/health", headers=auth)
    assert health.status_code == 200 and health.json()["ok"] is True, health.text
    assert "ChatHub support" in health.json()["summary"] and AUTH_TOKEN not in health.text
    assert fake.requests_to("account")[0].path == f"/2010-04-01/Accounts/{ACCOUNT_SID}.json"


async def test_a_rejected_auth_token_is_flagged_on_the_channel(client, auth, fake):
    channel = await create_channel(client, auth, fake, auth_token="0" * 32)

    health = (await client.get(f"/api/v1/channels/{channel['id']}/health", headers=auth)).json()

    assert health["ok"] is False and "rejected" in health["summary"]
    listed = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
    assert "auth token was rejected" in next(c for c in listed if c["id"] == channel["id"])["problem"]


# --- verification ----------------------------------------------------------------------------------------


async def test_a_webhook_signed_over_the_public_url_and_its_query_is_answered_with_empty_twiml(client, auth, fake):
    channel = await create_channel(client, auth, fake)

    response = await post_form(client, channel, fixture("sms_text"))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml") and response.text == EMPTY_TWIML
    stored = (await eventually(lambda: messages_of(client, auth)))[0]
    assert (stored["content"], stored["content_type"]) == ("Hi, my order #1042 hasn't arrived yet", "text")
    assert stored["external_id"] == "SM1f0e9d8c7b6a59483726150f1e2d3c4b"


async def test_signatures_not_made_over_the_public_url_with_this_token_are_rejected(client, auth, fake):
    channel = await create_channel(client, auth, fake)
    path = f"/webhooks/twilio/{channel['id']}"
    pairs = fixture("sms_text")
    other_account = fixture("sms_text", AccountSid="AC" + "9" * 32)

    answers = [
        await post_form(client, channel, pairs, signature=""),  # no header
        await post_form(client, channel, pairs, signed_url=f"{INTERNAL_URL}{path}?{QUERY}"),  # the app's own URL
        await post_form(client, channel, pairs, signed_url=f"{PUBLIC_URL}{path}"),  # query left out
        await post_form(client, channel, pairs, token="0" * 32),  # another token
        await post_form(client, channel, pairs, body=urlencode(fixture("sms_text", Body="Refund me now"))),
        await post_form(client, channel, other_account),  # another account
    ]

    assert [a.status_code for a in answers] == [401] * 6
    assert all(a.headers["content-type"].startswith("application/json") for a in answers)
    logs = (await client.get("/api/v1/webhook-logs?status=rejected", headers=auth)).json()["items"]
    errors = [log["error"] for log in reversed(logs)]
    assert len(errors) == 6 and all(e.startswith("signature rejected: ") for e in errors)
    assert "missing x-twilio-signature header" in errors[0]
    assert all("does not match" in e and f"{PUBLIC_URL}{path}?{QUERY}" in e for e in errors[1:5])
    assert "not this channel's" in errors[5]
    assert await messages_of(client, auth) == []


# --- inbound ---------------------------------------------------------------------------------------------


async def test_an_mms_with_three_media_becomes_three_messages_served_to_agents_only(client, auth, fake):
    channel = await create_channel(client, auth, fake)
    sid = "MM5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
    files = [(JPEG, "image/jpeg"), (MP4, "video/mp4"), (PDF, "application/pdf")]
    urls = {}
    for index, (data, mime) in enumerate(files):
        fake.add_media(f"ME{index}", data, mime)
        urls[f"MediaUrl{index}"] = fake.media_url(sid, f"ME{index}")
    pairs = fixture("mms_three_media", **urls)

    assert (await post_form(client, channel, pairs)).status_code == 200
    assert (await post_form(client, channel, pairs)).status_code == 200  # Twilio retrying changes nothing

    async def all_stored():
        found = await messages_of(client, auth)
        return found if len(found) >= 3 and all(m["media_status"] == "stored" for m in found) else None

    stored = sorted(await eventually(all_stored), key=lambda m: m["id"])
    assert len(stored) == 3
    assert [m["content_type"] for m in stored] == ["image", "video", "file"]
    assert [m["content"] for m in stored] == ["Photos of the damage + the invoice", "", ""]
    assert [m["external_id"] for m in stored] == [sid, f"{sid}/1", f"{sid}/2"]
    for message, (data, mime) in zip(stored, files):
        assert message["media_url"] == f"/media/{message['id']}" and "twilio" not in json.dumps(message).lower()
        served = await client.get(message["media_url"], headers=auth)
        assert served.status_code == 200 and served.content == data
        assert served.headers["content-type"] == mime and served.headers["x-content-type-options"] == "nosniff"
        assert (await client.get(message["media_url"])).status_code == 401
    # basic auth to Twilio's API, which redirects to its CDN; the CDN never sees the credentials
    assert len(fake.requests_to("media")) == 3 and all(
        r.headers["authorization"].startswith("Basic ") for r in fake.requests_to("media")
    )
    assert len(fake.cdn.requests_to("cdn")) == 3
    assert all("authorization" not in r.headers for r in fake.cdn.requests_to("cdn"))
    customer = (await client.get("/api/v1/customers", headers=auth)).json()["items"]
    assert len(customer) == 1 and customer[0]["phone"] == "+12125551234"


async def test_the_same_sms_delivered_twice_is_one_message(client, auth, fake):
    channel = await create_channel(client, auth, fake)

    await post_form(client, channel, fixture("sms_text"))
    await post_form(client, channel, fixture("sms_text"))

    await eventually(lambda: _processed_logs(client, auth, 2))
    assert len(await messages_of(client, auth)) == 1


async def test_whatsapp_via_twilio_keeps_the_address_and_the_reply_goes_to_it(client, auth, fake):
    channel, conversation = await conversation_with_a_customer(client, auth, fake, whatsapp=True)

    customer = (await client.get(f"/api/v1/customers/{conversation['customer']['id']}", headers=auth)).json()
    assert customer["name"] == "Ana María" and customer["phone"] == "+15551234567"
    assert [i["external_id"] for i in customer["identities"]] == ["whatsapp:+15551234567"]
    inbound = (await messages_of(client, auth))[0]
    assert inbound["content"] == "Hola! Is 5 + 3 < 10 & café open?"

    sent = await sent_reply(client, auth, conversation, "Sí <b>_open_</b> & ready")

    form = fake.requests_to("messages")[0].form
    assert form["To"] == ["whatsapp:+15551234567"] and form["From"] == [WHATSAPP_NUMBER]
    assert form["Body"] == ["Sí <b>_open_</b> & ready"]
    assert form["StatusCallback"] == [channel["webhook_url"]]
    assert fake.requests_to("messages")[0].headers["authorization"].startswith("Basic ")
    assert sent["external_id"].startswith("SM") and len(sent["external_id"]) == 34


async def test_whatsapp_location_button_voice_and_unknown_kinds_all_arrive(client, auth, fake):
    channel = await create_channel(client, auth, fake, from_number=WHATSAPP_NUMBER)
    voice_sid = "MM9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
    fake.add_media("MEvoice", b"OggS" + b"\x00" * 80, "audio/ogg")

    for pairs in (
        fixture("whatsapp_location"),
        fixture("whatsapp_button"),
        fixture("whatsapp_voice", MediaUrl0=fake.media_url(voice_sid, "MEvoice")),
        fixture("whatsapp_unsupported"),
    ):
        assert (await post_form(client, channel, pairs)).status_code == 200

    async def four_with_voice_stored():
        found = await messages_of(client, auth)
        return found if len(found) == 4 and any(m["media_status"] == "stored" for m in found) else None

    location, button, voice, unknown = await eventually(four_with_voice_stored)
    assert location["content_type"] == "location" and location["payload"] == {
        "latitude": 37.7879277,
        "longitude": -122.4075394,
        "name": "Our store",
        "address": "1 Market St, San Francisco, CA 94105",
    }
    assert (button["content_type"], button["content"]) == ("text", "Yes, confirm")
    assert button["payload"]["reply_id"] == "confirm_order_1042"
    assert voice["content_type"] == "audio" and voice["media_mime_type"] == "audio/ogg"
    assert (await client.get(voice["media_url"], headers=auth)).content.startswith(b"OggS")
    assert unknown["content_type"] == "unsupported"
    assert unknown["payload"]["raw"]["MessageType"] == "unsupported"
    assert len(await _conversations(client, auth)) == 1  # one customer, one thread


# --- receipts --------------------------------------------------------------------------------------------


async def test_receipts_move_forward_and_a_late_sent_changes_nothing(client, auth, fake):
    channel, conversation = await conversation_with_a_customer(client, auth, fake, whatsapp=True)
    sid = (await sent_reply(client, auth, conversation))["external_id"]

    await post_status(client, channel, "status_delivered", sid)
    await eventually(lambda: _message_with_status(client, auth, conversation["id"], "delivered"))
    await post_status(client, channel, "status_sent", sid)  # arrives after "delivered"
    await eventually(lambda: _processed_logs(client, auth, 3))
    assert await _message_with_status(client, auth, conversation["id"], "delivered")

    await post_status(client, channel, "status_read_whatsapp", sid)
    read = await eventually(lambda: _message_with_status(client, auth, conversation["id"], "read"))
    assert read["delivered_at"] and read["read_at"] and read["error"] is None


async def test_receipts_arriving_together_in_reverse_end_at_read(client, auth, fake):
    channel, conversation = await conversation_with_a_customer(client, auth, fake, whatsapp=True)
    sid = (await sent_reply(client, auth, conversation))["external_id"]

    for name in ("status_read_whatsapp", "status_delivered", "status_sent", "status_queued"):
        await post_status(client, channel, name, sid)

    await eventually(lambda: _processed_logs(client, auth, 5))
    assert await _message_with_status(client, auth, conversation["id"], "read")


async def test_an_undelivered_callback_fails_the_reply_with_the_code_and_a_sentence(client, auth, fake):
    channel, conversation = await conversation_with_a_customer(client, auth, fake)
    sid = (await sent_reply(client, auth, conversation))["external_id"]

    await post_status(client, channel, "status_undelivered_30003", sid)

    failed = await eventually(lambda: _message_with_status(client, auth, conversation["id"], "failed"))
    assert failed["error"] == (
        "30003: The customer's phone is unreachable (switched off, out of coverage or unable to receive texts)"
    )


# --- sending ---------------------------------------------------------------------------------------------


async def test_a_reply_goes_out_as_plain_text_with_the_status_callback(client, auth, fake):
    channel, conversation = await conversation_with_a_customer(client, auth, fake)

    sent = await sent_reply(client, auth, conversation, "Your order <#1042> ships *today*")

    (call,) = fake.requests_to("messages")
    assert call.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert call.form == {
        "To": ["+15558675310"],
        "From": [SMS_NUMBER],
        "Body": ["Your order <#1042> ships *today*"],
        "StatusCallback": [channel["webhook_url"]],
    }
    assert sent["external_id"].startswith("SM") and sent["attempts"] == 1


async def test_an_attachment_goes_out_as_a_signed_public_link_twilio_can_fetch(client, auth, fake):
    channel, conversation = await conversation_with_a_customer(client, auth, fake)

    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/attachments",
        headers=auth,
        data={"content": "Here is the label"},
        files={"file": ("label.png", PHOTO, "image/png")},
    )
    assert response.status_code == 201, response.text
    sent = await eventually(lambda: _message_with_status(client, auth, conversation["id"], "sent"))

    form = fake.requests_to("messages")[0].form
    (link,) = form["MediaUrl"]
    assert link.startswith(f"{PUBLIC_URL}/media/public/{sent['id']}/")
    assert form["Body"] == ["Here is the label"] and form["StatusCallback"] == [channel["webhook_url"]]
    assert sent["external_id"].startswith("MM")
    path = urlsplit(link).path
    fetched = await client.get(path)  # as Twilio fetches it: no sign-in
    assert fetched.status_code == 200 and fetched.content == PHOTO
    assert fetched.headers["content-type"] == "image/png"

    tampered = path[:-1] + ("0" if path[-1] != "0" else "1")
    expired = urlsplit(media.public_link(sent["id"], seconds=-60)).path
    assert (await client.get(tampered)).status_code == 404
    assert (await client.get(expired)).status_code == 404


async def test_an_inbound_file_is_never_served_through_a_public_link(client, auth, fake):
    channel = await create_channel(client, auth, fake)
    sid = "MM5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
    fake.add_media("ME0", JPEG, "image/jpeg")
    other_media = {"MediaUrl1", "MediaUrl2", "MediaContentType1", "MediaContentType2"}
    pairs = [
        (k, v)
        for k, v in fixture("mms_three_media", NumMedia="1", MediaUrl0=fake.media_url(sid, "ME0"))
        if k not in other_media
    ]
    assert (await post_form(client, channel, pairs)).status_code == 200

    async def stored():
        found = [m for m in await messages_of(client, auth) if m["media_status"] == "stored"]
        return found[0] if found else None

    inbound = await eventually(stored)

    assert (await client.get(inbound["media_url"], headers=auth)).content == JPEG
    link = urlsplit(media.public_link(inbound["id"])).path
    assert (await client.get(link)).status_code == 404
    assert (await client.get(link, headers=auth)).status_code == 404


async def test_a_customer_who_replied_stop_fails_the_reply_in_plain_words_once(client, auth, fake):
    channel, conversation = await conversation_with_a_customer(client, auth, fake)
    fake.script.queue("messages", 400, twilio_error(21610, "Attempt to send to unsubscribed recipient"))

    await client.post(f"/api/v1/conversations/{conversation['id']}/messages", headers=auth, json={"content": "Hi"})

    failed = await eventually(lambda: _message_with_status(client, auth, conversation["id"], "failed"))
    assert failed["error"].startswith("21610: The customer replied STOP")
    assert failed["attempts"] == 1 and len(fake.requests_to("messages")) == 1
    listed = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
    assert next(c for c in listed if c["id"] == channel["id"])["problem"] is None  # the customer's choice


async def test_rate_limiting_is_retried_after_twilios_wait(client, auth, fake):
    channel, conversation = await conversation_with_a_customer(client, auth, fake)
    fake.script.queue("messages", 429, twilio_error(20429, "Too Many Requests", 429), headers={"Retry-After": "2"})

    posted = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=auth, json={"content": "Hi"}
    )
    message_id = posted.json()["id"]

    async def first_attempt_failed():
        row = await stored_message(message_id)
        return row if row.attempts == 1 and row.error else None

    waiting = await eventually(first_attempt_failed)
    assert waiting.status.value == "pending" and waiting.error.startswith("20429:")
    # CHATHUB_RETRY_BASE_SECONDS is 0.05, so only Twilio's Retry-After explains a wait of seconds
    assert utcnow() + timedelta(seconds=1) <= waiting.next_attempt_at <= utcnow() + timedelta(seconds=2.1)
    assert len(fake.requests_to("messages")) == 1

    sent = await eventually(lambda: _message_with_status(client, auth, conversation["id"], "sent"))
    assert sent["attempts"] == 2 and sent["error"] is None and len(fake.requests_to("messages")) == 2


async def test_a_rejected_auth_token_fails_the_reply_and_flags_the_channel(client, auth, fake):
    channel, conversation = await conversation_with_a_customer(client, auth, fake)
    fake.auth_token = "0" * 32  # the token was rotated in the Twilio Console

    await client.post(f"/api/v1/conversations/{conversation['id']}/messages", headers=auth, json={"content": "Hi"})

    failed = await eventually(lambda: _message_with_status(client, auth, conversation["id"], "failed"))
    assert failed["error"].startswith("20003:") and failed["attempts"] == 1
    listed = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
    assert "credentials" in next(c for c in listed if c["id"] == channel["id"])["problem"]


async def test_too_long_text_is_refused_before_sending(client, auth, fake):
    channel, conversation = await conversation_with_a_customer(client, auth, fake)

    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=auth, json={"content": "x" * 1601}
    )

    assert response.status_code == 422 and "1600" in response.text
    assert fake.requests_to("messages") == []
