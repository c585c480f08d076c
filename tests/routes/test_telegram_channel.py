"""A Telegram channel end to end through the running app, against a fake Bot API on 127.0.0.1: set-up
registers the webhook, updates become messages (media fetched and served to agents only, edits in place),
replies go out (text and an uploaded photo), and the provider's refusals reach the thread and the channel."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import httpx
import pytest

from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.helpers.app import PUBLIC_URL
from tests.helpers.waiting import eventually

SECRET = "s3cret-Token_1"
FIXTURES = Path(__file__).parent.parent / "drivers" / "fixtures" / "telegram"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


pytestmark = pytest.mark.usefixtures("https_public_url")


@pytest.fixture
def fake():
    with FakeTelegram() as server:
        yield server


def update(name: str) -> dict:
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text()))


async def create_channel(client: httpx.AsyncClient, auth: dict, fake: FakeTelegram) -> dict:
    response = await client.post(
        "/api/v1/channels",
        headers=auth,
        json={
            "type": "telegram",
            "name": "Support bot",
            "config": {"bot_token": TOKEN, "secret_token": SECRET, "api_base_url": fake.base_url},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def post_update(
    client: httpx.AsyncClient, channel: dict, body: dict, secret: str | None = SECRET
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    return await client.post(f"/webhooks/telegram/{channel['id']}", content=json.dumps(body), headers=headers)


async def messages_of(client: httpx.AsyncClient, auth: dict) -> list[dict]:
    conversations = (await client.get("/api/v1/conversations", headers=auth)).json()["items"]
    found = []
    for conversation in conversations:
        found += (await client.get(f"/api/v1/conversations/{conversation['id']}/messages", headers=auth)).json()[
            "items"
        ]
    return found


async def test_saving_the_channel_registers_its_webhook_and_hides_the_token(client, auth, fake):
    channel = await create_channel(client, auth, fake)

    calls = fake.calls_to("setWebhook")
    assert len(calls) == 1
    assert calls[0].params["url"] == f"{PUBLIC_URL}/webhooks/telegram/{channel['id']}"
    assert calls[0].params["secret_token"] == SECRET
    assert channel["api_base_url"] == fake.base_url and channel["problem"] is None
    assert TOKEN not in json.dumps(channel) and SECRET not in json.dumps(channel)

    health = await client.get(f"/api/v1/channels/{channel['id']}/health", headers=auth)
    assert health.status_code == 200 and health.json()["ok"] is True, health.text


async def test_a_rejected_token_is_flagged_on_the_channel(client, auth, fake):
    response = await client.post(
        "/api/v1/channels",
        headers=auth,
        json={
            "type": "telegram",
            "name": "Wrong token",
            "config": {"bot_token": "999:wrong-token-wrong-token-wrong-token", "api_base_url": fake.base_url},
        },
    )

    assert response.status_code == 201
    assert "Registering the webhook failed" in response.json()["problem"]


async def test_secret_header_is_required_and_compared(client, auth, fake):
    channel = await create_channel(client, auth, fake)

    missing = await post_update(client, channel, update("text"), secret=None)
    wrong = await post_update(client, channel, update("text"), secret="not-the-secret")

    assert (missing.status_code, wrong.status_code) == (401, 401)
    logs = (await client.get("/api/v1/webhook-logs?status=rejected", headers=auth)).json()["items"]
    assert len(logs) == 2 and all("signature rejected" in log["error"] for log in logs)
    assert await messages_of(client, auth) == []


async def test_a_photo_is_fetched_and_served_to_agents_only(client, auth, fake):
    channel = await create_channel(client, auth, fake)
    fake.add_file("AgACAgIAAxkBAAIBlarge", PHOTO, file_path="photos/file_7.png")

    assert (await post_update(client, channel, update("photo_album"))).status_code == 200
    stored = await eventually(lambda: _stored_media(client, auth))

    assert stored["content_type"] == "image" and stored["content"] == "The box arrived broken"
    assert stored["media_url"] == f"/media/{stored['id']}"
    served = await client.get(stored["media_url"], headers=auth)
    assert served.status_code == 200 and served.content == PHOTO
    assert served.headers["content-type"] == "image/png" and served.headers["x-content-type-options"] == "nosniff"
    assert (await client.get(stored["media_url"])).status_code == 401
    assert TOKEN not in json.dumps(stored)
    assert fake.calls_to("getFile")[0].params["file_id"] == "AgACAgIAAxkBAAIBlarge"  # the largest size


async def _stored_media(client, auth):
    found = [m for m in await messages_of(client, auth) if m["media_status"] == "stored"]
    return found[0] if found else None


async def _edited_messages(client, auth):
    found = await messages_of(client, auth)
    return found if found and found[0]["edited_at"] else None


async def test_an_edit_changes_the_stored_message_instead_of_adding_one(client, auth, fake):
    channel = await create_channel(client, auth, fake)
    original = update("text")
    edited = update("edited_text")
    edited["edited_message"]["message_id"] = original["message"]["message_id"]

    await post_update(client, channel, original)
    await eventually(lambda: messages_of(client, auth))
    await post_update(client, channel, edited)
    await post_update(client, channel, original)  # Telegram retrying the first delivery changes nothing

    found = await eventually(lambda: _edited_messages(client, auth))
    assert len(found) == 1
    assert found[0]["content"] == edited["edited_message"]["text"]


async def test_a_message_and_its_edit_in_one_worker_batch_are_one_message_with_the_edit(client, auth, fake):
    from chathub import process_state

    channel = await create_channel(client, auth, fake)
    original = update("text")
    edited = update("edited_text")
    edited["edited_message"]["message_id"] = original["message"]["message_id"]
    worker = process_state.current().workers["webhooks"]
    await worker.stop()  # both wait in the queue, then go in one batch
    await post_update(client, channel, original)
    await post_update(client, channel, edited)
    worker.start()

    found = await eventually(lambda: _edited_messages(client, auth))
    assert len(found) == 1
    assert found[0]["content"] == edited["edited_message"]["text"]


async def test_a_reply_with_a_photo_is_uploaded_to_telegram(client, auth, fake):
    channel = await create_channel(client, auth, fake)
    await post_update(client, channel, update("text"))
    conversation = (await eventually(lambda: _conversations(client, auth)))[0]

    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/attachments",
        headers=auth,
        data={"content": "Here is the label <b>_as is_</b>"},
        files={"file": ("label.png", PHOTO, "image/png")},
    )
    assert response.status_code == 201, response.text

    sent = await eventually(lambda: _message_with_status(client, auth, conversation["id"], "sent"))
    call = fake.calls_to("sendPhoto")[0]
    assert call.params["chat_id"] == str(update("text")["message"]["chat"]["id"])
    assert call.params["caption"] == "Here is the label <b>_as is_</b>" and "parse_mode" not in call.params
    assert call.files["photo"].data == PHOTO
    assert sent["external_id"].endswith(f":{fake._next_message_id}")
    assert (await client.get(sent["media_url"], headers=auth)).content == PHOTO


async def test_a_blocked_bot_fails_the_reply_in_plain_words(client, auth, fake):
    channel = await create_channel(client, auth, fake)
    await post_update(client, channel, update("text"))
    conversation = (await eventually(lambda: _conversations(client, auth)))[0]
    fake.blocked_chats.add(str(update("text")["message"]["chat"]["id"]))

    await client.post(f"/api/v1/conversations/{conversation['id']}/messages", headers=auth, json={"content": "Hi"})

    failed = await eventually(lambda: _message_with_status(client, auth, conversation["id"], "failed"))
    assert "blocked the bot" in failed["error"]
    assert len(fake.calls_to("sendMessage")) == 1  # not retried


async def test_an_expired_token_fails_the_reply_and_flags_the_channel(client, auth, fake):
    channel = await create_channel(client, auth, fake)
    await post_update(client, channel, update("text"))
    conversation = (await eventually(lambda: _conversations(client, auth)))[0]
    fake.token = "123456:revoked"

    await client.post(f"/api/v1/conversations/{conversation['id']}/messages", headers=auth, json={"content": "Hi"})

    await eventually(lambda: _message_with_status(client, auth, conversation["id"], "failed"))
    listed = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
    assert "credentials" in next(c for c in listed if c["id"] == channel["id"])["problem"]


async def test_a_private_note_never_reaches_telegram_only_the_reply_does(client, auth, fake):
    channel = await create_channel(client, auth, fake)
    await post_update(client, channel, update("text"))
    conversation = (await eventually(lambda: _conversations(client, auth)))[0]
    url = f"/api/v1/conversations/{conversation['id']}/messages"

    note = await client.post(url, headers=auth, json={"content": "Customer sounds upset", "private": True})
    reply = await client.post(url, headers=auth, json={"content": "Sorry for the wait!"})
    assert (note.status_code, reply.status_code) == (201, 201)

    await eventually(lambda: _message_with_status(client, auth, conversation["id"], "sent"))
    messages_sent = [call for call in fake.calls if call.method.startswith("send") and call.method != "sendChatAction"]
    assert [(call.method, call.params["text"]) for call in messages_sent] == [("sendMessage", "Sorry for the wait!")]
    assert not any("upset" in str(call.params) for call in fake.calls)


async def test_too_long_text_is_refused_before_sending(client, auth, fake):
    channel = await create_channel(client, auth, fake)
    await post_update(client, channel, update("text"))
    conversation = (await eventually(lambda: _conversations(client, auth)))[0]

    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=auth, json={"content": "x" * 4097}
    )

    assert response.status_code == 422 and "4096" in response.text
    assert fake.calls_to("sendMessage") == []


async def _conversations(client, auth):
    return (await client.get("/api/v1/conversations", headers=auth)).json()["items"]


async def _message_with_status(client, auth, conversation_id, status):
    items = (await client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=auth)).json()["items"]
    return next(
        (m for m in items if m["direction"] == "outbound" and m["kind"] == "message" and m["status"] == status), None
    )
