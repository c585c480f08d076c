"""Durable webhook intake: every request is logged before it is answered, bad ones are rejected with a
reason and change nothing else, accepted ones are processed exactly once (also across a restart), and
processing failures retry, end `failed` and can be replayed."""

from __future__ import annotations

import asyncio
import json

import pytest

from chathub import db, process_state, relay
from chathub.drivers.simulator import sign
from chathub.services import webhooks
from tests.helpers.app import login, running_app
from tests.helpers.intake import (
    accepted,
    all_messages,
    create_channel,
    default_channel_id,
    inbox_sizes,
    items,
    settled_log,
    webhook_log,
)
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message

SECRET = "s3cret"


async def stop_webhook_worker() -> None:
    await process_state.current().workers["webhooks"].stop()


# ---- the happy path ----


@pytest.mark.parametrize("path", ["/webhooks/simulator", "/webhooks/simulator/{channel_id}"])
async def test_seed_webhook_creates_one_customer_one_conversation_one_message(client, auth, path):
    channel_id = await default_channel_id(client, auth)

    log_id = await accepted(client, seed_message(), path=path.format(channel_id=channel_id))

    entry = await settled_log(client, auth, log_id, "processed")
    customers = await items(client, auth, "/api/v1/customers")
    assert [(c["name"], c["phone"]) for c in customers] == [("+1234567890", "+1234567890")]
    assert customers[0]["identities"] == [{"channel_id": channel_id, "external_id": "+1234567890"}]
    [conversation] = await items(client, auth, "/api/v1/conversations")
    assert conversation["customer"]["id"] == customers[0]["id"]
    assert conversation["channel"]["id"] == channel_id
    assert (conversation["status"], conversation["unread_count"]) == ("open", 1)
    assert conversation["last_message_preview"] == "Hello, I need support!"
    [message] = await items(client, auth, f"/api/v1/conversations/{conversation['id']}/messages")
    assert (message["direction"], message["content_type"], message["status"]) == ("inbound", "text", "received")
    assert message["content"] == "Hello, I need support!"
    assert message["external_id"] == "msg_123"
    assert message["sent_at"].startswith("2024-02-14T10:00:00")
    assert entry["message_id"] == message["id"]
    assert (entry["attempts"], entry["error"], entry["http_status"]) == (1, None, 200)


async def test_customer_is_named_from_the_name_field(client, auth):
    log_id = await accepted(client, seed_message(name="Ann Example"))

    await settled_log(client, auth, log_id, "processed")
    [customer] = await items(client, auth, "/api/v1/customers")
    assert (customer["name"], customer["phone"]) == ("Ann Example", "+1234567890")
    [conversation] = await items(client, auth, "/api/v1/conversations")
    assert conversation["customer"]["name"] == "Ann Example"


async def test_signed_webhook_on_a_channel_with_a_secret_is_accepted(client, auth):
    channel = await create_channel(client, auth, name="Signed simulator", webhook_secret=SECRET)

    log_id = await accepted(client, seed_message(), path=f"/webhooks/simulator/{channel['id']}", secret=SECRET)

    await settled_log(client, auth, log_id, "processed")
    [conversation] = await items(client, auth, "/api/v1/conversations")
    assert conversation["channel"]["id"] == channel["id"]
    assert await inbox_sizes(client, auth) == (1, 1, 1)


# ---- durability of the log ----


async def test_accepted_webhook_is_logged_before_the_response(client, auth):
    await stop_webhook_worker()  # nothing but the intake itself can write the row now

    response = await post_webhook(client, seed_message())

    assert response.status_code == 200
    entry = await webhook_log(client, auth, response.json()["webhook_log_id"])  # no waiting: it is already there
    assert (entry["status"], entry["http_status"], entry["attempts"]) == ("received", 200, 0)
    assert entry["body"] == response.request.content.decode()
    assert await inbox_sizes(client, auth) == (0, 0, 0)


async def test_each_answer_names_its_own_webhooks_log_row_which_exists_as_soon_as_it_returns(client, auth):
    """Many at once: their log rows are written together (one statement), and each answer names its own."""
    messages = [seed_message(f"m{i}", sender=f"+1555{i:04d}", text=f"message {i} {'x' * i}") for i in range(60)]
    responses = await asyncio.gather(*(post_webhook(client, message) for message in messages))

    for response in responses:
        assert response.status_code == 200
        entry = await webhook_log(client, auth, response.json()["webhook_log_id"])
        assert entry["status"] in ("received", "processed")
        assert entry["body"] == response.request.content.decode()


# ---- bad input: 4xx, logged `rejected` with the reason, nothing else changes ----

LIMIT = 1024 * 1024  # CHATHUB_MAX_WEBHOOK_BYTES by default
TOO_LARGE = LIMIT + 1

BAD_REQUESTS = [
    # (id, path, raw body, status, words in the reason)
    ("malformed-json", "/webhooks/simulator", b'{"from": "+1234567890", "message": ', 400, "not valid JSON"),
    ("not-an-object", "/webhooks/simulator", b'["hello"]', 400, "must be a JSON object"),
    ("not-utf8", "/webhooks/simulator", b'\xff\xfe{"from": 1}', 400, "not valid JSON"),
    ("empty-body", "/webhooks/simulator", b"", 400, "not valid JSON"),
    ("no-from", "/webhooks/simulator", {"message": "hi", "type": "text", "message_id": "m1"}, 400, "'from'"),
    ("blank-from", "/webhooks/simulator", seed_message(sender="  "), 400, "'from'"),
    (
        "no-message-id",
        "/webhooks/simulator",
        {"from": "+1234567890", "message": "hi", "type": "text"},
        400,
        "'message_id'",
    ),
    (
        "text-without-message",
        "/webhooks/simulator",
        {"from": "+1234567890", "type": "text", "message_id": "m1"},
        400,
        "'message'",
    ),
    ("bad-timestamp", "/webhooks/simulator", seed_message(timestamp="yesterday at noon"), 400, "timestamp"),
    (
        "location-without-coordinates",
        "/webhooks/simulator",
        {"from": "+1234567890", "type": "location", "message_id": "m1"},
        400,
        "latitude",
    ),
    (
        "location-out-of-range",
        "/webhooks/simulator",
        {"from": "+1234567890", "type": "location", "message_id": "m1", "latitude": 91, "longitude": 0},
        400,
        "out of range",
    ),
    (
        "image-without-url",
        "/webhooks/simulator",
        {"from": "+1234567890", "type": "image", "message_id": "m1"},
        400,
        "'media_url'",
    ),
    (
        "contact-without-name",
        "/webhooks/simulator",
        {"from": "+1234567890", "type": "contact", "message_id": "m1", "contact": {"phone": "+1"}},
        400,
        "contact",
    ),
    (
        "status-unknown-value",
        "/webhooks/simulator",
        {"type": "status", "message_id": "x", "status": "lost"},
        400,
        "status must be one of",
    ),
    ("status-without-message-id", "/webhooks/simulator", {"type": "status", "status": "read"}, 400, "'message_id'"),
    ("too-large", "/webhooks/simulator", seed_message(text="x" * TOO_LARGE), 413, "larger than 1048576 bytes"),
    ("unknown-channel-id", "/webhooks/simulator/999", seed_message(), 404, "simulator channel 999 does not exist"),
    ("non-numeric-channel-id", "/webhooks/simulator/abc", seed_message(), 404, "does not exist"),
    ("huge-channel-id", "/webhooks/simulator/99999999999999999999999", seed_message(), 404, "does not exist"),
    ("digit-like-channel-id", "/webhooks/simulator/%C2%B2", seed_message(), 404, "does not exist"),
    ("negative-channel-id", "/webhooks/simulator/-1", seed_message(), 404, "does not exist"),
    ("unknown-channel-type", "/webhooks/carrier-pigeon/1", seed_message(), 404, "does not exist"),
    ("type-without-driver", "/webhooks/telegram/1", seed_message(), 404, "does not exist"),
    ("type-of-another-channel", "/webhooks/whatsapp/1", seed_message(), 404, "does not exist"),
]


@pytest.mark.parametrize(
    "path, body, status, reason", [case[1:] for case in BAD_REQUESTS], ids=[case[0] for case in BAD_REQUESTS]
)
async def test_bad_request_is_rejected_logged_and_changes_nothing(client, auth, path, body, status, reason):
    raw = body if isinstance(body, bytes) else None

    response = await post_webhook(client, body, path=path, raw=raw)

    assert response.status_code == status, response.text
    assert reason in response.json()["detail"]
    entry = await webhook_log(client, auth, response.json()["webhook_log_id"])
    assert (entry["status"], entry["http_status"]) == ("rejected", status)
    assert entry["error"] == response.json()["detail"]
    assert entry["processed_at"] is not None and entry["message_id"] is None
    assert [e["id"] for e in await items(client, auth, "/api/v1/webhook-logs")] == [entry["id"]]
    assert await inbox_sizes(client, auth) == (0, 0, 0)


async def test_oversize_body_keeps_only_its_beginning_in_the_log(client, auth):
    response = await post_webhook(client, seed_message(text="x" * TOO_LARGE))

    assert response.status_code == 413
    entry = await webhook_log(client, auth, response.json()["webhook_log_id"])
    assert entry["body"].startswith('{"from": "+1234567890"')
    assert len(entry["body"]) == 4096


async def test_body_of_exactly_the_limit_is_accepted(client, auth):
    payload = seed_message(text="")
    payload["message"] = "x" * (LIMIT - len(json.dumps(payload).encode()))
    body = json.dumps(payload).encode()
    assert len(body) == LIMIT

    log_id = await accepted(client, None, raw=body)

    await settled_log(client, auth, log_id, "processed")
    [conversation] = await items(client, auth, "/api/v1/conversations")
    assert conversation["last_message_preview"] == "x" * 120


@pytest.mark.parametrize(
    "signature, reason", [(None, "missing x-chathub-signature"), ("wrong-secret", "does not match the body")]
)
async def test_bad_signature_is_rejected_with_401_and_changes_nothing(client, auth, signature, reason):
    channel = await create_channel(client, auth, name="Signed simulator", webhook_secret=SECRET)

    response = await post_webhook(client, seed_message(), path=f"/webhooks/simulator/{channel['id']}", secret=signature)

    assert response.status_code == 401
    entry = await webhook_log(client, auth, response.json()["webhook_log_id"])
    assert (entry["status"], entry["http_status"], entry["channel_id"]) == ("rejected", 401, channel["id"])
    assert reason in entry["error"]
    assert await inbox_sizes(client, auth) == (0, 0, 0)


async def test_signature_of_another_body_is_rejected(client, auth):
    channel = await create_channel(client, auth, name="Signed simulator", webhook_secret=SECRET)
    signed_for = sign(SECRET, b'{"other": "body"}')

    response = await client.post(
        f"/webhooks/simulator/{channel['id']}", json=seed_message(), headers={"x-chathub-signature": signed_for}
    )

    assert response.status_code == 401
    assert await inbox_sizes(client, auth) == (0, 0, 0)


async def test_disabled_channel_answers_404_until_enabled_again(client, auth):
    channel_id = await default_channel_id(client, auth)
    patched = await client.patch(f"/api/v1/channels/{channel_id}", json={"enabled": False}, headers=auth)
    assert patched.status_code == 200, patched.text

    for path in ("/webhooks/simulator", f"/webhooks/simulator/{channel_id}"):
        response = await post_webhook(client, seed_message(), path=path)
        assert response.status_code == 404
        entry = await webhook_log(client, auth, response.json()["webhook_log_id"])
        assert (entry["status"], entry["http_status"]) == ("rejected", 404)
        assert "is disabled" in entry["error"]
    assert await inbox_sizes(client, auth) == (0, 0, 0)

    await client.patch(f"/api/v1/channels/{channel_id}", json={"enabled": True}, headers=auth)
    log_id = await accepted(client, seed_message())
    await settled_log(client, auth, log_id, "processed")
    assert await inbox_sizes(client, auth) == (1, 1, 1)


# ---- duplicates and races ----


async def test_redelivered_webhook_creates_no_second_message(client, auth):
    first = await accepted(client, seed_message("dup-1"))
    first_entry = await settled_log(client, auth, first, "processed")

    second = await accepted(client, seed_message("dup-1"))

    second_entry = await settled_log(client, auth, second, "processed")
    assert first != second
    assert second_entry["message_id"] == first_entry["message_id"]
    [conversation] = await items(client, auth, "/api/v1/conversations")
    assert conversation["unread_count"] == 1
    assert [m["external_id"] for m in await all_messages(client, auth)] == ["dup-1"]


async def test_same_webhook_delivered_concurrently_is_stored_once(client, auth):
    responses = await asyncio.gather(*(post_webhook(client, seed_message("dup-2")) for _ in range(5)))

    assert [r.status_code for r in responses] == [200] * 5
    for response in responses:
        await settled_log(client, auth, response.json()["webhook_log_id"], "processed")
    assert len(await items(client, auth, "/api/v1/webhook-logs")) == 5
    assert await inbox_sizes(client, auth) == (1, 1, 1)
    [conversation] = await items(client, auth, "/api/v1/conversations")
    assert conversation["unread_count"] == 1


async def test_fifty_concurrent_first_messages_make_one_customer_and_one_conversation(client, auth):
    responses = await asyncio.gather(
        *(post_webhook(client, seed_message(f"burst-{i}", text=f"message {i}")) for i in range(50))
    )

    assert [r.status_code for r in responses] == [200] * 50
    for response in responses:
        await settled_log(client, auth, response.json()["webhook_log_id"], "processed")
    assert len(await items(client, auth, "/api/v1/customers")) == 1
    [conversation] = await items(client, auth, "/api/v1/conversations")
    assert conversation["unread_count"] == 50
    messages = await items(client, auth, f"/api/v1/conversations/{conversation['id']}/messages")
    assert sorted(m["external_id"] for m in messages) == sorted(f"burst-{i}" for i in range(50))


async def test_many_customers_writing_at_once_each_get_one_customer_and_one_conversation(client, auth):
    posts = [
        post_webhook(client, seed_message(f"crowd-{who}-{n}", sender=f"+1555{who:04d}", text=f"hi {n}"))
        for n in range(3)
        for who in range(40)
    ]
    responses = await asyncio.gather(*posts)

    assert {r.status_code for r in responses} == {200}
    for response in responses:
        await settled_log(client, auth, response.json()["webhook_log_id"], "processed")
    customers = await items(client, auth, "/api/v1/customers?limit=100")
    conversations = await items(client, auth, "/api/v1/conversations?limit=100")
    assert len(customers) == 40 and len({c["name"] for c in customers}) == 40
    assert len(conversations) == 40 and {c["unread_count"] for c in conversations} == {3}


async def test_webhooks_waiting_together_are_processed_in_one_batch_with_exact_counts(client, auth, caplog):
    """Twenty senders, new and returning, three messages each, taken by the worker at once: the batch's own
    statements (one insert of messages, one update of the logs, the conversations' counts and last message) store
    them all, with no fall back to one webhook at a time (a batch that fails is done again one by one, many times
    slower, so a broken batch statement would otherwise go unnoticed)."""
    returning = await accepted(client, seed_message("batch-returning", sender="+15550300", text="earlier"))
    await settled_log(client, auth, returning, "processed")
    worker = process_state.current().workers["webhooks"]
    await worker.stop()
    log_ids = [
        await accepted(client, seed_message(f"batch-{who}-{n}", sender=f"+155503{who:02d}", text=f"msg {who}-{n}"))
        for n in range(3)
        for who in range(20)
    ]
    caplog.set_level("INFO", logger="chathub.services.webhooks")
    worker.start()
    for log_id in log_ids:
        await settled_log(client, auth, log_id, "processed")

    assert not [r.message for r in caplog.records if "one by one" in r.message]
    conversations = await items(client, auth, "/api/v1/conversations?limit=100")
    assert len(conversations) == 20
    assert sorted(c["unread_count"] for c in conversations) == [3] * 19 + [4]
    assert {c["last_message_preview"] for c in conversations} == {f"msg {who}-2" for who in range(20)}


async def test_messages_read_in_the_customers_order_when_their_webhooks_arrive_out_of_order(client, auth):
    sent = ["2024-02-14T10:00:03Z", "2024-02-14T10:00:01Z", "2024-02-14T10:00:02Z"]
    for n, timestamp in enumerate(sent):  # the provider delivered them late and shuffled
        await accepted(client, seed_message(f"late-{n}", text=f"sent at {timestamp}", timestamp=timestamp))
    await accepted(client, seed_message("undated", text="no provider time", timestamp=None))
    for log in await items(client, auth, "/api/v1/webhook-logs"):
        await settled_log(client, auth, log["id"], "processed")

    [conversation] = await items(client, auth, "/api/v1/conversations")
    messages = await items(client, auth, f"/api/v1/conversations/{conversation['id']}/messages")
    assert [m["content"] for m in messages] == [f"sent at {t}" for t in sorted(sent)] + ["no provider time"]
    older = (await client.get(f"/api/v1/conversations/{conversation['id']}/messages?limit=2", headers=auth)).json()
    rest = (
        await client.get(
            f"/api/v1/conversations/{conversation['id']}/messages?limit=2&cursor={older['next_cursor']}", headers=auth
        )
    ).json()
    assert [m["content"] for m in rest["items"] + older["items"]] == [m["content"] for m in messages]


# ---- restart ----


async def test_webhooks_left_unprocessed_at_shutdown_are_processed_once_after_restart():
    async with running_app() as client:
        auth = await login(client)
        await stop_webhook_worker()
        log_ids = [await accepted(client, seed_message(f"left-{i}", text=f"left {i}")) for i in range(3)]
        assert [(await webhook_log(client, auth, i))["status"] for i in log_ids] == ["received"] * 3

    async with running_app() as client:
        auth = await login(client)
        for log_id in log_ids:
            entry = await settled_log(client, auth, log_id, "processed")
            assert entry["attempts"] == 1
        [conversation] = await items(client, auth, "/api/v1/conversations")
        assert conversation["unread_count"] == 3
        assert sorted(m["external_id"] for m in await all_messages(client, auth)) == ["left-0", "left-1", "left-2"]

    async with running_app() as client:  # a further restart finds nothing left to do
        auth = await login(client)
        assert [(await webhook_log(client, auth, i))["attempts"] for i in log_ids] == [1, 1, 1]
        assert await inbox_sizes(client, auth) == (1, 1, 3)


async def test_webhook_mid_retry_at_shutdown_resumes_its_attempts_after_restart(monkeypatch):
    monkeypatch.setenv("CHATHUB_RETRY_BASE_SECONDS", "1")
    async with running_app() as client:
        auth = await login(client)
        log_id = await accepted(client, {"type": "status", "message_id": "sim-unknown", "status": "delivered"})

        async def first_attempt_failed():
            entry = await webhook_log(client, auth, log_id)
            return entry if entry["attempts"] >= 1 else None

        await eventually(first_attempt_failed)
        await stop_webhook_worker()
        entry = await webhook_log(client, auth, log_id)
        assert entry["status"] == "received" and entry["attempts"] < 3

    monkeypatch.setenv("CHATHUB_RETRY_BASE_SECONDS", "0.05")
    async with running_app() as client:
        auth = await login(client)
        entry = await settled_log(client, auth, log_id, "failed")
        assert entry["attempts"] == 3
        assert "sim-unknown" in entry["error"]


# ---- processing failures, retries and replay ----


async def test_receipt_for_unknown_message_is_retried_then_failed_with_a_readable_error(client, auth):
    log_id = await accepted(client, {"type": "status", "message_id": "sim-nowhere", "status": "delivered"})

    entry = await settled_log(client, auth, log_id, "failed")

    assert entry["attempts"] == 3
    assert entry["http_status"] == 200
    assert entry["error"] == "UnknownMessage: no outbound message with external id 'sim-nowhere' on this channel"
    assert entry["processed_at"] is not None


async def test_a_webhook_that_breaks_its_batch_fails_alone_and_the_rest_are_stored_once(client, auth, monkeypatch):
    """The worker takes queued webhooks in batches; when one breaks the batch, the batch is undone and done
    again one webhook at a time: the others are stored once each, the bad one fails on its own."""
    from chathub.services import inbound
    from chathub.services import webhooks as webhook_service

    store = inbound.apply_inbound_events

    async def refusing_one(session, channel, events, lookups=None):
        if any(getattr(event, "content", "") == "break the batch" for event in events):
            raise RuntimeError("the database said no")
        return await store(session, channel, events, lookups=lookups)

    monkeypatch.setattr(inbound, "apply_inbound_events", refusing_one)  # the batch
    monkeypatch.setattr(webhook_service, "apply_inbound_events", refusing_one)  # one by one
    # the bad one's own retry waits past the test, so its single attempt is what is read below
    monkeypatch.setattr(process_state.current().settings, "retry_base_seconds", 600)
    worker = process_state.current().workers["webhooks"]
    await worker.stop()  # all of them wait in the queue, then go in one batch
    good = [
        await accepted(client, seed_message(f"batch-{n}", sender=f"+1555010{n}", text=f"Hello {n}")) for n in range(4)
    ]
    bad = await accepted(client, seed_message("batch-bad", sender="+15550109", text="break the batch"))
    good.append(await accepted(client, seed_message("batch-4", sender="+15550101", text="Hello again")))
    worker.start()

    for log_id in good:
        entry = await settled_log(client, auth, log_id, "processed")
        assert entry["attempts"] == 1 and entry["error"] is None
    entry = await webhook_log(client, auth, bad)
    assert (entry["status"], entry["attempts"]) == ("received", 1)  # failed alone, waiting for its backoff
    assert entry["error"] == "RuntimeError: the database said no"
    stored = sorted(m["external_id"] for m in await all_messages(client, auth))
    assert stored == ["batch-0", "batch-1", "batch-2", "batch-3", "batch-4"]
    assert len(await items(client, auth, "/api/v1/customers")) == 4


async def test_failed_processing_waits_for_its_backoff_before_the_next_attempt(monkeypatch):
    monkeypatch.setenv("CHATHUB_RETRY_BASE_SECONDS", "600")
    async with running_app() as client:
        auth = await login(client)
        failing = await accepted(client, {"type": "status", "message_id": "sim-nowhere", "status": "read"})

        async def first_attempt_failed():
            entry = await webhook_log(client, auth, failing)
            return entry if entry["attempts"] == 1 else None

        entry = await eventually(first_attempt_failed)
        assert entry["status"] == "received" and "sim-nowhere" in entry["error"]

        later = await accepted(client, seed_message("after-the-failure"))
        await settled_log(client, auth, later, "processed")  # the worker has run again since ...

        entry = await webhook_log(client, auth, failing)  # ... and left the failed one to its backoff
        assert (entry["status"], entry["attempts"]) == ("received", 1)
        replay = await client.post(f"/api/v1/webhook-logs/{failing}/replay", headers=auth)
        assert replay.status_code == 409  # still queued: nothing to replay


async def test_replay_queues_a_failed_webhook_again(client, auth):
    log_id = await accepted(client, {"type": "status", "message_id": "sim-nowhere", "status": "delivered"})
    failed = await settled_log(client, auth, log_id, "failed")

    response = await client.post(f"/api/v1/webhook-logs/{log_id}/replay", headers=auth)

    assert response.status_code == 200, response.text
    queued = response.json()
    assert (queued["id"], queued["status"], queued["attempts"], queued["error"]) == (log_id, "received", 0, None)
    again = await settled_log(client, auth, log_id, "failed")
    assert again["attempts"] == 3
    assert again["processed_at"] > failed["processed_at"]


async def test_replay_of_a_processed_webhook_creates_no_duplicate_message(client, auth):
    log_id = await accepted(client, seed_message("replayed"))
    first = await settled_log(client, auth, log_id, "processed")

    response = await client.post(f"/api/v1/webhook-logs/{log_id}/replay", headers=auth)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "received"
    again = await settled_log(client, auth, log_id, "processed")
    assert again["message_id"] == first["message_id"]
    assert again["processed_at"] > first["processed_at"]
    assert await inbox_sizes(client, auth) == (1, 1, 1)
    [conversation] = await items(client, auth, "/api/v1/conversations")
    assert conversation["unread_count"] == 1


async def test_replay_of_a_rejected_webhook_is_refused(client, auth):
    response = await post_webhook(client, {"message": "no sender"})
    assert response.status_code == 400
    log_id = response.json()["webhook_log_id"]

    replay = await client.post(f"/api/v1/webhook-logs/{log_id}/replay", headers=auth)

    assert replay.status_code == 409
    assert "rejected" in replay.json()["detail"]
    assert (await webhook_log(client, auth, log_id))["status"] == "rejected"
    assert await inbox_sizes(client, auth) == (0, 0, 0)


async def test_replay_of_an_unknown_webhook_log_is_404(client, auth):
    response = await client.post("/api/v1/webhook-logs/4242/replay", headers=auth)

    assert response.status_code == 404


async def test_a_message_holding_a_nul_character_is_kept_on_every_database(client, auth):
    """PostgreSQL's text cannot hold U+0000: there the customer's message is stored with U+FFFD in its place."""
    response = await post_webhook(client, seed_message(text="before \u0000 after"))
    assert response.status_code == 200, response.text

    async def preview():
        conversations = await items(client, auth, "/api/v1/conversations")
        return conversations[0]["last_message_preview"] if conversations else None

    assert await eventually(preview, timeout=10) in ("before \u0000 after", "before \ufffd after")
    raw = await post_webhook(client, None, raw=b'{"from": "+15550100", "message": "a\x00b"}')
    assert raw.status_code == 400, raw.text  # a raw NUL is no JSON: refused and logged, never a 500


async def stopped_worker_with_backlog(monkeypatch, size: int, *, wait_seconds: float):
    """The webhook worker, stopped, behind a backlog of `size` webhooks that waits up to `wait_seconds` for room."""
    settings = process_state.current().settings
    monkeypatch.setattr(settings, "webhook_backlog", size)
    monkeypatch.setattr(settings, "webhook_backlog_wait_seconds", wait_seconds)
    worker = process_state.current().workers["webhooks"]
    await worker.stop()
    return worker


async def test_when_the_backlog_is_full_a_webhook_is_answered_once_the_worker_catches_up(client, auth, monkeypatch):
    """A burst is acknowledged at the pace it is processed: past the backlog, intake waits for the worker."""
    worker = await stopped_worker_with_backlog(monkeypatch, 3, wait_seconds=60)
    first = [await accepted(client, seed_message(f"backlog-{n}", sender=f"+1555020{n}")) for n in range(3)]
    fourth = asyncio.create_task(accepted(client, seed_message("backlog-3", sender="+15550203")))
    await asyncio.sleep(0.5)
    assert not fourth.done()  # not logged, not answered: the provider still holds it
    assert len(await items(client, auth, "/api/v1/webhook-logs")) == 3

    worker.start()
    for log_id in [*first, await fourth]:
        await settled_log(client, auth, log_id, "processed")
    stored = sorted(m["external_id"] for m in await all_messages(client, auth))
    assert stored == ["backlog-0", "backlog-1", "backlog-2", "backlog-3"]


async def test_a_webhook_waiting_for_room_is_answered_once_the_worker_takes_a_batch_before_that_batch_is_stored(
    client, auth, monkeypatch
):
    """On PostgreSQL room opens when the worker claims logs: a batch may wait for another instance's first."""
    if db.is_sqlite():
        pytest.skip("on SQLite the batch holds the one writer: a webhook is logged once the batch is stored")
    worker = await stopped_worker_with_backlog(monkeypatch, 2, wait_seconds=60)
    gate, storing = asyncio.Event(), asyncio.Event()
    apply_batch = webhooks.apply_inbound_batch

    async def held_batch(session, batch):
        storing.set()
        await gate.wait()
        return await apply_batch(session, batch)

    monkeypatch.setattr(webhooks, "apply_inbound_batch", held_batch)
    first = [await accepted(client, seed_message(f"room-{n}", sender=f"+1555060{n}")) for n in range(2)]
    third = asyncio.create_task(accepted(client, seed_message("room-2", sender="+15550602")))
    await asyncio.sleep(0.3)
    assert not third.done()
    worker.start()
    await asyncio.wait_for(storing.wait(), 10)
    third_id = await asyncio.wait_for(third, 10)  # answered while the batch that made room is still being stored
    assert [m["external_id"] for m in await all_messages(client, auth)] == []
    gate.set()
    for log_id in [*first, third_id]:
        await settled_log(client, auth, log_id, "processed")
    assert sorted(m["external_id"] for m in await all_messages(client, auth)) == ["room-0", "room-1", "room-2"]


async def test_a_webhook_waiting_for_room_is_let_in_when_another_instances_worker_claims_one_acknowledged_here(
    client, auth, monkeypatch
):
    """With two instances, either worker may take the webhooks one acknowledged: it tells the others at once."""
    if db.is_sqlite():
        pytest.skip("one instance on SQLite")
    worker = await stopped_worker_with_backlog(monkeypatch, 1, wait_seconds=60)
    first = await accepted(client, seed_message("elsewhere-0", sender="+15550610"))
    second = asyncio.create_task(accepted(client, seed_message("elsewhere-1", sender="+15550611")))
    await asyncio.sleep(0.3)
    with monkeypatch.context() as other_instance:
        other_instance.setattr(relay, "instance_id", lambda: "another-instance")
        await webhooks._tell_other_instances_claimed([first - 5, first + 1000])  # not this one: no room
        await asyncio.sleep(0.3)
        assert not second.done()
        await webhooks._tell_other_instances_claimed([first - 1, first])
    second_id = await asyncio.wait_for(second, 10)
    worker.start()
    for log_id in (first, second_id):
        await settled_log(client, auth, log_id, "processed")
    assert sorted(m["external_id"] for m in await all_messages(client, auth)) == ["elsewhere-0", "elsewhere-1"]


async def test_a_webhook_that_waited_its_longest_for_a_full_backlog_is_logged_and_answered_anyway(
    client, auth, monkeypatch
):
    worker = await stopped_worker_with_backlog(monkeypatch, 1, wait_seconds=0.2)
    waited = [await accepted(client, seed_message(f"patient-{n}", sender="+15550301")) for n in range(2)]
    worker.start()
    for log_id in waited:
        await settled_log(client, auth, log_id, "processed")
    assert sorted(m["external_id"] for m in await all_messages(client, auth)) == ["patient-0", "patient-1"]


async def test_with_no_tab_open_the_shared_unread_total_still_counts_a_new_customer_message(client, auth):
    """No conversation payload is built when no tab listens; the unread total (the tab titles' count) still
    hears that something changed."""
    from chathub.services import conversations

    before = await conversations.shared_unread_total()
    await settled_log(
        client, auth, await accepted(client, seed_message("unread-total", sender="+15550401")), "processed"
    )

    async def counted():
        return await conversations.shared_unread_total() == before + 1

    await eventually(counted)
