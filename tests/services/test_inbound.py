"""Inbound flow: customer messages land in the right customer and conversation (reopening resolved ones),
every content type is kept with a fitting preview, and receipts move our outbound messages only forward."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers.intake import accepted, create_channel, default_channel_id, get_json, items, processed, settled_log
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import seed_message


async def only_conversation(client: httpx.AsyncClient, auth: dict[str, str]) -> dict:
    [conversation] = await items(client, auth, "/api/v1/conversations")
    return conversation


async def messages_of(client: httpx.AsyncClient, auth: dict[str, str], conversation_id: int) -> list[dict]:
    return await items(client, auth, f"/api/v1/conversations/{conversation_id}/messages")


async def patch_conversation(
    client: httpx.AsyncClient, auth: dict[str, str], conversation_id: int, **changes: Any
) -> dict:
    response = await client.patch(f"/api/v1/conversations/{conversation_id}", json=changes, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


# ---- customers and conversations ----


async def test_new_message_reopens_a_resolved_conversation(client, auth):
    await processed(client, auth, seed_message("first", text="My order is late"))
    before = await only_conversation(client, auth)
    assert (await patch_conversation(client, auth, before["id"], status="resolved"))["status"] == "resolved"

    await processed(client, auth, seed_message("second", text="It still has not arrived"))

    after = await only_conversation(client, auth)
    assert after["id"] == before["id"]
    assert after["status"] == "open"
    assert after["unread_count"] == 2
    assert after["last_message_preview"] == "It still has not arrived"
    assert after["last_message_at"] > before["last_message_at"]
    thread = await messages_of(client, auth, after["id"])
    assert [m["content"] for m in thread if m["kind"] == "message"] == ["My order is late", "It still has not arrived"]
    assert [m["content"] for m in thread if m["kind"] == "activity"] == ["Admin resolved the conversation"]


async def test_new_message_wakes_a_snoozed_conversation(client, auth):
    await processed(client, auth, seed_message("first"))
    conversation = await only_conversation(client, auth)
    await patch_conversation(client, auth, conversation["id"], status="snoozed", snoozed_until="2099-01-01T00:00:00Z")

    await processed(client, auth, seed_message("second", text="Anyone there?"))

    after = await only_conversation(client, auth)
    assert (after["id"], after["status"], after["snoozed_until"]) == (conversation["id"], "open", None)


async def test_conversation_with_the_newest_message_comes_first(client, auth):
    await processed(client, auth, seed_message("a1", sender="+1111", text="from A"))
    await processed(client, auth, seed_message("b1", sender="+2222", text="from B"))
    assert [c["last_message_preview"] for c in await items(client, auth, "/api/v1/conversations")] == [
        "from B",
        "from A",
    ]

    await processed(client, auth, seed_message("a2", sender="+1111", text="A again"))

    conversations = await items(client, auth, "/api/v1/conversations")
    assert [(c["customer"]["name"], c["last_message_preview"], c["unread_count"]) for c in conversations] == [
        ("+1111", "A again", 2),
        ("+2222", "from B", 1),
    ]


async def test_different_senders_get_their_own_customer_and_conversation(client, auth):
    await processed(client, auth, seed_message("m1", sender="+1111", name="Ann"))
    await processed(client, auth, seed_message("m2", sender="+2222", name="Bob"))

    customers = await items(client, auth, "/api/v1/customers")
    assert sorted(c["name"] for c in customers) == ["Ann", "Bob"]
    conversations = await items(client, auth, "/api/v1/conversations")
    assert sorted(c["customer"]["name"] for c in conversations) == ["Ann", "Bob"]
    assert len({c["customer"]["id"] for c in conversations}) == 2


async def test_later_name_replaces_the_number_placeholder_but_not_a_real_name(client, auth):
    await processed(client, auth, seed_message("m1"))
    [customer] = await items(client, auth, "/api/v1/customers")
    assert customer["name"] == "+1234567890"

    await processed(client, auth, seed_message("m2", name="Ann"))
    assert [c["name"] for c in await items(client, auth, "/api/v1/customers")] == ["Ann"]

    await processed(client, auth, seed_message("m3", name="Someone Else"))
    assert [c["name"] for c in await items(client, auth, "/api/v1/customers")] == ["Ann"]


async def test_sender_without_a_phone_number_is_named_by_its_id(client, auth):
    await processed(client, auth, seed_message("m1", sender="web-visitor-42"))

    [customer] = await items(client, auth, "/api/v1/customers")
    assert (customer["name"], customer["phone"]) == ("web-visitor-42", None)


@pytest.mark.parametrize("timestamp", ["2024-02-14T10:00:00Z", "2024-02-14T11:00:00+01:00", 1707904800])
async def test_message_keeps_the_time_the_customer_sent_it(client, auth, timestamp):
    await processed(client, auth, seed_message(timestamp=timestamp))

    [message] = await messages_of(client, auth, (await only_conversation(client, auth))["id"])
    assert message["sent_at"].startswith("2024-02-14T10:00:00")


# ---- content types ----

CONTENT = [
    # (id, payload fields, expected message fields, expected preview)
    (
        "text-without-type",
        {"type": None, "message": "no type given"},
        {"content_type": "text", "content": "no type given"},
        "no type given",
    ),
    (
        "image-with-caption",
        {"type": "image", "media_url": "https://example.com/cat.jpg", "message": "my cat", "mime_type": "image/jpeg"},
        {
            "content_type": "image",
            "content": "my cat",
            "payload": {"source_url": "https://example.com/cat.jpg"},
            "media_mime_type": "image/jpeg",
        },
        "Photo: my cat",
    ),
    (
        "image-without-caption",
        {"type": "image", "media_url": "https://example.com/cat.jpg"},
        {"content_type": "image", "content": "", "payload": {"source_url": "https://example.com/cat.jpg"}},
        "Photo",
    ),
    (
        "file",
        {"type": "file", "media_url": "https://example.com/invoice.pdf", "file_name": "invoice.pdf"},
        {
            "content_type": "file",
            "file_name": "invoice.pdf",
            "payload": {"source_url": "https://example.com/invoice.pdf"},
        },
        "File",
    ),
    (
        "audio",
        {"type": "audio", "media_url": "https://example.com/voice.ogg"},
        {"content_type": "audio", "payload": {"source_url": "https://example.com/voice.ogg"}},
        "Audio",
    ),
    (
        "location",
        {"type": "location", "latitude": 52.52, "longitude": "13.405"},
        {"content_type": "location", "payload": {"latitude": 52.52, "longitude": 13.405}},
        "Location",
    ),
    (
        "contact",
        {"type": "contact", "contact": {"name": "Bob Builder", "phone": "+4930123"}},
        {"content_type": "contact", "content": "Bob Builder", "payload": {"name": "Bob Builder", "phone": "+4930123"}},
        "Contact: Bob Builder",
    ),
]


@pytest.mark.parametrize("fields, expected, preview", [case[1:] for case in CONTENT], ids=[c[0] for c in CONTENT])
async def test_message_of_each_content_type_is_stored_with_its_preview(client, auth, fields, expected, preview):
    payload = {k: v for k, v in {**seed_message(), **fields}.items() if v is not None}
    if fields.get("type") != "text" and "message" not in fields:
        payload.pop("message")

    await processed(client, auth, payload)

    conversation = await only_conversation(client, auth)
    assert conversation["last_message_preview"] == preview
    [message] = await messages_of(client, auth, conversation["id"])
    assert {key: message[key] for key in expected} == expected
    assert (message["direction"], message["status"], message["external_id"]) == ("inbound", "received", "msg_123")


async def test_unknown_message_type_is_kept_as_unsupported_with_its_raw_payload(client, auth):
    payload = {**seed_message(), "type": "poll", "question": "Pizza or pasta?", "options": ["pizza", "pasta"]}
    del payload["message"]

    await processed(client, auth, payload)

    conversation = await only_conversation(client, auth)
    assert conversation["last_message_preview"] == "Unsupported message"
    [message] = await messages_of(client, auth, conversation["id"])
    assert (message["content_type"], message["content"]) == ("unsupported", "")
    assert message["payload"] == payload


# ---- receipts for our outbound messages ----


async def sent_reply(client: httpx.AsyncClient, auth: dict[str, str], *, auto_receipts: bool = False) -> dict:
    """A customer writes, an agent answers; returns the answer once the simulator has sent it."""
    channel_id = await default_channel_id(client, auth)
    response = await client.patch(
        f"/api/v1/channels/{channel_id}", headers=auth, json={"config": {"auto_receipts": auto_receipts}}
    )
    assert response.status_code == 200, response.text
    await processed(client, auth, seed_message())
    conversation = await only_conversation(client, auth)
    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"content": "hi"}, headers=auth
    )
    assert response.status_code == 201, response.text
    reply_id = response.json()["id"]

    async def reply_sent():
        reply = await outbound_message(client, auth, conversation["id"], reply_id)
        return reply if reply["status"] == "sent" else None

    return await eventually(reply_sent)


async def outbound_message(
    client: httpx.AsyncClient, auth: dict[str, str], conversation_id: int, message_id: int
) -> dict:
    [message] = [m for m in await messages_of(client, auth, conversation_id) if m["id"] == message_id]
    return message


async def receipt(
    client: httpx.AsyncClient, auth: dict[str, str], reply: dict, status: str, error: str | None = None
) -> dict:
    """Post a receipt for the reply, wait until it is processed, return the reply as the API shows it."""
    await processed(
        client, auth, {"type": "status", "message_id": reply["external_id"], "status": status, "error": error}
    )
    return await outbound_message(client, auth, reply["conversation_id"], reply["id"])


async def test_delivered_and_read_receipts_move_an_outbound_message_forward(client, auth):
    reply = await sent_reply(client, auth)
    assert reply["external_id"] and reply["delivered_at"] is None

    delivered = await receipt(client, auth, reply, "delivered")
    assert delivered["status"] == "delivered"
    assert delivered["delivered_at"] is not None and delivered["read_at"] is None

    read = await receipt(client, auth, reply, "read")
    assert read["status"] == "read"
    assert read["read_at"] is not None
    assert read["delivered_at"] == delivered["delivered_at"]


async def test_receipts_never_move_an_outbound_message_backwards(client, auth):
    reply = await sent_reply(client, auth)

    assert (await receipt(client, auth, reply, "read"))["status"] == "read"
    assert (await receipt(client, auth, reply, "delivered"))["status"] == "read"
    assert (await receipt(client, auth, reply, "sent"))["status"] == "read"
    after_failed = await receipt(client, auth, reply, "failed", error="too late")
    assert (after_failed["status"], after_failed["error"]) == ("read", None)


async def test_read_receipt_alone_also_marks_the_message_delivered(client, auth):
    reply = await sent_reply(client, auth)

    read = await receipt(client, auth, reply, "read")

    assert read["status"] == "read"
    assert read["delivered_at"] is not None and read["read_at"] is not None


async def test_failed_receipt_marks_a_sent_message_failed_with_the_providers_error(client, auth):
    reply = await sent_reply(client, auth)

    failed = await receipt(client, auth, reply, "failed", error="the number is blocked")

    assert (failed["status"], failed["error"]) == ("failed", "the number is blocked")


async def test_failed_receipt_without_an_error_gets_a_readable_one(client, auth):
    reply = await sent_reply(client, auth)

    failed = await receipt(client, auth, reply, "failed")

    assert failed["status"] == "failed"
    assert failed["error"] == "the provider reported the message as failed"


async def test_delivered_receipt_after_a_failed_one_wins(client, auth):
    reply = await sent_reply(client, auth)
    await receipt(client, auth, reply, "failed", error="timeout at the carrier")

    delivered = await receipt(client, auth, reply, "delivered")

    assert (delivered["status"], delivered["error"]) == ("delivered", None)


async def test_receipt_posted_to_another_channel_leaves_the_message_alone(client, auth):
    reply = await sent_reply(client, auth)
    other = await create_channel(client, auth)

    log_id = await accepted(
        client,
        {"type": "status", "message_id": reply["external_id"], "status": "read"},
        path=f"/webhooks/simulator/{other['id']}",
    )

    entry = await settled_log(client, auth, log_id, "failed")
    assert reply["external_id"] in entry["error"]
    assert (await outbound_message(client, auth, reply["conversation_id"], reply["id"]))["status"] == "sent"


async def test_simulator_reports_delivered_and_read_on_its_own(client, auth):
    reply = await sent_reply(client, auth, auto_receipts=True)

    async def reply_read():
        message = await outbound_message(client, auth, reply["conversation_id"], reply["id"])
        return message if message["status"] == "read" else None

    read = await eventually(reply_read)

    assert read["delivered_at"] is not None and read["read_at"] is not None
    logs = await items(client, auth, "/api/v1/webhook-logs", status="processed")
    receipts = [(await get_json(client, auth, f"/api/v1/webhook-logs/{entry['id']}"))["body"] for entry in logs]
    assert sum(reply["external_id"] in body for body in receipts) == 2


async def test_a_sender_known_by_an_alias_is_the_same_customer(client):
    """WhatsApp gives a phone number and a business-scoped user id; a later message with only the user id
    (the customer hid their number) still belongs to the same customer."""
    from sqlmodel import select

    from chathub import db
    from chathub.drivers.base import InboundMessage
    from chathub.models import ContentType, Customer
    from chathub.services import channels
    from chathub.services.inbound import Announcements, store_inbound_message

    channel = await channels.default_simulator_channel()
    first = InboundMessage(
        external_id="w1",
        sender_id="16505551234",
        sender_aliases=("US.1349",),
        content_type=ContentType.text,
        content="Hi",
        sender_name="Sheena",
    )
    later = InboundMessage(external_id="w2", sender_id="US.1349", content_type=ContentType.text, content="Me again")
    async with db.write_session() as session:
        await store_inbound_message(session, channel, first, Announcements())
    async with db.write_session() as session:
        await store_inbound_message(session, channel, later, Announcements())
    async with db.read_session() as session:
        customers = (await session.exec(select(Customer))).all()
    assert [c.name for c in customers] == ["Sheena"]


# ---- many webhooks at once (the worker takes them in batches) ----


async def test_a_burst_with_repeats_gives_each_customer_one_conversation_and_each_message_once(client, auth):
    """Posted together, the webhooks are processed a batch at a time with shared lookups: new customers, a
    customer's later messages and provider re-deliveries inside one batch must still come out right."""
    import asyncio

    payloads = [
        seed_message(
            f"burst-{customer}-{n}",
            sender=f"+1555010{customer:02d}",
            text=f"Note {n}",
            name=f"Burst {customer}",
            timestamp=f"2024-02-14T10:00:0{n}Z",
        )
        for customer in range(10)
        for n in range(3)
    ]
    log_ids = await asyncio.gather(*(accepted(client, payload) for payload in payloads + payloads))  # each twice
    logs = [await settled_log(client, auth, log_id, "processed") for log_id in log_ids]

    conversations = await items(client, auth, "/api/v1/conversations")
    assert sorted(c["customer"]["name"] for c in conversations) == sorted(f"Burst {c}" for c in range(10))
    assert all(c["unread_count"] == 3 for c in conversations)
    for conversation in conversations:
        assert [m["content"] for m in await messages_of(client, auth, conversation["id"])] == [
            "Note 0",
            "Note 1",
            "Note 2",
        ]
    first, repeat = logs[: len(payloads)], logs[len(payloads) :]
    assert [entry["message_id"] for entry in first] == [entry["message_id"] for entry in repeat]
    assert len({entry["message_id"] for entry in first}) == len(payloads)
