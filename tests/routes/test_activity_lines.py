"""Status and assignment changes are written in the thread as activity lines (through the API), a new assignee
is told, auto-resolve and the end of a snooze write theirs; and the channel's assignment settings are checked."""

from __future__ import annotations

import httpx
import pytest

from chathub import bus
from chathub.models import NotificationType
from chathub.schemas import NotificationOut
from tests.helpers.api import DEFAULT_CHANNEL_ID, WAIT_SECONDS, customer_writes, list_messages, new_sender
from tests.helpers.app import login
from tests.helpers.waiting import eventually

BOB = {"email": "bob@example.com", "name": "Bob", "password": "Bob-pass-12"}


async def activity_lines(http: httpx.AsyncClient, auth: dict, conversation_id: int) -> list[str]:
    return [m["content"] for m in await list_messages(http, auth, conversation_id) if m["kind"] == "activity"]


async def patch(http: httpx.AsyncClient, auth: dict, conversation_id: int, **changes) -> dict:
    response = await http.patch(f"/api/v1/conversations/{conversation_id}", json=changes, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


async def add_bob(http: httpx.AsyncClient, auth: dict) -> int:
    response = await http.post("/api/v1/agents", json=BOB, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def admin_id_of(http: httpx.AsyncClient, auth: dict) -> int:
    agents = (await http.get("/api/v1/agents", headers=auth)).json()["items"]
    return next(agent["id"] for agent in agents if agent["name"] == "Admin")


async def test_status_and_assignment_changes_are_written_in_the_thread(client, auth):
    bob_id = await add_bob(client, auth)
    admin_id = await admin_id_of(client, auth)
    conversation_id = (await customer_writes(client, auth, sender=new_sender()))["id"]

    await patch(client, auth, conversation_id, assignee_id=bob_id)
    await patch(client, auth, conversation_id, assignee_id=admin_id)
    await patch(client, auth, conversation_id, assignee_id=None)
    await patch(client, auth, conversation_id, status="pending")
    await patch(client, auth, conversation_id, status="snoozed", snoozed_until="2099-01-01T10:30:00+01:00")
    await patch(client, auth, conversation_id, status="open")
    await patch(client, auth, conversation_id, status="resolved")
    await patch(client, auth, conversation_id, status="resolved")  # nothing changes: no line

    assert await activity_lines(client, auth, conversation_id) == [
        "Admin assigned the conversation to Bob",
        "Admin took the conversation",
        "Admin unassigned the conversation",
        "Admin marked the conversation pending",
        "Admin snoozed the conversation until Thu 01 Jan 2099, 09:30 UTC",
        "Admin reopened the conversation",
        "Admin resolved the conversation",
    ]
    lines = [m for m in await list_messages(client, auth, conversation_id) if m["kind"] == "activity"]
    assert {(m["agent_id"], m["direction"], m["private"]) for m in lines} == {(admin_id, "outbound", False)}


async def test_a_new_assignee_is_told_unless_they_took_it_themselves(client, auth):
    told: list[NotificationOut] = []
    bus.notification_created.subscribe(told.append)
    bob_id = await add_bob(client, auth)
    admin_id = await admin_id_of(client, auth)
    conversation_id = (await customer_writes(client, auth, sender=new_sender(), name="Maria"))["id"]

    await patch(client, auth, conversation_id, assignee_id=bob_id)
    bob = await login(client, BOB["email"], BOB["password"])
    await patch(client, bob, conversation_id, assignee_id=None)
    await patch(client, bob, conversation_id, assignee_id=bob_id)  # Bob takes it: he knows

    assert [(n.agent_id, n.type, n.actor_id, n.conversation_id, n.text) for n in told] == [
        (bob_id, NotificationType.assigned, admin_id, conversation_id, "Admin assigned you the conversation with Maria")
    ]
    assert (await activity_lines(client, auth, conversation_id))[-2:] == [
        "Bob unassigned the conversation",
        "Bob took the conversation",
    ]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"max_open_per_agent": -1}, "max_open_per_agent"),
        ({"max_open_per_agent": "3"}, "max_open_per_agent"),
        ({"max_open_per_agent": 2.5}, "max_open_per_agent"),
        ({"max_open_per_agent": None}, "max_open_per_agent"),
        ({"auto_assign": "yes"}, "auto_assign"),
        ({"auto_assign": None}, "auto_assign"),
        ({"auto_asign": True}, "auto_asign"),
    ],
)
async def test_bad_assignment_settings_are_422_and_change_nothing(client, auth, body, named):
    response = await client.patch(f"/api/v1/channels/{DEFAULT_CHANNEL_ID}", json=body, headers=auth)
    assert response.status_code == 422, response.text
    assert named in response.text
    channel = (await client.get("/api/v1/channels", headers=auth)).json()["items"][0]
    assert (channel["auto_assign"], channel["max_open_per_agent"]) == (False, 0)


async def test_only_admins_change_assignment_settings(client, auth):
    await add_bob(client, auth)
    bob = await login(client, BOB["email"], BOB["password"])
    response = await client.patch(f"/api/v1/channels/{DEFAULT_CHANNEL_ID}", json={"auto_assign": True}, headers=bob)
    assert response.status_code == 403, response.text


async def test_a_new_channel_can_assign_from_the_start(client, auth):
    body = {"type": "simulator", "name": "Sales", "auto_assign": True, "max_open_per_agent": 5}
    response = await client.post("/api/v1/channels", json=body, headers=auth)
    assert response.status_code == 201, response.text
    assert (response.json()["auto_assign"], response.json()["max_open_per_agent"]) == (True, 5)


@pytest.fixture
def quick_auto_resolve(monkeypatch: pytest.MonkeyPatch, chathub_env) -> None:
    monkeypatch.setenv("CHATHUB_AUTO_RESOLVE_HOURS", str(2 / 3600))  # two seconds; the job looks every 0.2 s


async def test_a_quiet_conversation_is_resolved_with_a_line_and_a_snoozed_one_is_left(quick_auto_resolve, client, auth):
    snoozed_id = (await customer_writes(client, auth, sender=new_sender()))["id"]
    await patch(client, auth, snoozed_id, status="snoozed", snoozed_until="2099-01-01T00:00:00Z")
    quiet_id = (await customer_writes(client, auth, sender=new_sender()))["id"]

    async def resolved():
        return (await client.get(f"/api/v1/conversations/{quiet_id}", headers=auth)).json()["status"] == "resolved"

    await eventually(resolved, timeout=WAIT_SECONDS)
    assert await activity_lines(client, auth, quiet_id) == ["Resolved after 2 seconds without messages"]
    assert (await client.get(f"/api/v1/conversations/{snoozed_id}", headers=auth)).json()["status"] == "snoozed"


async def test_a_snooze_ending_is_written_in_the_thread(monkeypatch: pytest.MonkeyPatch, chathub_env):
    from tests.helpers.app import running_app

    monkeypatch.setenv("CHATHUB_SNOOZE_CHECK_SECONDS", "0.2")
    async with running_app() as http:
        auth = await login(http)
        conversation_id = (await customer_writes(http, auth, sender=new_sender()))["id"]
        await patch(http, auth, conversation_id, status="snoozed", snoozed_until="2000-01-01T00:00:00Z")

        async def woke():
            return (await http.get(f"/api/v1/conversations/{conversation_id}", headers=auth)).json()["status"] == "open"

        await eventually(woke, timeout=WAIT_SECONDS)
        assert (await activity_lines(http, auth, conversation_id))[-1] == "Snooze ended"
