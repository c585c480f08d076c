"""A WhatsApp Cloud API channel end to end through the running app, against a fake Graph API on 127.0.0.1:
Meta's GET handshake and signed POSTs, every kind of event in a batch becoming messages and receipts, media
fetched and served to agents only, replies (text and an uploaded file) going out, Meta's refusals reaching the
thread and the channel, the typing indicator, and a customer known on Telegram and WhatsApp merged into one."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from chathub import db
from chathub.models import Message, utcnow
from chathub.services import agents, customers, presence
from tests.fakes.telegram import TOKEN as TELEGRAM_TOKEN
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import ACCESS_TOKEN, PHONE_NUMBER_ID, FakeWhatsApp, graph_error
from tests.helpers.app import PUBLIC_URL
from tests.helpers.waiting import eventually

APP_SECRET = "3f1b6c0e9a8d7c6b5a4f3e2d1c0b9a8f"
VERIFY_TOKEN = "chathub-verify-7Qp2"
FIXTURES = Path(__file__).parent.parent / "drivers" / "fixtures"
SHEENA, SHEENA_BSUID, PABLO_BSUID = "16505551234", "US.13491208655302741918", "US.13491208655302741999"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


pytestmark = pytest.mark.usefixtures("https_public_url")


@pytest.fixture
def fake():
    with FakeWhatsApp() as server:
        yield server


@pytest.fixture
async def channel(client, auth, fake) -> dict:
    return await create_channel(client, auth, fake)


def fixture(name: str) -> bytes:
    return (FIXTURES / "whatsapp" / f"{name}.json").read_bytes()


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-hub-signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }


def envelope(*, messages: list[dict] = (), statuses: list[dict] = (), contacts: list[dict] = ()) -> bytes:
    """One POST as Meta sends it for this channel's number."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
    }
    for key, items in (("contacts", contacts), ("messages", messages), ("statuses", statuses)):
        if items:
            value[key] = list(items)
    change = {"field": "messages", "value": value}
    return json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [change]}]}
    ).encode()


def text_message(message_id: str, body: str, sender: str = SHEENA) -> dict:
    return {"from": sender, "id": message_id, "timestamp": "1749416383", "type": "text", "text": {"body": body}}


def sheena() -> dict:
    return {"profile": {"name": "Sheena Nelson"}, "wa_id": SHEENA}


def status(external_id: str, state: str, timestamp: int, **extra: Any) -> dict:
    return {"id": external_id, "status": state, "timestamp": str(timestamp), "recipient_id": SHEENA, **extra}


def only_message(name: str, **changes: Any) -> dict:
    """The single message of a fixture, with some fields changed."""
    message = copy.deepcopy(json.loads(fixture(name))["entry"][0]["changes"][0]["value"]["messages"][0])
    return {**message, **changes}


async def create_channel(client: httpx.AsyncClient, auth: dict, fake: FakeWhatsApp, **config: str) -> dict:
    response = await client.post(
        "/api/v1/channels",
        headers=auth,
        json={
            "type": "whatsapp",
            "name": "WhatsApp support",
            "config": {
                "phone_number_id": PHONE_NUMBER_ID,
                "access_token": ACCESS_TOKEN,
                "app_secret": APP_SECRET,
                "verify_token": VERIFY_TOKEN,
                "api_base_url": fake.base_url,
                **config,
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def post_event(
    client: httpx.AsyncClient, channel: dict, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(
        f"/webhooks/whatsapp/{channel['id']}", content=body, headers=signed(body) if headers is None else headers
    )


async def conversations_of(client, auth) -> list[dict]:
    return (await client.get("/api/v1/conversations", headers=auth)).json()["items"]


async def messages_of(client, auth) -> list[dict]:
    found = []
    for conversation in await conversations_of(client, auth):
        path = f"/api/v1/conversations/{conversation['id']}/messages"
        found += (await client.get(path, headers=auth)).json()["items"]
    return sorted(found, key=lambda m: m["id"])


async def customers_of(client, auth) -> list[dict]:
    return (await client.get("/api/v1/customers", headers=auth)).json()["items"]


async def n_messages(client, auth, count: int) -> list[dict] | None:
    found = await messages_of(client, auth)
    return found if len(found) >= count else None


async def outbound_of(client, auth, conversation_id: int) -> dict | None:
    items = (await client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=auth)).json()["items"]
    return next((m for m in reversed(items) if m["direction"] == "outbound"), None)


async def settled(client, auth, conversation_id: int, *states: str) -> dict | None:
    message = await outbound_of(client, auth, conversation_id)
    return message if message is not None and message["status"] in states else None


async def conversation_with_sheena(client, auth, channel) -> dict:
    await post_event(client, channel, envelope(messages=[text_message("wamid.in-1", "Hi")], contacts=[sheena()]))
    return (await eventually(lambda: conversations_of(client, auth)))[0]


async def reply(client, auth, conversation_id: int, content: str = "Hello Sheena") -> dict:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", headers=auth, json={"content": content}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def rejected_logs(client, auth) -> list[dict]:
    return (await client.get("/api/v1/webhook-logs?status=rejected", headers=auth)).json()["items"]


# --- set-up -----------------------------------------------------------------------------------------------


async def test_saving_the_channel_hides_the_secrets_and_reports_healthy(client, auth, fake, channel):
    shown = json.dumps(channel)
    assert ACCESS_TOKEN not in shown and APP_SECRET not in shown
    assert channel["webhook_url"] == f"{PUBLIC_URL}/webhooks/whatsapp/{channel['id']}"
    assert channel["config"]["verify_token"] == VERIFY_TOKEN  # pasted into Meta's dashboard, so it is shown
    assert channel["api_base_url"] == fake.base_url and channel["problem"] is None

    health = await client.get(f"/api/v1/channels/{channel['id']}/health", headers=auth)
    assert health.status_code == 200 and health.json()["ok"] is True, health.text
    assert "+1 555-078-3881" in health.json()["summary"]
    asked = fake.requests_to("phone_number")  # on saving and now
    assert asked and all(request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}" for request in asked)


async def test_a_rejected_access_token_is_flagged_on_the_channel(client, auth, fake):
    channel = await create_channel(client, auth, fake, access_token="EAAJB-revoked-token-of-last-year")

    health = (await client.get(f"/api/v1/channels/{channel['id']}/health", headers=auth)).json()

    assert health["ok"] is False and "invalid or expired" in health["summary"]
    listed = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
    assert "invalid or expired" in next(c for c in listed if c["id"] == channel["id"])["problem"]


# --- verification -----------------------------------------------------------------------------------------


async def test_the_handshake_answers_the_challenge_as_the_raw_body(client, auth, channel):
    response = await client.get(
        f"/webhooks/whatsapp/{channel['id']}",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )

    assert response.status_code == 200 and response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")
    logs = (await client.get("/api/v1/webhook-logs", headers=auth)).json()["items"]
    assert [(log["status"], log["http_status"]) for log in logs] == [("processed", 200)]
    detail = (await client.get(f"/api/v1/webhook-logs/{logs[0]['id']}", headers=auth)).json()
    assert VERIFY_TOKEN not in json.dumps(detail)


async def test_a_handshake_with_the_wrong_verify_token_is_refused_and_logged_without_it(client, auth, channel):
    response = await client.get(
        f"/webhooks/whatsapp/{channel['id']}",
        params={"hub.mode": "subscribe", "hub.verify_token": "guessed-token-123", "hub.challenge": "1158201444"},
    )
    wrong_mode = await client.get(
        f"/webhooks/whatsapp/{channel['id']}",
        params={"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )

    assert (response.status_code, wrong_mode.status_code) == (403, 403)
    assert "1158201444" not in response.text
    logs = await rejected_logs(client, auth)
    assert len(logs) == 2
    assert "verify_token does not match" in logs[1]["error"] and "hub.mode" in logs[0]["error"]
    for log in logs:
        detail = (await client.get(f"/api/v1/webhook-logs/{log['id']}", headers=auth)).json()
        assert "guessed-token-123" not in json.dumps(detail) and VERIFY_TOKEN not in json.dumps(detail)


async def test_only_a_signature_over_the_raw_body_with_the_app_secret_is_accepted(client, auth, channel):
    raw = fixture("text")  # Meta's bytes, indented as they came
    reserialised = json.dumps(json.loads(raw)).encode()

    answers = [
        (await post_event(client, channel, raw, headers={"content-type": "application/json"})).status_code,
        (await post_event(client, channel, raw, headers=signed(raw, secret="another-apps-secret"))).status_code,
        (await post_event(client, channel, reserialised, headers=signed(raw))).status_code,
    ]

    assert answers == [401, 401, 401]
    reasons = [log["error"] for log in reversed(await rejected_logs(client, auth))]
    assert "missing X-Hub-Signature-256" in reasons[0]
    assert all("X-Hub-Signature-256 does not match the body" in reason for reason in reasons[1:])
    assert all(reason.startswith("signature rejected") for reason in reasons)
    assert await messages_of(client, auth) == [] and await customers_of(client, auth) == []

    accepted = await post_event(client, channel, raw)
    assert accepted.status_code == 200
    assert (await eventually(lambda: messages_of(client, auth)))[0]["content"] == "Does it come in another color?"


# --- inbound ----------------------------------------------------------------------------------------------


async def test_a_text_makes_a_customer_with_the_profile_name_and_a_redelivery_changes_nothing(client, auth, channel):
    raw = fixture("text")
    await post_event(client, channel, raw)
    await eventually(lambda: messages_of(client, auth))
    await post_event(client, channel, raw)  # Meta retries a delivery it thinks failed
    await eventually(lambda: _all_logs_processed(client, auth, 2))

    [message] = await messages_of(client, auth)
    assert message["direction"] == "inbound" and message["content_type"] == "text"
    assert message["external_id"] == "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    [customer] = await customers_of(client, auth)
    assert (customer["name"], customer["phone"]) == ("Sheena Nelson", "+16505551234")
    # replies go to the number; the business-scoped id is kept for when WhatsApp stops sharing the number
    assert customer["identities"] == [
        {"channel_id": channel["id"], "external_id": SHEENA},
        {"channel_id": channel["id"], "external_id": SHEENA_BSUID},
    ]


async def _all_logs_processed(client, auth, count: int) -> bool:
    logs = (await client.get("/api/v1/webhook-logs", headers=auth)).json()["items"]
    return len(logs) == count and all(log["status"] == "processed" for log in logs)


async def test_an_image_is_fetched_with_the_token_and_served_to_agents_only(client, auth, fake, channel):
    fake.add_media("1003383421387256", JPEG, mime_type="image/jpeg")

    assert (await post_event(client, channel, fixture("image"))).status_code == 200
    stored = await eventually(lambda: _stored_media(client, auth))

    assert stored["content_type"] == "image" and stored["content"] == "This is the one I ordered"
    assert stored["media_url"] == f"/media/{stored['id']}"
    served = await client.get(stored["media_url"], headers=auth)
    assert served.status_code == 200 and served.content == JPEG
    assert served.headers["content-type"] == "image/jpeg"
    assert (await client.get(stored["media_url"])).status_code == 401
    assert ACCESS_TOKEN not in json.dumps(stored) and fake.base_url not in json.dumps(stored)
    [looked_up], [downloaded] = fake.requests_to("media"), fake.requests_to("download")
    assert looked_up.path == "/1003383421387256"
    assert downloaded.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"


async def _stored_media(client, auth):
    found = [m for m in await messages_of(client, auth) if m["media_status"] == "stored"]
    return found[0] if found else None


async def test_reactions_interactive_replies_and_unknown_kinds_are_all_stored(client, auth, channel):
    await post_event(client, channel, fixture("reaction"))
    await post_event(client, channel, fixture("interactive_button_reply"))
    await post_event(client, channel, fixture("interactive_list_reply"))
    await post_event(client, channel, fixture("unknown"))

    reaction, button, row, unknown = await eventually(lambda: n_messages(client, auth, 4))

    assert reaction["content_type"] == "reaction" and reaction["content"] == "👍"
    assert reaction["payload"]["emoji"] == "👍"
    assert reaction["payload"]["message_id"] == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3NDQ1NjZGMTI0M0M2RDdDMEUA"
    assert (button["content_type"], button["content"]) == ("text", "Cancel order")
    assert button["payload"]["reply_id"] == "cancel-order" and button["payload"]["kind"] == "button_reply"
    assert row["payload"]["kind"] == "list_reply" and row["payload"]["reply_id"]
    assert unknown["content_type"] == "unsupported" and unknown["payload"]["raw"]["id"] == "wamid.unknown-1"
    assert len(await conversations_of(client, auth)) == 1


async def test_several_messages_and_receipts_in_one_post_are_all_applied(client, auth, channel):
    conversation = await conversation_with_sheena(client, auth, channel)
    await reply(client, auth, conversation["id"])
    sent = await eventually(lambda: settled(client, auth, conversation["id"], "sent"))
    pablo = {"profile": {"name": "Pablo Morales"}, "wa_id": "16505554321"}

    body = envelope(
        contacts=[sheena(), pablo],
        messages=[
            text_message("wamid.batch-1", "First"),
            text_message("wamid.batch-2", "Second", sender="16505554321"),
        ],
        statuses=[
            status(sent["external_id"], "delivered", 1749416702),
            status(sent["external_id"], "read", 1749416703),
        ],
    )
    assert (await post_event(client, channel, body)).status_code == 200

    found = await eventually(lambda: n_messages(client, auth, 4))
    assert [m["content"] for m in found if m["direction"] == "inbound"] == ["Hi", "First", "Second"]
    assert sorted(c["name"] for c in await customers_of(client, auth)) == ["Pablo Morales", "Sheena Nelson"]
    read = await eventually(lambda: settled(client, auth, conversation["id"], "read"))
    assert read["delivered_at"] and read["read_at"]


async def test_messages_are_kept_when_the_same_post_has_a_receipt_for_a_message_chathub_never_sent(
    client, auth, channel
):
    """Another tool on the same number (a marketing campaign) gets its receipts posted here too."""
    await post_event(client, channel, fixture("batch"))  # Sheena and Pablo write; a receipt for wamid.out-5

    found = await eventually(lambda: n_messages(client, auth, 2))
    assert [m["content"] for m in found] == ["First", "Second"]  # not the other number's message

    async def given_up():
        logs = (await client.get("/api/v1/webhook-logs?status=failed", headers=auth)).json()["items"]
        return logs[0] if logs else None

    log = await eventually(given_up)
    assert log["attempts"] == 3 and "'wamid.out-5'" in log["error"]
    assert len(await messages_of(client, auth)) == 2  # the retries stored nothing twice


async def test_a_customer_known_only_by_a_business_scoped_id_is_matched_by_it(client, auth, fake, channel):
    await post_event(client, channel, fixture("bsuid_only"))
    await eventually(lambda: messages_of(client, auth))
    again = only_message("bsuid_only", id="wamid.bsuid-2", text={"body": "Any news?"})
    await post_event(
        client, channel, envelope(messages=[again], contacts=[{"profile": {"name": "Pablo"}, "user_id": PABLO_BSUID}])
    )

    found = await eventually(lambda: n_messages(client, auth, 2))
    [customer] = await customers_of(client, auth)
    assert customer["identities"] == [{"channel_id": channel["id"], "external_id": PABLO_BSUID}]
    assert customer["name"] == "Pablo" and customer["phone"] is None
    assert len({m["conversation_id"] for m in found}) == 1

    await reply(client, auth, found[0]["conversation_id"], "We shipped it")
    await eventually(lambda: settled(client, auth, found[0]["conversation_id"], "sent"))
    sent = fake.requests_to("messages")[0].json
    assert sent["recipient"] == PABLO_BSUID and "to" not in sent


async def test_a_customer_whose_number_is_hidden_later_is_found_by_the_business_scoped_id(client, auth, fake, channel):
    await post_event(client, channel, fixture("text"))  # Sheena writes with her number and her BSUID
    await eventually(lambda: messages_of(client, auth))
    hidden = {
        "from_user_id": SHEENA_BSUID,
        "id": "wamid.after-username",
        "timestamp": "1749416999",
        "type": "text",
        "text": {"body": "I set a username"},
    }
    await post_event(
        client,
        channel,
        envelope(
            messages=[hidden],
            contacts=[{"profile": {"name": "Sheena Nelson", "username": "@sheena"}, "user_id": SHEENA_BSUID}],
        ),
    )

    found = await eventually(lambda: n_messages(client, auth, 2))
    assert len(await customers_of(client, auth)) == 1
    assert len({m["conversation_id"] for m in found}) == 1
    await reply(client, auth, found[0]["conversation_id"], "Thanks")
    await eventually(lambda: settled(client, auth, found[0]["conversation_id"], "sent"))
    assert fake.requests_to("messages")[0].json["to"] == SHEENA


# --- receipts ---------------------------------------------------------------------------------------------


async def test_receipts_out_of_order_end_read_and_never_go_back(client, auth, channel):
    conversation = await conversation_with_sheena(client, auth, channel)
    await reply(client, auth, conversation["id"])
    external_id = (await eventually(lambda: settled(client, auth, conversation["id"], "sent")))["external_id"]

    await post_event(client, channel, envelope(statuses=[status(external_id, "read", 1750263773)]))
    await eventually(lambda: settled(client, auth, conversation["id"], "read"))
    await post_event(client, channel, envelope(statuses=[status(external_id, "delivered", 1750263772)]))
    await post_event(client, channel, envelope(statuses=[status(external_id, "sent", 1750263771)]))
    await eventually(lambda: _all_logs_processed(client, auth, 4))

    message = await outbound_of(client, auth, conversation["id"])
    assert message["status"] == "read" and message["error"] is None
    assert message["read_at"].startswith("2025-06-18T16:22:53")
    assert message["delivered_at"]


async def test_a_failed_receipt_carries_the_code_and_a_sentence(client, auth, fake, channel):
    conversation = await conversation_with_sheena(client, auth, channel)
    await reply(client, auth, conversation["id"])
    external_id = (await eventually(lambda: settled(client, auth, conversation["id"], "sent")))["external_id"]
    failed = json.loads(fixture("status_failed"))["entry"][0]["changes"][0]["value"]["statuses"][0]

    await post_event(client, channel, envelope(statuses=[{**failed, "id": external_id}]))

    message = await eventually(lambda: settled(client, auth, conversation["id"], "failed"))
    assert message["error"].startswith("131047: More than 24 hours have passed since the customer last wrote")
    assert len(fake.requests_to("messages")) == 1  # a receipt never sends again


# --- sending ----------------------------------------------------------------------------------------------


async def test_a_text_reply_goes_out_as_plain_text_to_the_customers_number(client, auth, fake, channel):
    conversation = await conversation_with_sheena(client, auth, channel)

    await reply(client, auth, conversation["id"], "Use code <b>_SAVE10_</b> *today*")

    sent = await eventually(lambda: settled(client, auth, conversation["id"], "sent"))
    [request] = fake.requests_to("messages")
    assert request.path == f"/{PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": SHEENA,
        "type": "text",
        "text": {"body": "Use code <b>_SAVE10_</b> *today*", "preview_url": False},
    }
    assert sent["external_id"].startswith("wamid.")


async def test_an_attachment_is_uploaded_to_whatsapp_then_sent_by_its_id(client, auth, fake, channel):
    conversation = await conversation_with_sheena(client, auth, channel)

    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/attachments",
        headers=auth,
        data={"content": "Here is the label"},
        files={"file": ("label.png", PHOTO, "image/png")},
    )
    assert response.status_code == 201, response.text

    sent = await eventually(lambda: settled(client, auth, conversation["id"], "sent"))
    [upload] = fake.requests_to("upload")
    assert upload.path == f"/{PHONE_NUMBER_ID}/media"
    [media_id] = fake.uploads
    assert fake.uploads[media_id].data == PHOTO and fake.uploads[media_id].type == "image/png"
    [request] = fake.requests_to("messages")
    assert request.json["to"] == SHEENA and request.json["type"] == "image"
    assert request.json["image"] == {"id": media_id, "caption": "Here is the label"}
    assert "link" not in request.json["image"]
    assert (await client.get(sent["media_url"], headers=auth)).content == PHOTO


async def test_outside_the_24_hour_window_the_reply_fails_in_plain_words_once(client, auth, fake, channel):
    conversation = await conversation_with_sheena(client, auth, channel)
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

    await reply(client, auth, conversation["id"])

    failed = await eventually(lambda: settled(client, auth, conversation["id"], "failed"))
    assert failed["error"] == (
        "131047: More than 24 hours have passed since the customer last wrote; only a "
        "template message can reach them now"
    )
    await asyncio.sleep(0.3)  # several retry periods (0.05 s) pass
    assert len(fake.requests_to("messages")) == 1
    assert (await outbound_of(client, auth, conversation["id"]))["attempts"] == 1
    listed = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
    assert next(c for c in listed if c["id"] == channel["id"])["problem"] is None  # the window, not the channel


async def test_the_rate_limit_is_retried_after_metas_wait(client, auth, fake, channel):
    conversation = await conversation_with_sheena(client, auth, channel)
    fake.script.queue(
        "messages", 400, graph_error(130429, "Rate limit hit", details="Cloud API message throughput has been reached.")
    )

    before = utcnow()
    await reply(client, auth, conversation["id"])

    waiting = await eventually(lambda: _attempted(client, auth, conversation["id"]))
    assert waiting["status"] == "pending" and waiting["error"].startswith("130429:")
    async with db.read_session() as session:
        row = await session.get(Message, waiting["id"])
    # Meta gave no Retry-After: the driver's 5 s for 130429, far above the 0.05 s backoff of these tests
    assert row.next_attempt_at >= before + timedelta(seconds=4.5)
    assert len(fake.requests_to("messages")) == 1


async def _attempted(client, auth, conversation_id):
    message = await outbound_of(client, auth, conversation_id)
    return message if message and message["attempts"] >= 1 else None


async def test_a_rate_limit_with_a_short_wait_is_sent_on_the_next_attempt(client, auth, fake, channel):
    conversation = await conversation_with_sheena(client, auth, channel)
    fake.script.queue("messages", 400, graph_error(130429, "Rate limit hit"), headers={"Retry-After": "1"})

    await reply(client, auth, conversation["id"])
    await eventually(lambda: _attempted(client, auth, conversation["id"]))
    await asyncio.sleep(0.5)
    assert len(fake.requests_to("messages")) == 1  # still waiting the second Meta asked for

    sent = await eventually(lambda: settled(client, auth, conversation["id"], "sent"), timeout=5)
    assert sent["attempts"] == 2 and sent["error"] is None
    assert len(fake.requests_to("messages")) == 2


async def test_an_expired_token_fails_the_reply_and_flags_the_channel(client, auth, fake, channel):
    conversation = await conversation_with_sheena(client, auth, channel)
    fake.access_token = "EAAJB-the-token-meta-knows-now"

    await reply(client, auth, conversation["id"])

    failed = await eventually(lambda: settled(client, auth, conversation["id"], "failed"))
    assert failed["error"].startswith("190: The access token is invalid or expired")
    listed = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
    problem = next(c for c in listed if c["id"] == channel["id"])["problem"]
    assert "credentials" in problem and "190" in problem
    await asyncio.sleep(0.3)
    assert len(fake.requests_to("messages")) == 1


async def test_too_long_text_is_refused_before_any_call(client, auth, fake, channel):
    conversation = await conversation_with_sheena(client, auth, channel)

    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=auth, json={"content": "x" * 4097}
    )

    assert response.status_code == 422 and "4096" in response.text
    assert fake.requests_to("messages") == [] and await outbound_of(client, auth, conversation["id"]) is None


# --- typing -----------------------------------------------------------------------------------------------


async def test_an_agent_typing_marks_the_last_message_read_with_the_typing_indicator_throttled(
    client, auth, fake, channel
):
    conversation = await conversation_with_sheena(client, auth, channel)
    await post_event(client, channel, fixture("interactive_button_reply"))
    await eventually(lambda: n_messages(client, auth, 2))
    [agent] = await agents.list_agents()

    presence.agent_typing(conversation["id"], agent)
    [typing] = await eventually(lambda: _requests(fake, "typing"))
    presence.agent_typing(conversation["id"], agent)  # a keystroke later
    await asyncio.sleep(0.3)

    assert typing.json == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.button-reply-1",
        "typing_indicator": {"type": "text"},
    }
    assert len(fake.requests_to("typing")) == 1 and fake.requests_to("messages") == []


async def _requests(fake: FakeWhatsApp, name: str):
    return fake.requests_to(name)


# --- one person on two channels ---------------------------------------------------------------------------


async def test_a_customer_on_telegram_and_whatsapp_merged_is_still_answered_on_each(client, auth, fake, channel):
    with FakeTelegram() as telegram:
        created = await client.post(
            "/api/v1/channels",
            headers=auth,
            json={
                "type": "telegram",
                "name": "Support bot",
                "config": {
                    "bot_token": TELEGRAM_TOKEN,
                    "secret_token": "tg-secret-1",
                    "api_base_url": telegram.base_url,
                },
            },
        )
        assert created.status_code == 201, created.text
        tg_update = json.loads((FIXTURES / "telegram" / "text.json").read_text())
        await client.post(
            f"/webhooks/telegram/{created.json()['id']}",
            content=json.dumps(tg_update),
            headers={"content-type": "application/json", "x-telegram-bot-api-secret-token": "tg-secret-1"},
        )
        await post_event(client, channel, envelope(messages=[text_message("wamid.in-1", "Hi")], contacts=[sheena()]))
        two = await eventually(lambda: _at_least(customers_of(client, auth), 2))
        on_whatsapp = next(c for c in two if c["name"] == "Sheena Nelson")
        on_telegram = next(c for c in two if c["id"] != on_whatsapp["id"])

        merged = await customers.merge_customers(keep_id=on_whatsapp["id"], duplicate_id=on_telegram["id"])

        assert [c["id"] for c in await customers_of(client, auth)] == [merged.id]
        telegram_chat = str(tg_update["message"]["chat"]["id"])
        assert sorted(i.external_id for i in merged.identities) == sorted([SHEENA, telegram_chat])
        threads = (await client.get(f"/api/v1/conversations?customer_id={merged.id}", headers=auth)).json()["items"]
        assert sorted(t["channel"]["type"] for t in threads) == ["telegram", "whatsapp"]
        for thread in threads:
            await reply(client, auth, thread["id"], f"Answer on {thread['channel']['type']}")
            await eventually(lambda: settled(client, auth, thread["id"], "sent"))

        [to_telegram] = telegram.calls_to("sendMessage")
        assert to_telegram.params["chat_id"] == telegram_chat
        assert to_telegram.params["text"] == "Answer on telegram"
        [to_whatsapp] = fake.requests_to("messages")
        assert to_whatsapp.json["to"] == SHEENA and to_whatsapp.json["text"]["body"] == "Answer on whatsapp"


async def _at_least(found, count: int):
    items = await found
    return items if len(items) >= count else None


async def test_a_number_and_its_business_scoped_id_in_one_batch_are_one_customer(client, auth, fake, channel):
    """The worker takes queued webhooks in batches: a message with only the BSUID, queued right behind the one
    that tells us whose BSUID it is, still belongs to that customer."""
    from chathub import process_state

    worker = process_state.current().workers["webhooks"]
    await worker.stop()  # both wait in the queue, then go in one batch
    await post_event(client, channel, fixture("text"))  # Sheena writes with her number and her BSUID
    hidden = {
        "from_user_id": SHEENA_BSUID,
        "id": "wamid.same-batch",
        "timestamp": "1749416999",
        "type": "text",
        "text": {"body": "It's me again"},
    }
    await post_event(
        client,
        channel,
        envelope(messages=[hidden], contacts=[{"profile": {"name": "Sheena Nelson"}, "user_id": SHEENA_BSUID}]),
    )
    worker.start()

    found = await eventually(lambda: n_messages(client, auth, 2))
    [customer] = await customers_of(client, auth)
    assert sorted(i["external_id"] for i in customer["identities"]) == sorted([SHEENA, SHEENA_BSUID])
    assert len({m["conversation_id"] for m in found}) == 1
    await reply(client, auth, found[0]["conversation_id"], "Thanks")  # as when they come one at a time:
    await eventually(lambda: settled(client, auth, found[0]["conversation_id"], "sent"))
    assert fake.requests_to("messages")[0].json["to"] == SHEENA  # the reply goes to her number
