"""Labels and priority through the API: admins define labels, any agent puts them on conversations, conversations
carry their label names and priority, and the inbox list filters and sorts by them. Each change writes one
activity line in the thread."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers.api import customer_writes, list_messages
from tests.helpers.app import login

LABELS = "/api/v1/labels"
CONVERSATIONS = "/api/v1/conversations"
AGENT = {"email": "bob@example.com", "name": "Bob", "password": "Bob-pass-123"}


async def label(client, auth, name: str, **fields) -> dict:
    response = await client.post(LABELS, json={"name": name, **fields}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def agent_auth(client, auth) -> dict[str, str]:
    assert (await client.post("/api/v1/agents", json=AGENT, headers=auth)).status_code == 201
    return await login(client, AGENT["email"], AGENT["password"])


async def listed_ids(client, auth, **params) -> list[int]:
    response = await client.get(CONVERSATIONS, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [conversation["id"] for conversation in response.json()["items"]]


async def activity_lines(client, auth, conversation_id: int) -> list[str]:
    return [m["content"] for m in await list_messages(client, auth, conversation_id) if m["kind"] == "activity"]


@pytest.fixture
async def two(client, auth) -> list[dict]:
    """Ann wrote first, then Cy."""
    return [
        await customer_writes(client, auth, sender="+15550001111", text="My parcel is late"),
        await customer_writes(client, auth, sender="+15550002222", text="I want a refund"),
    ]


# ---- the labels ----


async def test_an_admin_creates_edits_and_lists_labels_and_agents_read_them(client, auth):
    created = await label(client, auth, " Refund ", color="#FF0000", description="Wants money back")
    assert created == {"id": created["id"], "name": "Refund", "color": "#ff0000", "description": "Wants money back"}
    await label(client, auth, "billing")

    edited = await client.patch(f"{LABELS}/{created['id']}", json={"color": "#00aa00"}, headers=auth)
    assert edited.status_code == 200 and edited.json()["color"] == "#00aa00"

    bob = await agent_auth(client, auth)
    listed = (await client.get(LABELS, headers=bob)).json()["items"]
    assert [(item["name"], item["color"]) for item in listed] == [("billing", "#1976d2"), ("Refund", "#00aa00")]


async def test_agents_may_not_create_edit_or_delete_labels(client, auth):
    refund = await label(client, auth, "refund")
    bob = await agent_auth(client, auth)

    for response in (
        await client.post(LABELS, json={"name": "vip"}, headers=bob),
        await client.patch(f"{LABELS}/{refund['id']}", json={"name": "money"}, headers=bob),
        await client.delete(f"{LABELS}/{refund['id']}", headers=bob),
    ):
        assert response.status_code == 403
        assert response.json() == {"detail": "only admins may do this"}
    assert [item["name"] for item in (await client.get(LABELS, headers=auth)).json()["items"]] == ["refund"]


@pytest.mark.parametrize("name", ["refund", "REFUND", " Refund "])
async def test_a_label_name_taken_in_any_case_is_409(client, auth, name):
    await label(client, auth, "Refund")
    response = await client.post(LABELS, json={"name": name}, headers=auth)
    assert response.status_code == 409
    assert "Refund" in response.json()["detail"] or "refund" in response.json()["detail"].lower()
    assert len((await client.get(LABELS, headers=auth)).json()["items"]) == 1


async def test_renaming_to_a_taken_name_is_409_and_changes_nothing(client, auth):
    await label(client, auth, "refund")
    vip = await label(client, auth, "vip")
    response = await client.patch(f"{LABELS}/{vip['id']}", json={"name": "Refund", "color": "#000000"}, headers=auth)
    assert response.status_code == 409
    listed = (await client.get(LABELS, headers=auth)).json()["items"]
    assert [(item["name"], item["color"]) for item in listed] == [("refund", "#1976d2"), ("vip", "#1976d2")]


async def test_two_admins_creating_one_name_at_once_get_one_label_and_a_409(client, auth):
    answers = await asyncio.gather(
        client.post(LABELS, json={"name": "Refund"}, headers=auth),
        client.post(LABELS, json={"name": "refund"}, headers=auth),
    )
    assert sorted(answer.status_code for answer in answers) == [201, 409]
    assert len((await client.get(LABELS, headers=auth)).json()["items"]) == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"name": "two\nlines"}, "name"),
        ({"name": "two\u2028lines"}, "name"),
        ({"name": "ok", "color": "red"}, "color"),
        ({"name": "ok", "color": "#12345"}, "color"),
        ({"name": "ok", "color": "#1234567"}, "color"),
        ({"name": "ok", "colour": "#123456"}, "colour"),
    ],
)
async def test_a_bad_label_is_422_naming_the_field_and_changes_nothing(client, auth, body, field):
    response = await client.post(LABELS, json=body, headers=auth)
    assert response.status_code == 422
    assert field in str(response.json()["detail"])
    assert (await client.get(LABELS, headers=auth)).json()["items"] == []


async def test_an_unknown_label_id_is_404(client, auth):
    assert (await client.patch(f"{LABELS}/999", json={"name": "x"}, headers=auth)).status_code == 404
    assert (await client.delete(f"{LABELS}/999", headers=auth)).status_code == 404


# ---- labels on conversations ----


async def test_an_agent_labels_a_conversation_and_it_carries_the_name(client, auth, two):
    await label(client, auth, "refund")
    await label(client, auth, "Billing")
    bob = await agent_auth(client, auth)
    conversation_id = two[1]["id"]

    added = await client.post(f"{CONVERSATIONS}/{conversation_id}/labels", json={"label": "REFUND"}, headers=bob)
    assert added.status_code == 200 and added.json()["labels"] == ["refund"]
    await client.post(f"{CONVERSATIONS}/{conversation_id}/labels", json={"label": "billing"}, headers=bob)

    shown = (await client.get(f"{CONVERSATIONS}/{conversation_id}", headers=bob)).json()
    assert shown["labels"] == ["Billing", "refund"]
    listed = (await client.get(CONVERSATIONS, headers=bob)).json()["items"]
    assert [item["labels"] for item in listed] == [["Billing", "refund"], []]
    assert await activity_lines(client, auth, conversation_id) == ["Bob added label refund", "Bob added label Billing"]


async def test_adding_a_label_already_there_is_200_without_a_second_line(client, auth, two):
    await label(client, auth, "refund")
    path = f"{CONVERSATIONS}/{two[0]['id']}/labels"
    first = await client.post(path, json={"label": "refund"}, headers=auth)
    again = await client.post(path, json={"label": "Refund"}, headers=auth)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["labels"] == ["refund"]
    assert len(await activity_lines(client, auth, two[0]["id"])) == 1


async def test_two_agents_adding_one_label_at_once_put_it_on_once(client, auth, two):
    await label(client, auth, "refund")
    path = f"{CONVERSATIONS}/{two[0]['id']}/labels"
    answers = await asyncio.gather(*(client.post(path, json={"label": "refund"}, headers=auth) for _ in range(2)))
    assert [answer.status_code for answer in answers] == [200, 200]
    assert all(answer.json()["labels"] == ["refund"] for answer in answers)
    assert await activity_lines(client, auth, two[0]["id"]) == ["Admin added label refund"]

    removals = await asyncio.gather(*(client.delete(f"{path}/refund", headers=auth) for _ in range(2)))
    assert sorted(answer.status_code for answer in removals) == [200, 404]
    assert len(await activity_lines(client, auth, two[0]["id"])) == 2


async def test_adding_an_unknown_label_is_422_naming_it(client, auth, two):
    response = await client.post(f"{CONVERSATIONS}/{two[0]['id']}/labels", json={"label": "vip"}, headers=auth)
    assert response.status_code == 422
    assert "vip" in response.json()["detail"]
    assert await activity_lines(client, auth, two[0]["id"]) == []


async def test_labelling_an_unknown_conversation_is_404(client, auth):
    await label(client, auth, "refund")
    response = await client.post(f"{CONVERSATIONS}/999/labels", json={"label": "refund"}, headers=auth)
    assert response.status_code == 404
    assert (await client.delete(f"{CONVERSATIONS}/999/labels/refund", headers=auth)).status_code == 404


async def test_removing_a_label_by_name_in_any_case_writes_a_line(client, auth, two):
    await label(client, auth, "Refund")
    conversation_id = two[0]["id"]
    await client.post(f"{CONVERSATIONS}/{conversation_id}/labels", json={"label": "refund"}, headers=auth)

    removed = await client.delete(f"{CONVERSATIONS}/{conversation_id}/labels/REFUND", headers=auth)
    assert removed.status_code == 200 and removed.json()["labels"] == []
    again = await client.delete(f"{CONVERSATIONS}/{conversation_id}/labels/refund", headers=auth)
    assert again.status_code == 404
    assert "refund" in again.json()["detail"]
    lines = await activity_lines(client, auth, conversation_id)
    assert lines == ["Admin added label Refund", "Admin removed label Refund"]


async def test_renaming_a_label_renames_it_on_conversations_and_deleting_takes_it_off(client, auth, two):
    refund = await label(client, auth, "refund")
    conversation_id = two[0]["id"]
    await client.post(f"{CONVERSATIONS}/{conversation_id}/labels", json={"label": "refund"}, headers=auth)

    await client.patch(f"{LABELS}/{refund['id']}", json={"name": "money back"}, headers=auth)
    assert (await client.get(f"{CONVERSATIONS}/{conversation_id}", headers=auth)).json()["labels"] == ["money back"]

    assert (await client.delete(f"{LABELS}/{refund['id']}", headers=auth)).status_code == 204
    assert (await client.get(f"{CONVERSATIONS}/{conversation_id}", headers=auth)).json()["labels"] == []
    assert (await client.get(LABELS, headers=auth)).json()["items"] == []


async def test_the_list_filters_by_labels_all_of_them(client, auth, two):
    for name in ("refund", "vip"):
        await label(client, auth, name)
    ann, cy = two[0]["id"], two[1]["id"]
    for conversation_id, name in ((ann, "refund"), (ann, "vip"), (cy, "refund")):
        await client.post(f"{CONVERSATIONS}/{conversation_id}/labels", json={"label": name}, headers=auth)

    assert await listed_ids(client, auth, label="refund") == [cy, ann]
    assert await listed_ids(client, auth, label=["Refund", "VIP"]) == [ann]
    assert await listed_ids(client, auth, label="nobody-has-this") == []


# ---- priority ----


async def test_priority_is_set_returned_and_written_in_the_thread(client, auth, two):
    conversation_id = two[0]["id"]
    path = f"{CONVERSATIONS}/{conversation_id}"
    assert (await client.get(path, headers=auth)).json()["priority"] == "none"

    high = await client.patch(path, json={"priority": "high"}, headers=auth)
    assert high.status_code == 200 and high.json()["priority"] == "high"
    await client.patch(path, json={"priority": "high"}, headers=auth)  # no change: no line
    await client.patch(path, json={"priority": "none"}, headers=auth)

    lines = await activity_lines(client, auth, conversation_id)
    assert lines == ["Admin set priority to high", "Admin removed the priority"]


@pytest.mark.parametrize("priority", ["critical", "HIGH", None, 3])
async def test_an_unknown_priority_is_422_and_changes_nothing(client, auth, two, priority):
    path = f"{CONVERSATIONS}/{two[0]['id']}"
    response = await client.patch(path, json={"priority": priority}, headers=auth)
    assert response.status_code == 422
    assert "priority" in str(response.json()["detail"])
    assert (await client.get(path, headers=auth)).json()["priority"] == "none"
    assert (await client.get(CONVERSATIONS, params={"priority": "critical"}, headers=auth)).status_code == 422


async def test_the_list_filters_by_priority(client, auth, two):
    await client.patch(f"{CONVERSATIONS}/{two[0]['id']}", json={"priority": "high"}, headers=auth)
    assert await listed_ids(client, auth, priority="high") == [two[0]["id"]]
    assert await listed_ids(client, auth, priority="none") == [two[1]["id"]]


async def test_priority_first_sorts_by_level_then_newest_activity_and_pages_through_all(client, auth):
    levels = ["low", "urgent", "none", "high", "medium", "high", "none", "urgent"]
    conversations = []
    for number, level in enumerate(levels):
        conversation = await customer_writes(client, auth, sender=f"+1555000{number:04d}", text=f"hi {number}")
        await client.patch(f"{CONVERSATIONS}/{conversation['id']}", json={"priority": level}, headers=auth)
        conversations.append((level, conversation["id"]))
    rank = {"urgent": 4, "high": 3, "medium": 2, "low": 1, "none": 0}
    expected = [cid for _, cid in sorted(conversations, key=lambda item: (rank[item[0]], item[1]), reverse=True)]

    paged, cursor = [], None
    while True:
        params = {"sort": "priority", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(CONVERSATIONS, params=params, headers=auth)).json()
        paged += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == expected
    assert await listed_ids(client, auth) == [cid for _, cid in reversed(conversations)]


async def test_a_cursor_of_the_other_sort_is_422(client, auth):
    for number in range(3):
        await customer_writes(client, auth, sender=f"+1555000{number:04d}")
    by_activity = (await client.get(CONVERSATIONS, params={"limit": 1}, headers=auth)).json()["next_cursor"]
    response = await client.get(
        CONVERSATIONS, params={"sort": "priority", "limit": 1, "cursor": by_activity}, headers=auth
    )
    assert response.status_code == 422
