"""The notifications API: each agent reads and marks their own, newest first; a customer's reply tells the
conversation's assignee and followers."""

from __future__ import annotations

from chathub import db
from chathub.models import ConversationFollower
from tests.helpers.api import WAIT_SECONDS, customer_writes, new_sender
from tests.helpers.app import login
from tests.helpers.waiting import eventually


async def new_agent(client, auth, name: str) -> tuple[int, dict[str, str]]:
    """An agent made by the admin, and their authorization headers."""
    email = f"{name.lower()}@example.com"
    body = {"email": email, "name": name, "password": "a long enough password"}
    response = await client.post("/api/v1/agents", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()["id"], await login(client, email, "a long enough password")


async def assign(client, auth, conversation_id: int, agent_id: int) -> None:
    response = await client.patch(
        f"/api/v1/conversations/{conversation_id}", json={"assignee_id": agent_id}, headers=auth
    )
    assert response.status_code == 200, response.text


async def follow(conversation_id: int, agent_id: int) -> None:
    """A follower, as a mention in a note makes one."""
    async with db.write_session() as session:
        session.add(ConversationFollower(conversation_id=conversation_id, agent_id=agent_id))


async def notifications_of(client, headers, **params) -> dict:
    response = await client.get("/api/v1/notifications", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def has_notifications(client, headers, count: int) -> list[dict]:
    async def enough():
        items = (await notifications_of(client, headers))["items"]
        return items if len(items) >= count else None

    return await eventually(enough, timeout=WAIT_SECONDS)


async def bob_told_of_replies(client, auth, *texts: str) -> tuple[dict[str, str], int, str]:
    """Bob is assigned a conversation whose customer then writes each of `texts`: Bob's headers, the
    conversation's id and the customer's number."""
    bob_id, bob = await new_agent(client, auth, "Bob")
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender, name="Ann Lee", text="first")
    await assign(client, auth, conversation["id"], bob_id)
    for text in texts:
        await customer_writes(client, auth, sender=sender, name="Ann Lee", text=text)
    await has_notifications(client, bob, len(texts))
    return bob, conversation["id"], sender


async def test_a_customer_reply_tells_the_assignee_and_a_follower_and_nobody_else(client, auth):
    bob_id, bob = await new_agent(client, auth, "Bob")
    cleo_id, cleo = await new_agent(client, auth, "Cleo")
    _, dan = await new_agent(client, auth, "Dan")
    sender = new_sender()
    conversation = await customer_writes(client, auth, sender=sender, name="Ann Lee", text="hello")
    assert (await notifications_of(client, bob))["items"] == []  # nobody was assigned or following yet
    await assign(client, auth, conversation["id"], bob_id)
    await follow(conversation["id"], cleo_id)

    await customer_writes(client, auth, sender=sender, name="Ann Lee", text="Where is  my\norder?")

    for agent_id, headers in ((bob_id, bob), (cleo_id, cleo)):
        (told,) = await has_notifications(client, headers, 1)
        assert told["agent_id"] == agent_id
        assert told["type"] == "customer_replied"
        assert told["conversation_id"] == conversation["id"]
        assert told["text"] == "Ann Lee replied: Where is my order?"
        assert told["actor_id"] is None and told["read_at"] is None and told["message_id"]
    assert (await notifications_of(client, dan))["items"] == []
    assert (await notifications_of(client, auth))["items"] == []


async def test_notifications_come_newest_first_in_pages(client, auth):
    bob, _, _ = await bob_told_of_replies(client, auth, "one", "two", "three")

    first = await notifications_of(client, bob, limit=2)
    second = await notifications_of(client, bob, limit=2, cursor=first["next_cursor"])

    texts = [item["text"] for item in first["items"] + second["items"]]
    assert texts == ["Ann Lee replied: three", "Ann Lee replied: two", "Ann Lee replied: one"]
    assert second["next_cursor"] is None
    bad = await client.get("/api/v1/notifications", params={"cursor": "nonsense"}, headers=bob)
    assert bad.status_code == 422 and "cursor" in bad.json()["detail"]


async def test_reading_one_is_idempotent_and_only_the_owner_may(client, auth):
    bob, _, _ = await bob_told_of_replies(client, auth, "one", "two")
    _, cleo = await new_agent(client, auth, "Cleo")
    newest, older = (await notifications_of(client, bob))["items"]

    assert (await client.post(f"/api/v1/notifications/{newest['id']}/read", headers=cleo)).status_code == 404
    read = await client.post(f"/api/v1/notifications/{newest['id']}/read", headers=bob)
    again = await client.post(f"/api/v1/notifications/{newest['id']}/read", headers=bob)

    assert read.status_code == 200 and read.json()["read_at"]
    assert again.status_code == 200 and again.json()["read_at"] == read.json()["read_at"]
    unread = await notifications_of(client, bob, unread_only="true")
    assert [item["id"] for item in unread["items"]] == [older["id"]]
    missing = await client.post("/api/v1/notifications/999999/read", headers=bob)
    assert missing.status_code == 404 and missing.json() == {"detail": "notification 999999 does not exist"}
    assert (await client.get("/api/v1/notifications")).status_code == 401


async def test_read_all_marks_only_the_callers_unread_ones_and_says_how_many(client, auth):
    bob, conversation_id, sender = await bob_told_of_replies(client, auth, "one", "two", "three")
    cleo_id, cleo = await new_agent(client, auth, "Cleo")
    await follow(conversation_id, cleo_id)
    await customer_writes(client, auth, sender=sender, text="four")
    await has_notifications(client, cleo, 1)
    await has_notifications(client, bob, 4)
    (newest, *_) = (await notifications_of(client, bob))["items"]
    await client.post(f"/api/v1/notifications/{newest['id']}/read", headers=bob)

    marked = await client.post("/api/v1/notifications/read-all", headers=bob)

    assert marked.status_code == 200 and marked.json() == {"marked": 3}
    assert (await notifications_of(client, bob, unread_only="true"))["items"] == []
    assert (await client.post("/api/v1/notifications/read-all", headers=bob)).json() == {"marked": 0}
    assert len((await notifications_of(client, cleo, unread_only="true"))["items"]) == 1
