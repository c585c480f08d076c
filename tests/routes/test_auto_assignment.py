"""Automatic assignment through the running app: agents are online because their tabs are open (real presence),
customers write in through the simulator webhook, and what is assigned is read back from the API."""

from __future__ import annotations

from collections import Counter

import httpx
from nicegui.testing import User

from chathub import bus
from chathub.models import NotificationType
from chathub.schemas import NotificationOut
from chathub.services import presence
from tests.helpers.api import DEFAULT_CHANNEL_ID, WAIT_SECONDS, list_messages
from tests.helpers.app import login
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message

PASSWORD = "Agent-pass-12"


async def add_agent(http: httpx.AsyncClient, auth: dict, name: str) -> int:
    email = f"{name.lower()}@example.com"
    response = await http.post(
        "/api/v1/agents", json={"email": email, "name": name, "password": PASSWORD}, headers=auth
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def come_online(tab: User, agent_id: int, name: str) -> None:
    await sign_in(tab, f"{name.lower()}@example.com", PASSWORD)
    await tab.open("/")

    async def online():
        return presence.agent_status(agent_id) == "online"

    await eventually(online)


async def assign_automatically(http: httpx.AsyncClient, auth: dict, limit: int) -> None:
    response = await http.patch(
        f"/api/v1/channels/{DEFAULT_CHANNEL_ID}",
        json={"auto_assign": True, "max_open_per_agent": limit},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    assert (response.json()["auto_assign"], response.json()["max_open_per_agent"]) == (True, limit)


def phone_of(name: str) -> str:
    return f"+1555{abs(hash(name)) % 10**7:07d}"


async def customers_write(http: httpx.AsyncClient, *names: str) -> None:
    for name in names:
        response = await post_webhook(http, seed_message(message_id=f"m-{name}", sender=phone_of(name), name=name))
        assert response.status_code == 200, response.text


async def conversations_by_customer(http: httpx.AsyncClient, auth: dict) -> dict[str, dict]:
    response = await http.get("/api/v1/conversations", params={"limit": 100}, headers=auth)
    assert response.status_code == 200, response.text
    return {item["customer"]["name"]: item for item in response.json()["items"]}


async def assignees_once_settled(http: httpx.AsyncClient, auth: dict, names: list[str], assigned: int) -> dict:
    """Each customer's assignee, once all their conversations exist and `assigned` of them are assigned."""

    async def settled():
        found = await conversations_by_customer(http, auth)
        if not set(names) <= set(found):
            return None
        assignees = {name: found[name]["assignee_id"] for name in names}
        return assignees if sum(1 for a in assignees.values() if a is not None) == assigned else None

    return await eventually(settled, timeout=WAIT_SECONDS)


async def activity_lines(http: httpx.AsyncClient, auth: dict, conversation_id: int) -> list[str]:
    return [m["content"] for m in await list_messages(http, auth, conversation_id) if m["kind"] == "activity"]


async def team_on_assigning_channel(user: User, limit: int, *names: str) -> tuple[httpx.AsyncClient, dict, list[int]]:
    """The admin's API client, and the ids of new agents with these names; the channel assigns automatically."""
    http = user.http_client
    auth = await login(http)
    ids = [await add_agent(http, auth, name) for name in names]
    await assign_automatically(http, auth, limit)
    return http, auth, ids


async def test_auto_assignment_respects_the_limit_with_two_agents_online(user: User, create_user):
    http, auth, (bob_id, carol_id) = await team_on_assigning_channel(user, 3, "Bob", "Carol")
    await come_online(user, bob_id, "Bob")
    await come_online(create_user(), carol_id, "Carol")
    names = [f"Customer {n:02d}" for n in range(1, 11)]

    await customers_write(http, *names)

    assignees = await assignees_once_settled(http, auth, names, assigned=6)
    assert Counter(assignees.values()) == {bob_id: 3, carol_id: 3, None: 4}
    found = await conversations_by_customer(http, auth)
    oldest_first = sorted(names, key=lambda name: found[name]["id"])
    # the oldest conversations first, taking turns (a tie goes to the one assigned longest ago)
    assert [assignees[name] for name in oldest_first] == [bob_id, carol_id] * 3 + [None] * 4

    resolved = await http.patch(
        f"/api/v1/conversations/{found[oldest_first[0]]['id']}", json={"status": "resolved"}, headers=auth
    )
    assert resolved.status_code == 200, resolved.text

    assignees = await assignees_once_settled(http, auth, names, assigned=7)
    assert assignees[oldest_first[6]] == bob_id  # the oldest waiting one, to the agent who has room again
    assert [name for name in oldest_first if assignees[name] is None] == oldest_first[7:]
    assert await activity_lines(http, auth, found[oldest_first[6]]["id"]) == ["Assigned to Bob by rule"]


async def test_nobody_online_leaves_conversations_waiting_until_an_agent_comes_online(user: User):
    http, auth, (bob_id,) = await team_on_assigning_channel(user, 0, "Bob")
    await customers_write(http, "Maria", "Ines")
    found = await eventually(lambda: _both_listed(http, auth), timeout=WAIT_SECONDS)
    assert [found[name]["assignee_id"] for name in ("Maria", "Ines")] == [None, None]

    told: list[NotificationOut] = []
    bus.notification_created.subscribe(told.append)

    await come_online(user, bob_id, "Bob")

    assignees = await assignees_once_settled(http, auth, ["Maria", "Ines"], assigned=2)
    assert assignees == {"Maria": bob_id, "Ines": bob_id}
    assert sorted((n.agent_id, n.type, n.actor_id, n.text) for n in told) == [
        (bob_id, NotificationType.assigned, None, "Conversation with Ines assigned to you"),
        (bob_id, NotificationType.assigned, None, "Conversation with Maria assigned to you"),
    ]


async def _both_listed(http, auth):
    found = await conversations_by_customer(http, auth)
    return found if {"Maria", "Ines"} <= set(found) else None


async def test_a_tie_goes_to_the_agent_assigned_longest_ago(user: User, create_user):
    http, auth, (carol_id, bob_id) = await team_on_assigning_channel(user, 0, "Carol", "Bob")
    await come_online(user, carol_id, "Carol")
    await customers_write(http, "Anna")
    assert (await assignees_once_settled(http, auth, ["Anna"], assigned=1)) == {"Anna": carol_id}
    anna = (await conversations_by_customer(http, auth))["Anna"]
    await http.patch(f"/api/v1/conversations/{anna['id']}", json={"status": "resolved"}, headers=auth)
    await come_online(create_user(), bob_id, "Bob")

    # both have no open conversation: Bob, never assigned, comes before Carol (whose id is lower)
    await customers_write(http, "Bruno")
    assert (await assignees_once_settled(http, auth, ["Bruno"], assigned=1)) == {"Bruno": bob_id}
    await customers_write(http, "Chloe")  # fewest open: Carol
    await assignees_once_settled(http, auth, ["Bruno", "Chloe"], assigned=2)
    await customers_write(http, "Dario")  # one each: Bob was assigned longer ago
    assignees = await assignees_once_settled(http, auth, ["Bruno", "Chloe", "Dario"], assigned=3)
    assert assignees == {"Bruno": bob_id, "Chloe": carol_id, "Dario": bob_id}


async def test_a_customer_reopening_an_unassigned_conversation_gets_it_assigned(user: User):
    http, auth, (bob_id,) = await team_on_assigning_channel(user, 0, "Bob")
    await come_online(user, bob_id, "Bob")
    await customers_write(http, "Maria")
    await assignees_once_settled(http, auth, ["Maria"], assigned=1)
    maria = (await conversations_by_customer(http, auth))["Maria"]
    response = await http.patch(
        f"/api/v1/conversations/{maria['id']}", json={"status": "resolved", "assignee_id": None}, headers=auth
    )
    assert response.status_code == 200, response.text

    await post_webhook(http, seed_message(message_id="m-Maria-again", sender=phone_of("Maria"), name="Maria"))

    assert await assignees_once_settled(http, auth, ["Maria"], assigned=1) == {"Maria": bob_id}
    assert (await conversations_by_customer(http, auth))["Maria"]["status"] == "open"
    assert await activity_lines(http, auth, maria["id"]) == [
        "Assigned to Bob by rule",
        "Admin resolved the conversation",
        "Admin unassigned the conversation",
        "Assigned to Bob by rule",
    ]
