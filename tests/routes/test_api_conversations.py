"""The conversations and messages API: the inbox list with its filters and paging, one conversation,
status and assignment, read marks, and a conversation's message history."""

from __future__ import annotations

import pytest

from tests.helpers.api import customer_writes, list_messages, new_sender
from tests.helpers.app import ADMIN_EMAIL
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message

API = "/api/v1/conversations"


async def ids(client, auth, **params) -> list[int]:
    response = await client.get(API, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


async def admin_id(client, auth) -> int:
    agents = (await client.get("/api/v1/agents", headers=auth)).json()["items"]
    return next(a["id"] for a in agents if a["email"] == ADMIN_EMAIL)


@pytest.fixture
async def three(client, auth) -> dict[str, dict]:
    """Ann (named, late parcel), then Bob's refund, then Cy's hello: Cy has the newest activity."""
    ann = await customer_writes(client, auth, sender="+15550001111", name="Ann Lee", text="My parcel is late")
    bob = await customer_writes(client, auth, sender="+15550002222", text="I want a refund")
    cy = await customer_writes(client, auth, sender="+15550003333", text="hello")
    return {"ann": ann, "bob": bob, "cy": cy}


# ---- the list ----


async def test_list_shows_newest_activity_first(client, auth, three):
    assert await ids(client, auth) == [three["cy"]["id"], three["bob"]["id"], three["ann"]["id"]]

    await customer_writes(client, auth, sender="+15550001111", text="Any news?")  # Ann writes again
    assert await ids(client, auth) == [three["ann"]["id"], three["cy"]["id"], three["bob"]["id"]]
    first = (await client.get(API, headers=auth)).json()["items"][0]
    assert first["last_message_preview"] == "Any news?"
    assert first["unread_count"] == 2
    assert first["customer"]["name"] == "Ann Lee"
    assert first["channel"] == {"id": 1, "type": "simulator", "name": "Simulator"}


async def test_filter_by_status(client, auth, three):
    resolved = await client.patch(f"{API}/{three['bob']['id']}", json={"status": "resolved"}, headers=auth)
    assert resolved.status_code == 200

    assert await ids(client, auth, status="resolved") == [three["bob"]["id"]]
    assert await ids(client, auth, status="open") == [three["cy"]["id"], three["ann"]["id"]]
    assert await ids(client, auth, status="snoozed") == []


async def test_filter_by_unread(client, auth, three):
    read = await client.post(f"{API}/{three['cy']['id']}/read", headers=auth)
    assert read.status_code == 200

    assert await ids(client, auth, unread="true") == [three["bob"]["id"], three["ann"]["id"]]
    assert await ids(client, auth, unread="false") == [three["cy"]["id"]]


async def test_filter_by_channel_id_tells_two_channels_of_one_type_apart(client, auth, three):
    second = await client.post("/api/v1/channels", json={"type": "simulator", "name": "Second"}, headers=auth)
    assert second.status_code == 201
    response = await post_webhook(
        client,
        seed_message(message_id="second-1", sender="+15550004444"),
        path=f"/webhooks/simulator/{second.json()['id']}",
    )
    assert response.status_code == 200

    async def on_second():
        return await ids(client, auth, channel_id=second.json()["id"])

    only = await eventually(on_second)
    assert len(only) == 1 and only[0] not in {c["id"] for c in three.values()}
    assert set(await ids(client, auth, channel_id=1)) == {c["id"] for c in three.values()}


async def test_search_takes_percent_and_underscore_literally(client, auth, three):
    await customer_writes(client, auth, sender="+15550005555", text="50% off?")
    assert len(await ids(client, auth, q="%")) == 1
    assert await ids(client, auth, q="_") == []


async def test_filter_by_channel_type(client, auth, three):
    assert await ids(client, auth, channel_type="simulator") == [
        three["cy"]["id"],
        three["bob"]["id"],
        three["ann"]["id"],
    ]
    assert await ids(client, auth, channel_type="telegram") == []
    assert (await client.get(API, params={"channel_type": "fax"}, headers=auth)).status_code == 422


async def test_filter_by_customer(client, auth, three):
    bob = three["bob"]["customer"]["id"]
    assert await ids(client, auth, customer_id=bob) == [three["bob"]["id"]]
    assert await ids(client, auth, customer_id=9999) == []


@pytest.mark.parametrize(
    "q, who",
    [
        ("ann", "ann"),
        ("Lee", "ann"),
        ("0002222", "bob"),
        ("REFUND", "bob"),
        ("parcel is", "ann"),
        ("+1555000", "all"),
        ("nothing like this", "none"),
    ],
)
async def test_search_matches_customer_name_phone_and_message_text(client, auth, three, q, who):
    expected = {"all": [three["cy"]["id"], three["bob"]["id"], three["ann"]["id"]], "none": []}.get(who)
    assert await ids(client, auth, q=q) == (expected if expected is not None else [three[who]["id"]])


async def test_search_finds_text_from_an_older_message_and_agent_replies(client, auth, three):
    await customer_writes(client, auth, sender="+15550001111", text="Any news?")
    reply = await client.post(
        f"{API}/{three['cy']['id']}/messages", json={"content": "Tracking number ZX81"}, headers=auth
    )
    assert reply.status_code == 201
    assert await ids(client, auth, q="parcel") == [three["ann"]["id"]]
    assert await ids(client, auth, q="zx81") == [three["cy"]["id"]]


async def test_filters_combine(client, auth, three):
    await client.patch(f"{API}/{three['ann']['id']}", json={"status": "resolved"}, headers=auth)
    assert await ids(client, auth, status="resolved", q="Ann") == [three["ann"]["id"]]
    assert await ids(client, auth, status="open", q="Ann") == []


async def test_filter_by_assignee_and_unassigned(client, auth, three):
    me = await admin_id(client, auth)
    await client.patch(f"{API}/{three['bob']['id']}", json={"assignee_id": me}, headers=auth)
    assert await ids(client, auth, assignee_id=me) == [three["bob"]["id"]]
    assert await ids(client, auth, unassigned="true") == [three["cy"]["id"], three["ann"]["id"]]


# ---- paging ----


async def test_pages_follow_next_cursor_without_overlap_and_cover_everything(client, auth):
    created = [(await customer_writes(client, auth, sender=new_sender(), text=f"number {n}"))["id"] for n in range(7)]

    pages, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = await client.get(API, params=params, headers=auth)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([c["id"] for c in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 5, "paging does not end"

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for page in pages for i in page] == list(reversed(created))


async def test_a_page_of_exactly_the_remaining_items_has_no_next_cursor(client, auth):
    for n in range(3):
        await customer_writes(client, auth, sender=new_sender(), text=f"number {n}")
    body = (await client.get(API, params={"limit": 3}, headers=auth)).json()
    assert len(body["items"]) == 3 and body["next_cursor"] is None


@pytest.mark.parametrize("params", [{"limit": 101}, {"limit": 0}, {"limit": -1}, {"limit": "many"}])
async def test_limits_outside_1_to_100_are_422(client, auth, params):
    response = await client.get(API, params=params, headers=auth)
    assert response.status_code == 422
    assert "detail" in response.json()


async def test_limit_100_is_allowed(client, auth):
    assert (await client.get(API, params={"limit": 100}, headers=auth)).status_code == 200


async def test_a_made_up_cursor_is_422(client, auth):
    response = await client.get(API, params={"cursor": "not-a-cursor"}, headers=auth)
    assert response.status_code == 422
    assert response.json() == {"detail": "cursor is not one this server gave out"}


# ---- one conversation ----


async def test_get_one_conversation(client, auth, three):
    response = await client.get(f"{API}/{three['ann']['id']}", headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == three["ann"]["id"]
    assert body["status"] == "open" and body["unread_count"] == 1 and body["assignee_id"] is None
    assert body["last_message_preview"] == "My parcel is late"
    assert body["customer"] == {"id": three["ann"]["customer"]["id"], "name": "Ann Lee"}


async def test_patch_status_and_assignee(client, auth, three):
    me = await admin_id(client, auth)
    url = f"{API}/{three['ann']['id']}"

    response = await client.patch(url, json={"status": "pending", "assignee_id": me}, headers=auth)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["assignee_id"]) == ("pending", me)
    after = (await client.get(url, headers=auth)).json()
    assert (after["status"], after["assignee_id"]) == ("pending", me)

    unassigned = await client.patch(url, json={"assignee_id": None}, headers=auth)
    assert unassigned.json()["assignee_id"] is None
    assert unassigned.json()["status"] == "pending"  # only what was sent changes


async def test_snooze_needs_a_time_and_reopening_clears_it(client, auth, three):
    url = f"{API}/{three['ann']['id']}"
    refused = await client.patch(url, json={"status": "snoozed"}, headers=auth)
    assert refused.status_code == 422
    assert refused.json() == {"detail": "snoozing needs snoozed_until"}
    assert (await client.get(url, headers=auth)).json()["status"] == "open"

    snoozed = await client.patch(url, json={"status": "snoozed", "snoozed_until": "2030-01-01T09:00:00Z"}, headers=auth)
    assert snoozed.status_code == 200
    assert snoozed.json()["status"] == "snoozed"
    assert snoozed.json()["snoozed_until"].startswith("2030-01-01T09:00:00")

    reopened = await client.patch(url, json={"status": "open"}, headers=auth)
    assert reopened.json()["status"] == "open" and reopened.json()["snoozed_until"] is None


async def test_patch_with_an_unknown_or_deactivated_assignee_is_422(client, auth, three):
    url = f"{API}/{three['ann']['id']}"
    response = await client.patch(url, json={"assignee_id": 9999}, headers=auth)
    assert response.status_code == 422
    assert response.json() == {"detail": "agent 9999 does not exist or is deactivated"}
    assert (await client.get(url, headers=auth)).json()["assignee_id"] is None


async def test_patch_with_an_unknown_status_is_422(client, auth, three):
    response = await client.patch(f"{API}/{three['ann']['id']}", json={"status": "closed"}, headers=auth)
    assert response.status_code == 422
    assert "detail" in response.json()


async def test_marking_read_sets_unread_to_zero(client, auth, three):
    await customer_writes(client, auth, sender="+15550001111", text="Hello?")
    url = f"{API}/{three['ann']['id']}"
    assert (await client.get(url, headers=auth)).json()["unread_count"] == 2

    response = await client.post(f"{url}/read", headers=auth)
    assert response.status_code == 200 and response.json()["unread_count"] == 0
    assert (await client.get(url, headers=auth)).json()["unread_count"] == 0
    assert three["ann"]["id"] not in await ids(client, auth, unread="true")


async def test_unknown_conversation_is_404_everywhere(client, auth):
    calls = [
        client.get(f"{API}/9999", headers=auth),
        client.patch(f"{API}/9999", json={"status": "resolved"}, headers=auth),
        client.post(f"{API}/9999/read", headers=auth),
        client.get(f"{API}/9999/messages", headers=auth),
        client.post(f"{API}/9999/messages", json={"content": "hi"}, headers=auth),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 404
        assert response.json() == {"detail": "conversation 9999 does not exist"}


# ---- messages ----


@pytest.fixture
async def five(client, auth) -> tuple[dict, list[int]]:
    """One conversation with five customer messages, m1 oldest."""
    sender = new_sender()
    for n in range(1, 6):
        conversation = await customer_writes(client, auth, sender=sender, text=f"m{n}")
    return conversation, [m["id"] for m in await list_messages(client, auth, conversation["id"])]


async def test_messages_are_listed_oldest_first(client, auth, five):
    conversation, _ = five
    reply = await client.post(f"{API}/{conversation['id']}/messages", json={"content": "r1"}, headers=auth)
    assert reply.status_code == 201
    messages = await list_messages(client, auth, conversation["id"])
    assert [m["content"] for m in messages] == ["m1", "m2", "m3", "m4", "m5", "r1"]
    assert [m["direction"] for m in messages] == ["inbound"] * 5 + ["outbound"]
    assert all(m["conversation_id"] == conversation["id"] and m["channel_id"] == 1 for m in messages)


async def test_message_pages_walk_back_through_history(client, auth, five):
    conversation, _ = five
    url = f"{API}/{conversation['id']}/messages"
    pages, cursor = [], None
    while True:
        body = (
            await client.get(url, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=auth)
        ).json()
        pages.append([m["content"] for m in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 5, "paging does not end"
    assert pages == [["m4", "m5"], ["m2", "m3"], ["m1"]]


async def test_messages_before_an_id_are_the_older_ones(client, auth, five):
    conversation, message_ids = five
    url = f"{API}/{conversation['id']}/messages"
    body = (await client.get(url, params={"before": message_ids[2]}, headers=auth)).json()
    assert [m["content"] for m in body["items"]] == ["m1", "m2"]
    assert body["next_cursor"] is None
    body = (await client.get(url, params={"before": message_ids[4], "limit": 2}, headers=auth)).json()
    assert [m["content"] for m in body["items"]] == ["m3", "m4"]
    assert body["next_cursor"] is not None


async def test_message_limit_over_100_is_422(client, auth, five):
    conversation, _ = five
    response = await client.get(f"{API}/{conversation['id']}/messages", params={"limit": 101}, headers=auth)
    assert response.status_code == 422
