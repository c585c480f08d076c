"""Private notes through the REST API: stored and listed as private, never a reply to the customer (status, order,
preview and unread stay), never delivered; @mentions make followers and notifications; the 422s."""

from __future__ import annotations

import httpx
from sqlmodel import select

from chathub import db
from chathub.models import ConversationFollower, Notification
from tests.helpers.api import customer_writes, delivered_to, list_messages, new_sender
from tests.helpers.app import ADMIN_EMAIL

API = "/api/v1/conversations"


async def add_agent(client: httpx.AsyncClient, auth: dict, name: str) -> int:
    email = f"{name.lower()}@example.com"
    response = await client.post(
        "/api/v1/agents", json={"email": email, "name": name, "password": f"{name}-pass-1"}, headers=auth
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def admin_id(client: httpx.AsyncClient, auth: dict) -> int:
    agents = (await client.get("/api/v1/agents", headers=auth)).json()["items"]
    return next(a["id"] for a in agents if a["email"] == ADMIN_EMAIL)


async def post_note(client: httpx.AsyncClient, auth: dict, conversation_id: int, **body) -> httpx.Response:
    return await client.post(f"{API}/{conversation_id}/messages", json={"private": True, **body}, headers=auth)


async def test_a_note_is_stored_and_listed_as_private_by_its_author(client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender(), text="Where is my parcel?")

    response = await post_note(client, auth, conversation["id"], content="Checked with the courier")

    assert response.status_code == 201, response.text
    note = response.json()
    assert (note["private"], note["kind"], note["direction"], note["status"]) == (True, "note", "outbound", "sent")
    assert note["agent_id"] == await admin_id(client, auth)
    listed = await list_messages(client, auth, conversation["id"])
    assert [(m["content"], m["private"]) for m in listed] == [
        ("Where is my parcel?", False),
        ("Checked with the courier", True),
    ]


async def test_a_note_is_no_reply_the_conversation_stays_as_it_was(client, auth):
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender, text="Hello?")
    await client.patch(f"{API}/{conversation['id']}", json={"status": "resolved"}, headers=auth)
    before = (await client.get(f"{API}/{conversation['id']}", headers=auth)).json()

    assert (await post_note(client, auth, conversation["id"], content="Spam, leave it")).status_code == 201

    after = (await client.get(f"{API}/{conversation['id']}", headers=auth)).json()
    assert after == before
    assert (after["status"], after["unread_count"], after["last_message_preview"]) == ("resolved", 1, "Hello?")
    assert delivered_to(sender) == []


async def test_a_note_on_a_disabled_channel_or_beyond_its_text_limit_is_still_taken(client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender())
    await client.patch("/api/v1/channels/1", json={"enabled": False}, headers=auth)

    response = await post_note(client, auth, conversation["id"], content="x" * 5000)

    assert response.status_code == 201, response.text


async def test_the_same_idempotency_key_stores_one_note(client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender())
    headers = {**auth, "Idempotency-Key": "note-1"}
    body = {"private": True, "content": "Once"}

    first = await client.post(f"{API}/{conversation['id']}/messages", json=body, headers=headers)
    again = await client.post(f"{API}/{conversation['id']}/messages", json=body, headers=headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert [m["content"] for m in await list_messages(client, auth, conversation["id"])].count("Once") == 1


async def test_mentioned_agents_follow_the_conversation_and_are_notified(client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender())
    bob, cy = await add_agent(client, auth, "Bob"), await add_agent(client, auth, "Cy")
    me = await admin_id(client, auth)
    text = "@Bob @Cy can one of you check the refund? " + "x" * 200

    first = await post_note(client, auth, conversation["id"], content=text, mentions=[bob, cy, bob, me])
    second = await post_note(client, auth, conversation["id"], content="@Bob again", mentions=[bob])

    assert first.status_code == 201 and second.status_code == 201, first.text + second.text
    assert first.json()["mentions"] == [bob, cy, me]
    async with db.read_session() as session:
        followers = (await session.exec(select(ConversationFollower.agent_id))).all()
        told = (await session.exec(select(Notification).order_by(Notification.id))).all()
    assert sorted(followers) == sorted([bob, cy, me])
    assert [(n.agent_id, n.type.value, n.message_id, n.actor_id) for n in told] == [
        (bob, "mention", first.json()["id"], me),
        (cy, "mention", first.json()["id"], me),
        (bob, "mention", second.json()["id"], me),
    ]
    assert told[0].text == "Admin mentioned you: " + text[:100]
    assert told[0].conversation_id == conversation["id"]


async def test_mentions_of_unknown_or_deactivated_agents_are_refused_by_id(client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender())
    gone = await add_agent(client, auth, "Gone")
    await client.patch(f"/api/v1/agents/{gone}", json={"active": False}, headers=auth)

    response = await post_note(client, auth, conversation["id"], content="@Gone hi", mentions=[gone, 9999])

    assert response.status_code == 422
    assert f"{gone}, 9999" in response.json()["detail"]
    assert [m for m in await list_messages(client, auth, conversation["id"]) if m["private"]] == []


async def test_mentions_need_a_note_and_a_note_needs_text_only(client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender())
    bob = await add_agent(client, auth, "Bob")
    url = f"{API}/{conversation['id']}/messages"

    on_reply = await client.post(url, json={"content": "Hi", "mentions": [bob]}, headers=auth)
    empty = await post_note(client, auth, conversation["id"], content="  ")
    with_media = await post_note(client, auth, conversation["id"], content="see", media_url="https://example.com/a.png")
    not_boolean = await client.post(url, json={"content": "Hi", "private": "yes"}, headers=auth)
    attached = await client.post(
        f"{API}/{conversation['id']}/attachments",
        data={"content": "x"},
        files={"file": ("a.txt", b"a", "text/plain")},
        headers=auth,
    )

    assert on_reply.status_code == 422 and "only allowed on a note" in on_reply.text
    assert empty.status_code == 422 and "needs some text" in empty.text
    assert with_media.status_code == 422 and "text only" in with_media.text
    assert not_boolean.status_code == 422 and "private" in not_boolean.text
    assert attached.status_code == 201  # an attachment is always a reply
    assert [m for m in await list_messages(client, auth, conversation["id"]) if m["private"]] == []


async def test_a_note_on_a_missing_conversation_is_a_404(client, auth):
    response = await post_note(client, auth, 424242, content="hello")

    assert response.status_code == 404 and "does not exist" in response.json()["detail"]
