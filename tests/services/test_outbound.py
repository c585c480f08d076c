"""The outbound flow through the real app: an agent's reply is checked, stored pending, sent by the worker
through the simulator driver, confirmed by receipts, retried on failure and never sent twice."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from chathub import db, process_state
from chathub.models import Message, MessageStatus, utcnow
from chathub.services import outbound
from chathub.services.outbound import _after_retryable
from tests.helpers.api import (
    WAIT_SECONDS,
    configure_simulator,
    customer_writes,
    delivered_to,
    list_messages,
    message,
    message_reaches,
    new_sender,
)
from tests.helpers.app import login, running_app
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook

AFTER_SENT = ("sent", "delivered", "read")


async def reply(client, auth, conversation_id: int, content: str = "We are on it", **body):
    return await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"content": content, **body}, headers=auth
    )


async def queued_while_the_worker_is_stopped(client, auth):
    """A customer's conversation and a reply queued to it that the (stopped) outbound worker has not seen."""
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender)
    worker = process_state.current().workers["outbound"]
    await worker.stop()
    created = (await reply(client, auth, conversation["id"])).json()
    return sender, conversation, created, worker


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# ---- the happy path ----


async def test_reply_is_stored_pending_then_sent_delivered_and_read(client, auth):
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender, text="Where is my order?")
    assert conversation["unread_count"] == 1

    response = await reply(client, auth, conversation["id"], "It ships today")
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "pending"
    assert created["direction"] == "outbound"
    assert created["external_id"] is None
    assert created["attempts"] == 0

    sent = await message_reaches(client, auth, conversation["id"], created["id"], *AFTER_SENT)
    entries = delivered_to(sender)
    assert [(e.content, e.external_id) for e in entries] == [("It ships today", sent["external_id"])]
    assert sent["sent_at"] is not None and sent["attempts"] == 1 and sent["error"] is None

    read = await message_reaches(client, auth, conversation["id"], created["id"], "read")
    assert read["external_id"] == sent["external_id"]
    assert at(read["sent_at"]) <= at(read["delivered_at"]) <= at(read["read_at"])
    assert len(delivered_to(sender)) == 1

    after = (await client.get(f"/api/v1/conversations/{conversation['id']}", headers=auth)).json()
    assert after["last_message_preview"] == "It ships today"
    assert after["unread_count"] == 0  # answering reads the conversation


async def test_reply_stays_sent_until_the_provider_reports_delivery_and_read(client, auth):
    await configure_simulator(client, auth, auto_receipts=False)
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender)
    created = (await reply(client, auth, conversation["id"])).json()

    sent = await message_reaches(client, auth, conversation["id"], created["id"], *AFTER_SENT)
    assert sent["status"] == "sent"
    assert sent["delivered_at"] is None and sent["read_at"] is None

    receipt = {"type": "status", "message_id": sent["external_id"], "status": "delivered"}
    assert (await post_webhook(client, receipt)).status_code == 200
    delivered = await message_reaches(client, auth, conversation["id"], created["id"], "delivered", "read")
    assert delivered["status"] == "delivered" and delivered["delivered_at"] is not None

    assert (await post_webhook(client, {**receipt, "status": "read"})).status_code == 200
    read = await message_reaches(client, auth, conversation["id"], created["id"], "read")
    assert read["read_at"] is not None

    assert (await post_webhook(client, receipt)).status_code == 200  # a late "delivered" does not go back
    await eventually(lambda: _webhooks_idle(client), timeout=WAIT_SECONDS)
    assert (await message(client, auth, conversation["id"], created["id"]))["status"] == "read"


async def _webhooks_idle(client) -> bool:
    return (await client.get("/healthz")).json()["webhooks_waiting"] == 0


# ---- what the channel cannot send ----


async def test_replies_the_channel_cannot_send_are_refused_and_not_stored(client, auth):
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender)
    before = await list_messages(client, auth, conversation["id"])

    cases = [
        ({"content": ""}, "the message is empty"),
        ({"content": "   \n "}, "the message is empty"),
        ({"content": "x" * 4097}, "the message has 4097 characters; simulator allows 4096"),
        ({"content": "hi", "content_type": "unsupported"}, "simulator channels cannot send unsupported messages"),
    ]
    for body, detail in cases:
        response = await client.post(f"/api/v1/conversations/{conversation['id']}/messages", json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        assert response.json() == {"detail": detail}

    assert await list_messages(client, auth, conversation["id"]) == before
    assert delivered_to(sender) == []


async def test_reply_of_exactly_the_longest_allowed_text_is_accepted(client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender())
    response = await reply(client, auth, conversation["id"], "x" * 4096)
    assert response.status_code == 201, response.text


async def test_reply_to_an_unknown_conversation_is_404(client, auth):
    response = await reply(client, auth, 9999)
    assert response.status_code == 404
    assert response.json() == {"detail": "conversation 9999 does not exist"}


async def test_reply_on_a_disabled_channel_is_refused(client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender())
    disabled = await client.patch("/api/v1/channels/1", json={"enabled": False}, headers=auth)
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False

    response = await reply(client, auth, conversation["id"])
    assert response.status_code == 422
    assert response.json() == {"detail": "the channel Simulator is disabled"}
    assert [m for m in await list_messages(client, auth, conversation["id"]) if m["direction"] == "outbound"] == []


async def test_a_reply_reopens_a_resolved_conversation_and_moves_it_to_the_top(client, auth):
    older = await customer_writes(client, auth, sender=new_sender())
    newer = await customer_writes(client, auth, sender=new_sender())
    await client.patch(f"/api/v1/conversations/{older['id']}", json={"status": "resolved"}, headers=auth)

    assert (await reply(client, auth, older["id"], "One more thing")).status_code == 201
    listed = (await client.get("/api/v1/conversations", headers=auth)).json()["items"]
    assert [c["id"] for c in listed] == [older["id"], newer["id"]]
    assert listed[0]["status"] == "open"
    assert listed[0]["last_message_preview"] == "One more thing"


async def test_an_idempotency_key_over_200_characters_is_422(client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender())
    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        json={"content": "hi"},
        headers={"Idempotency-Key": "k" * 201, **auth},
    )
    assert response.status_code == 422
    assert [m for m in await list_messages(client, auth, conversation["id"]) if m["direction"] == "outbound"] == []


# ---- failures and retries ----


async def test_provider_failures_are_retried_then_the_message_fails_with_a_readable_error(client, auth):
    await configure_simulator(client, auth, failure_rate=1.0)
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender)
    created = (await reply(client, auth, conversation["id"], "Sorry for the wait")).json()

    failed = await message_reaches(client, auth, conversation["id"], created["id"], "failed")
    assert failed["attempts"] == 3
    assert failed["error"] == "simulated provider failure (failure rate setting) (gave up after 3 attempts)"
    assert failed["external_id"] is None
    assert delivered_to(sender) == []


async def test_retry_after_the_provider_recovers_sends_the_failed_message_once(client, auth):
    await configure_simulator(client, auth, failure_rate=1.0)
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender)
    created = (await reply(client, auth, conversation["id"], "Second try")).json()
    await message_reaches(client, auth, conversation["id"], created["id"], "failed")

    await configure_simulator(client, auth, failure_rate=0)
    response = await client.post(f"/api/v1/messages/{created['id']}/retry", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending"
    assert response.json()["error"] is None and response.json()["attempts"] == 0

    sent = await message_reaches(client, auth, conversation["id"], created["id"], *AFTER_SENT)
    assert sent["error"] is None and sent["attempts"] == 1
    await message_reaches(client, auth, conversation["id"], created["id"], "read")  # receipts came back
    assert [e.external_id for e in delivered_to(sender)] == [sent["external_id"]]
    outbound = [m for m in await list_messages(client, auth, conversation["id"]) if m["direction"] == "outbound"]
    assert [m["id"] for m in outbound] == [created["id"]]  # the same message, not a copy


async def test_a_reply_queued_before_its_channel_was_disabled_fails_without_being_sent(client, auth):
    sender, conversation, created, worker = await queued_while_the_worker_is_stopped(client, auth)
    await client.patch("/api/v1/channels/1", json={"enabled": False}, headers=auth)
    worker.start()

    failed = await message_reaches(client, auth, conversation["id"], created["id"], "failed")
    assert failed["error"] == "the channel Simulator is disabled"
    assert failed["attempts"] == 1  # retrying cannot help, so it is not retried
    assert delivered_to(sender) == []


async def test_retry_of_a_message_that_did_not_fail_is_a_conflict(client, auth):
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender)
    created = (await reply(client, auth, conversation["id"])).json()
    await message_reaches(client, auth, conversation["id"], created["id"], *AFTER_SENT)

    response = await client.post(f"/api/v1/messages/{created['id']}/retry", headers=auth)
    assert response.status_code == 409
    assert "only failed outbound messages can be retried" in response.json()["detail"]

    inbound = next(m for m in await list_messages(client, auth, conversation["id"]) if m["direction"] == "inbound")
    assert (await client.post(f"/api/v1/messages/{inbound['id']}/retry", headers=auth)).status_code == 409
    assert (await client.post("/api/v1/messages/9999/retry", headers=auth)).status_code == 404
    await message_reaches(client, auth, conversation["id"], created["id"], "read")
    assert len(delivered_to(sender)) == 1


async def test_a_provider_retry_after_longer_than_the_backoff_is_honoured(client):
    settings = process_state.current().settings
    assert settings.retry_base_seconds == 0.05 and settings.max_attempts == 3

    before = utcnow()
    outcome = _after_retryable(1, "rate limited", 30)
    assert outcome["error"] == "rate limited"
    assert "status" not in outcome  # still pending
    assert before + timedelta(seconds=30) <= outcome["next_attempt_at"] <= utcnow() + timedelta(seconds=30)


async def test_the_backoff_wins_over_a_shorter_retry_after(client):
    before = utcnow()
    outcome = _after_retryable(2, "busy", 0.001)  # second failure: 2 x 0.05 s
    assert before + timedelta(seconds=0.1) <= outcome["next_attempt_at"] <= utcnow() + timedelta(seconds=0.1)


async def test_the_last_attempt_fails_even_with_a_retry_after(client):
    outcome = _after_retryable(3, "rate limited", 30)
    assert outcome == {"status": MessageStatus.failed, "error": "rate limited (gave up after 3 attempts)"}


# ---- idempotency ----


async def test_the_same_idempotency_key_twice_makes_one_message(client, auth):
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender)
    key = {"Idempotency-Key": "click-1", **auth}
    url = f"/api/v1/conversations/{conversation['id']}/messages"

    first = await client.post(url, json={"content": "Once"}, headers=key)
    second = await client.post(url, json={"content": "Once"}, headers=key)
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert first.json()["client_id"] == "click-1"

    await message_reaches(client, auth, conversation["id"], first.json()["id"], "read")
    outbound = [m for m in await list_messages(client, auth, conversation["id"]) if m["direction"] == "outbound"]
    assert len(outbound) == 1
    assert len(delivered_to(sender)) == 1


async def test_the_same_client_id_twice_makes_one_message(client, auth):
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender)
    url = f"/api/v1/conversations/{conversation['id']}/messages"

    first = await client.post(url, json={"content": "Once", "client_id": "c-42"}, headers=auth)
    second = await client.post(url, json={"content": "Once", "client_id": "c-42"}, headers=auth)
    other = await client.post(url, json={"content": "Twice", "client_id": "c-43"}, headers=auth)
    assert (first.status_code, second.status_code, other.status_code) == (201, 200, 201)
    assert second.json()["id"] == first.json()["id"] != other.json()["id"]

    await message_reaches(client, auth, conversation["id"], first.json()["id"], "read")
    await message_reaches(client, auth, conversation["id"], other.json()["id"], "read")
    assert sorted(e.content for e in delivered_to(sender)) == ["Once", "Twice"]


async def test_concurrent_posts_with_one_key_message_the_customer_once(client, auth):
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender)
    url = f"/api/v1/conversations/{conversation['id']}/messages"
    headers = {"Idempotency-Key": "double-click", **auth}

    responses = await asyncio.gather(
        *(client.post(url, json={"content": "Only once"}, headers=headers) for _ in range(2))
    )
    assert sorted(r.status_code for r in responses) == [200, 201]
    assert len({r.json()["id"] for r in responses}) == 1

    await message_reaches(client, auth, conversation["id"], responses[0].json()["id"], "read")
    outbound = [m for m in await list_messages(client, auth, conversation["id"]) if m["direction"] == "outbound"]
    assert len(outbound) == 1
    assert len(delivered_to(sender)) == 1


# ---- restarts ----


async def test_a_reply_queued_before_a_restart_is_sent_after_it_exactly_once():
    sender = new_sender()
    async with running_app() as http:
        auth = await login(http)
        conversation = await customer_writes(http, auth, sender=sender)
        await process_state.current().workers["outbound"].stop()
        created = await reply(http, auth, conversation["id"], "Sent after the restart")
        assert created.status_code == 201
        assert (await http.get("/healthz")).json()["outbound_pending"] == 1
    assert delivered_to(sender) == []

    async with running_app() as http:
        auth = await login(http)
        read = await message_reaches(http, auth, conversation["id"], created.json()["id"], "read")
        assert [(e.content, e.external_id) for e in delivered_to(sender)] == [
            ("Sent after the restart", read["external_id"])
        ]
        assert (await http.get("/healthz")).json()["outbound_pending"] == 0


async def test_a_send_under_way_at_shut_down_reaches_the_customer_once_across_the_restart():
    sender = new_sender()
    async with running_app() as http:
        auth = await login(http)
        await configure_simulator(http, auth, latency_ms=2000, auto_receipts=False)
        conversation = await customer_writes(http, auth, sender=sender)
        created = (await reply(http, auth, conversation["id"], "In flight")).json()

        sends = outbound.sends()

        async def sending():  # white-box: the worker has handed the message to the driver
            return created["id"] in sends.in_flight

        await eventually(sending, timeout=WAIT_SECONDS)

    async def settled():  # the send under way ended: finished, or cancelled by the shut-down
        return created["id"] not in sends.in_flight

    await eventually(settled, timeout=WAIT_SECONDS)

    async with running_app() as http:
        auth = await login(http)
        later = (await reply(http, auth, conversation["id"], "After the restart")).json()
        await message_reaches(http, auth, conversation["id"], later["id"], "sent")
        await message_reaches(http, auth, conversation["id"], created["id"], "sent")
        assert sorted(e.content for e in delivered_to(sender)) == ["After the restart", "In flight"]


@pytest.mark.parametrize(
    "body, problem",
    [
        ({"content_type": "image", "content": "look"}, "an image message needs an http(s) media_url"),
        ({"content_type": "file", "media_url": "javascript:alert(1)"}, "a file message needs an http(s) media_url"),
        ({"content_type": "location"}, "a location message needs latitude and longitude in its payload"),
    ],
)
async def test_media_and_locations_need_what_they_show(client, auth, body, problem):
    conversation = await customer_writes(client, auth, sender=new_sender())
    response = await client.post(f"/api/v1/conversations/{conversation['id']}/messages", json=body, headers=auth)
    assert response.status_code == 422
    assert response.json() == {"detail": problem}
    assert len(await list_messages(client, auth, conversation["id"])) == 1


async def test_an_idempotency_key_reused_for_another_message_is_refused(client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender())
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    first = await client.post(path, json={"content": "One"}, headers={**auth, "Idempotency-Key": "k-1"})
    other = await client.post(path, json={"content": "Two"}, headers={**auth, "Idempotency-Key": "k-1"})
    assert first.status_code == 201
    assert other.status_code == 409
    assert [m["content"] for m in await list_messages(client, auth, conversation["id"])][-1] == "One"


async def test_a_provider_reported_failure_counts_on_the_conversation_until_delivered_after_all(client, auth):
    await configure_simulator(client, auth, auto_receipts=False)
    conversation = await customer_writes(client, auth, sender=new_sender())
    created = (await reply(client, auth, conversation["id"])).json()
    sent = await message_reaches(client, auth, conversation["id"], created["id"], *AFTER_SENT)
    url = f"/api/v1/conversations/{conversation['id']}"

    receipt = {"type": "status", "message_id": sent["external_id"], "status": "failed", "error": "blocked"}
    assert (await post_webhook(client, receipt)).status_code == 200
    await message_reaches(client, auth, conversation["id"], created["id"], "failed")
    assert (await client.get(url, headers=auth)).json()["failed_replies"] == 1
    assert (await post_webhook(client, {**receipt, "status": "delivered"})).status_code == 200
    await message_reaches(client, auth, conversation["id"], created["id"], "delivered")
    assert (await client.get(url, headers=auth)).json()["failed_replies"] == 0


async def test_a_reply_another_instance_is_sending_waits_for_its_lease_then_goes_out_marked(client, auth):
    sender, conversation, created, worker = await queued_while_the_worker_is_stopped(client, auth)
    await _claimed_by_another_instance(created["id"], until=utcnow() + timedelta(hours=1))

    await outbound.deliver_due_messages()  # this instance's worker looks
    await asyncio.gather(*outbound.sends().tasks)
    assert (await message(client, auth, conversation["id"], created["id"]))["status"] == "pending"
    assert delivered_to(sender) == []

    await _claimed_by_another_instance(created["id"], until=utcnow() - timedelta(seconds=1))  # it died mid-send
    worker.start()
    sent = await message_reaches(client, auth, conversation["id"], created["id"], *AFTER_SENT)
    assert sent["possibly_sent_twice"] is True
    assert [e.external_id for e in delivered_to(sender)] == [sent["external_id"]]


async def _claimed_by_another_instance(message_id: int, *, until: datetime) -> None:
    async with db.write_session() as session:
        claimed = await session.get(Message, message_id)
        claimed.send_started_at, claimed.claimed_until = utcnow(), until
        session.add(claimed)
