"""The webhook-log API: agents list the log filtered by status and channel type, page through it with a
cursor, and open one entry to see its headers (secrets redacted) and the raw body."""

from __future__ import annotations

import json

from tests.helpers.intake import accepted, create_channel, get_json, items, settled_log, webhook_log
from tests.helpers.webhooks import post_webhook, seed_message

SECRET = "s3cret"


async def test_webhook_logs_need_a_signed_in_agent(client):
    for path in ("/api/v1/webhook-logs", "/api/v1/webhook-logs/1"):
        assert (await client.get(path)).status_code == 401
    assert (await client.post("/api/v1/webhook-logs/1/replay")).status_code == 401


async def test_list_shows_newest_first_with_status_and_outcome(client, auth):
    good = await accepted(client, seed_message("m1"))
    await settled_log(client, auth, good, "processed")
    bad = (await post_webhook(client, {"message": "who am I?"})).json()["webhook_log_id"]

    listed = await items(client, auth, "/api/v1/webhook-logs")

    assert [(e["id"], e["status"], e["http_status"]) for e in listed] == [
        (bad, "rejected", 400),
        (good, "processed", 200),
    ]
    assert listed[1]["message_id"] is not None and listed[1]["channel_type"] == "simulator"
    assert "'from'" in listed[0]["error"]


async def test_list_filters_by_status(client, auth):
    processed = [await accepted(client, seed_message(f"m{i}")) for i in range(2)]
    for log_id in processed:
        await settled_log(client, auth, log_id, "processed")
    rejected = (await post_webhook(client, {"message": "no sender"})).json()["webhook_log_id"]

    assert [e["id"] for e in await items(client, auth, "/api/v1/webhook-logs", status="rejected")] == [rejected]
    assert [e["id"] for e in await items(client, auth, "/api/v1/webhook-logs", status="processed")] == processed[::-1]
    assert await items(client, auth, "/api/v1/webhook-logs", status="failed") == []


async def test_list_filters_by_channel_type(client, auth):
    simulator = await accepted(client, seed_message())
    other = (await post_webhook(client, seed_message(), path="/webhooks/telegram/7")).json()["webhook_log_id"]

    assert [e["id"] for e in await items(client, auth, "/api/v1/webhook-logs", channel_type="simulator")] == [simulator]
    telegram = await items(client, auth, "/api/v1/webhook-logs", channel_type="telegram")
    assert [(e["id"], e["status"], e["http_status"]) for e in telegram] == [(other, "rejected", 404)]
    assert await items(client, auth, "/api/v1/webhook-logs", channel_type="whatsapp") == []


async def test_list_pages_with_limit_and_cursor(client, auth):
    log_ids = [await accepted(client, seed_message(f"m{i}")) for i in range(7)]

    seen, pages, cursor = [], [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = await get_json(client, auth, "/api/v1/webhook-logs", **params)
        pages.append(len(page["items"]))
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == [3, 3, 1]
    assert seen == log_ids[::-1]


async def test_list_refuses_a_cursor_it_did_not_give_out(client, auth):
    response = await client.get("/api/v1/webhook-logs", params={"cursor": "not-a-cursor"}, headers=auth)

    assert response.status_code == 422
    assert "cursor" in response.json()["detail"]


async def test_detail_shows_the_raw_body_and_redacts_secret_headers(client, auth):
    channel = await create_channel(client, auth, name="Signed simulator", webhook_secret=SECRET)
    body = json.dumps(seed_message(text="Héllo 👋"), ensure_ascii=False).encode()

    response = await post_webhook(client, None, path=f"/webhooks/simulator/{channel['id']}", raw=body, secret=SECRET)
    assert response.status_code == 200, response.text

    detail = await webhook_log(client, auth, response.json()["webhook_log_id"])
    assert detail["body"] == body.decode()
    assert detail["channel_id"] == channel["id"]
    assert detail["headers"]["x-chathub-signature"] == "[redacted]"
    assert detail["headers"]["content-type"] == "application/json"
    assert response.request.headers["x-chathub-signature"] not in json.dumps(detail)


async def test_detail_redacts_authorization_and_token_headers(client, auth):
    response = await client.post(
        "/webhooks/simulator",
        json=seed_message(),
        headers={
            "Authorization": "Bearer provider-token-123",
            "X-Telegram-Bot-Api-Secret-Token": "tg-secret-456",
            "X-Request-Id": "req-789",
        },
    )
    assert response.status_code == 200

    detail = await webhook_log(client, auth, response.json()["webhook_log_id"])
    assert detail["headers"]["authorization"] == "[redacted]"
    assert detail["headers"]["x-telegram-bot-api-secret-token"] == "[redacted]"
    assert detail["headers"]["x-request-id"] == "req-789"
    assert "provider-token-123" not in json.dumps(detail) and "tg-secret-456" not in json.dumps(detail)


async def test_detail_of_a_rejected_request_keeps_its_body_and_reason(client, auth):
    response = await post_webhook(client, None, raw=b"{not json")
    assert response.status_code == 400

    detail = await webhook_log(client, auth, response.json()["webhook_log_id"])

    assert detail["body"] == "{not json"
    assert (detail["status"], detail["http_status"]) == ("rejected", 400)
    assert detail["error"].startswith("invalid payload: body is not valid JSON")


async def test_detail_of_an_unknown_log_is_404(client, auth):
    response = await client.get("/api/v1/webhook-logs/4242", headers=auth)

    assert response.status_code == 404
    assert response.json()["detail"] == "webhook log 4242 does not exist"
