"""The default simulator channel behind https (a public deployment) takes signed posts only; on http (a laptop)
the seed's unsigned curl keeps working."""

from __future__ import annotations

import json

import pytest

from chathub.services import channels
from tests.helpers.api import customer_of, message_reaches, new_sender
from tests.helpers.app import running_app
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook

# A simulator text (docs/channels/simulator.md), sent unsigned like the README's seed curl.
SEED_BODY = (
    '{"from":"+1234567890","message":"Hello","type":"text","message_id":"m1","timestamp":"2024-02-14T10:00:00Z"}'
)


async def test_on_http_the_seeds_unsigned_curl_is_accepted(client):
    response = await client.post("/webhooks/simulator", content=SEED_BODY, headers={"Content-Type": "application/json"})

    assert response.status_code == 200, response.text
    assert (await channels.get_channel(1)).webhook_secret is None


@pytest.mark.parametrize("path", ["/webhooks/simulator", "/webhooks/simulator/1"])
async def test_on_https_an_unsigned_post_is_401_saying_how_to_sign(https_public_url, client, auth, path):
    response = await client.post(path, content=SEED_BODY, headers={"Content-Type": "application/json"})

    assert response.status_code == 401, response.text
    detail = response.json()["detail"]
    for needed in (
        "X-ChatHub-Signature",
        "sha256=",
        "HMAC-SHA256",
        "raw request body",
        "webhook secret",
        "Channels page",
    ):
        assert needed in detail, detail
    conversations = await client.get("/api/v1/conversations", headers=auth)
    assert conversations.json()["items"] == []


async def test_on_https_a_post_signed_with_the_generated_secret_is_accepted(https_public_url, client, auth):
    secret = (await channels.get_channel(1)).webhook_secret
    assert secret and len(secret) >= 24

    wrong = await post_webhook(client, json.loads(SEED_BODY), secret="not-the-secret")
    signed = await post_webhook(client, json.loads(SEED_BODY), secret=secret)

    assert wrong.status_code == 401 and "does not match the body" in wrong.json()["detail"]
    assert signed.status_code == 200, signed.text
    listed = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
    assert listed[0]["has_secret"] is True


async def test_an_existing_default_channel_gets_a_secret_when_the_deployment_becomes_https(
    chathub_env, monkeypatch: pytest.MonkeyPatch
):
    async with running_app() as http:
        assert (await post_webhook(http, json.loads(SEED_BODY))).status_code == 200

    monkeypatch.setenv("CHATHUB_PUBLIC_URL", "https://chathub.example.com")
    async with running_app() as http:
        unsigned = await post_webhook(http, {**json.loads(SEED_BODY), "message_id": "m2"})
        secret = (await channels.get_channel(1)).webhook_secret
        signed = await post_webhook(http, {**json.loads(SEED_BODY), "message_id": "m3"}, secret=secret)

    assert unsigned.status_code == 401 and signed.status_code == 200


async def test_on_https_the_default_channels_secret_cannot_be_removed(https_public_url, client, auth):
    for removal in ({"webhook_secret": None}, {"webhook_secret": ""}):
        response = await client.patch("/api/v1/channels/1", json=removal, headers=auth)

        assert response.status_code == 422, response.text
        assert "keeps a webhook secret while CHATHUB_PUBLIC_URL is https" in response.json()["detail"]
    assert (await post_webhook(client, json.loads(SEED_BODY))).status_code == 401


async def test_on_https_automatic_receipts_are_signed_too(https_public_url, client, auth):
    secret = (await channels.get_channel(1)).webhook_secret
    sender = new_sender()
    assert (await post_webhook(client, {**json.loads(SEED_BODY), "from": sender}, secret=secret)).status_code == 200
    conversation = await _conversation_of(client, auth, sender)

    sent = await client.post(f"/api/v1/conversations/{conversation}/messages", json={"content": "Hi"}, headers=auth)

    assert sent.status_code == 201, sent.text
    await message_reaches(client, auth, conversation, sent.json()["id"], "read")


async def _conversation_of(client, auth, sender: str) -> int:
    async def found():
        customer = await customer_of(client, auth, sender)
        if customer is None:
            return None
        items = (
            await client.get("/api/v1/conversations", params={"customer_id": customer["id"]}, headers=auth)
        ).json()["items"]
        return items[0]["id"] if items else None

    return await eventually(found, timeout=20)
