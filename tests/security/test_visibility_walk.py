"""Who sees what, walked: Cal is limited to his own and unassigned conversations. Every route the app serves is
called as Cal, aimed at Bertha's conversation (Bea's) wherever a route names one, and nothing of it may come
back: lists, search by her name and by her words, her file, her customer record and her conversation answer as
if she never wrote (404 where a route names her things). A route added later fails the walk until it says how
to call it here. Pages are walked as Cal the same way (tests/pages/test_visibility.py follows live events)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from chathub.pages import PAGES
from chathub.schemas import MessageIn
from chathub.services import notifications
from tests.helpers.api import customer_writes
from tests.helpers.team import CAL, Team, assign, make_team
from tests.security.test_doors import DOCS, PUBLIC, SIGNED_LINKS, WEBHOOKS, app_routes, nicegui_internal


@dataclass
class Call:
    path: str
    expect: int
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    files: dict[str, Any] | None = None
    headers: dict[str, str] | None = None  # Cal's token unless given


HIDDEN_CONVERSATION = 404  # what Cal gets for anything of Bertha's conversation: as if it never existed
ADMINS_ONLY = 403


def api_calls(team: Team) -> dict[tuple[str, str], list[Call]]:
    """How to call each route as Cal, aimed at Bertha's things."""
    conversation, customer, file = team.bertha_conversation, team.bertha_customer, team.bertha_file_message
    on_bertha = f"/api/v1/conversations/{conversation}"
    searches = [
        {},
        {"q": "Bertha"},
        {"q": "zebrafinch"},
        {"q": team.bertha_phone},
        {"customer_id": customer},
        {"assignee_id": team.bea_id},
        {"status": "open", "unread": "true"},
    ]
    return {
        ("POST", "/api/v1/auth/login"): [Call("/api/v1/auth/login", 200, json=_login())],
        ("GET", "/healthz"): [Call("/healthz", 200)],
        ("GET", "/signin/complete"): [Call("/signin/complete", 303)],
        ("GET", "/api/v1/channels"): [Call("/api/v1/channels", 200)],
        ("POST", "/api/v1/channels"): [Call("/api/v1/channels", ADMINS_ONLY, json={})],
        ("PATCH", "/api/v1/channels/{channel_id}"): [Call("/api/v1/channels/1", ADMINS_ONLY, json={})],
        ("GET", "/api/v1/channels/{channel_id}/health"): [Call("/api/v1/channels/1/health", ADMINS_ONLY)],
        ("GET", "/api/v1/conversations"): [Call("/api/v1/conversations", 200, params=p) for p in searches],
        ("GET", "/api/v1/conversations/{conversation_id}"): [Call(on_bertha, HIDDEN_CONVERSATION)],
        ("PATCH", "/api/v1/conversations/{conversation_id}"): [
            Call(on_bertha, HIDDEN_CONVERSATION, json={"status": "resolved"}),
            Call(on_bertha, HIDDEN_CONVERSATION, json={"assignee_id": team.cal_id}),
        ],
        ("POST", "/api/v1/conversations/{conversation_id}/read"): [Call(f"{on_bertha}/read", HIDDEN_CONVERSATION)],
        ("GET", "/api/v1/conversations/{conversation_id}/messages"): [
            Call(f"{on_bertha}/messages", HIDDEN_CONVERSATION)
        ],
        ("POST", "/api/v1/conversations/{conversation_id}/messages"): [
            Call(f"{on_bertha}/messages", HIDDEN_CONVERSATION, json=body)
            for body in ({"content": "Cal was here"}, {"content": "Cal's note", "private": True})
            if body.keys() <= MessageIn.model_fields.keys()  # private notes: once the API takes them
        ],
        ("POST", "/api/v1/conversations/{conversation_id}/attachments"): [
            Call(f"{on_bertha}/attachments", HIDDEN_CONVERSATION, files={"file": ("cal.txt", b"cal", "text/plain")})
        ],
        ("POST", "/api/v1/messages/{message_id}/retry"): [Call(f"/api/v1/messages/{file}/retry", HIDDEN_CONVERSATION)],
        ("GET", "/media/{message_id}"): [Call(f"/media/{file}", HIDDEN_CONVERSATION)],
        ("GET", "/api/v1/customers"): [
            Call("/api/v1/customers", 200, params=p) for p in ({}, {"q": "Bertha"}, {"q": team.bertha_phone})
        ],
        ("GET", "/api/v1/customers/{customer_id}"): [Call(f"/api/v1/customers/{customer}", HIDDEN_CONVERSATION)],
        ("PATCH", "/api/v1/customers/{customer_id}"): [
            Call(f"/api/v1/customers/{customer}", HIDDEN_CONVERSATION, json={"notes": "Cal was here"})
        ],
        # the raw webhooks hold every customer's words: not for an agent limited to their own conversations
        ("GET", "/api/v1/webhook-logs"): [Call("/api/v1/webhook-logs", ADMINS_ONLY)],
        ("GET", "/api/v1/webhook-logs/{log_id}"): [Call("/api/v1/webhook-logs/1", ADMINS_ONLY)],
        ("POST", "/api/v1/webhook-logs/{log_id}/replay"): [Call("/api/v1/webhook-logs/1/replay", ADMINS_ONLY)],
        ("GET", "/api/v1/agents"): [Call("/api/v1/agents", 200)],
        ("POST", "/api/v1/agents"): [Call("/api/v1/agents", ADMINS_ONLY, json={})],
        ("PATCH", "/api/v1/agents/{agent_id}"): [
            Call(f"/api/v1/agents/{team.cal_id}", ADMINS_ONLY, json={"sees": "all"})
        ],
        ("GET", "/api/v1/notifications"): [Call("/api/v1/notifications", 200)],
        ("POST", "/api/v1/notifications/read-all"): [Call("/api/v1/notifications/read-all", 200)],
        # Bea's "assigned" notification about Bertha's conversation: another agent's is not there for Cal
        ("POST", "/api/v1/notifications/{notification_id}/read"): [Call("/api/v1/notifications/1/read", 404)],
        ("GET", "/api/v1/canned-responses"): [Call("/api/v1/canned-responses", 200)],
        ("POST", "/api/v1/canned-responses"): [Call("/api/v1/canned-responses", 422, json={})],
        ("PATCH", "/api/v1/canned-responses/{canned_id}"): [Call("/api/v1/canned-responses/1", 404, json={})],
        ("DELETE", "/api/v1/canned-responses/{canned_id}"): [Call("/api/v1/canned-responses/1", 404)],
        ("GET", "/api/v1/labels"): [Call("/api/v1/labels", 200)],
        ("POST", "/api/v1/labels"): [Call("/api/v1/labels", ADMINS_ONLY, json={"name": "x", "color": "#112233"})],
        ("PATCH", "/api/v1/labels/{label_id}"): [Call("/api/v1/labels/1", ADMINS_ONLY, json={})],
        ("DELETE", "/api/v1/labels/{label_id}"): [Call("/api/v1/labels/1", ADMINS_ONLY)],
        ("POST", "/api/v1/conversations/{conversation_id}/labels"): [
            Call(f"{on_bertha}/labels", HIDDEN_CONVERSATION, json={"label": "refund"})
        ],
        ("DELETE", "/api/v1/conversations/{conversation_id}/labels/{name}"): [
            Call(f"{on_bertha}/labels/refund", HIDDEN_CONVERSATION)
        ],
    }


def _login() -> dict[str, str]:
    return {"email": CAL["email"], "password": CAL["password"]}


# Not called as Cal, and why.
NOT_CALLED = {
    **{route: "providers post here, signed; they answer no agent" for route in WEBHOOKS},
    **{route: "serves only with a signature made for the provider" for route in SIGNED_LINKS},
    **{("GET", path): "a page: walked in test_every_page_shows_cal_nothing_of_berthas_conversation" for path in PAGES},
}
WALKED_AS_PUBLIC = PUBLIC | DOCS


def unknown_routes(calls: dict) -> list[tuple[str, str]]:
    served = {route for route in app_routes() if not nicegui_internal(route[1])}
    return sorted(served - calls.keys() - NOT_CALLED.keys() - WALKED_AS_PUBLIC)


def leaks(team: Team, response: httpx.Response) -> list[str]:
    text = response.text
    return [secret for secret in team.hidden if secret.lower() in text.lower()]


async def call(http: httpx.AsyncClient, team: Team, method: str, request: Call) -> httpx.Response:
    return await http.request(
        method,
        request.path,
        params=request.params,
        json=request.json,
        files=request.files,
        headers=request.headers or team.cal,
    )


async def test_walking_every_api_route_as_a_limited_agent_shows_nothing_of_another_agents_conversation(client):
    team = await make_team(client)
    calls = api_calls(team)
    assert unknown_routes(calls) == [], "routes the walk does not know how to call: add them to api_calls"
    served = app_routes()
    wrong = []
    for route, requests in calls.items():
        if route not in served:
            continue
        for request in requests:
            response = await call(client, team, route[0], request)
            if response.status_code != request.expect or leaks(team, response):
                wrong.append((route, request.params, response.status_code, leaks(team, response)))
    for method, path in sorted(DOCS | PUBLIC):
        if method == "GET" and (method, path) not in calls:
            response = await client.get(path, follow_redirects=True)
            if leaks(team, response):
                wrong.append(((method, path), {}, response.status_code, leaks(team, response)))
    assert wrong == [], "routes that answered Cal wrongly or showed him Bertha's conversation"
    await nothing_of_berthas_changed(client, team)


async def nothing_of_berthas_changed(client: httpx.AsyncClient, team: Team) -> None:
    """Cal's writes were refused: no message, status, note or read mark reached her conversation or record."""
    conversation = (await client.get(f"/api/v1/conversations/{team.bertha_conversation}", headers=team.admin)).json()
    assert conversation["status"] == "open" and conversation["assignee_id"] == team.bea_id
    assert conversation["unread_count"] == 1
    messages = await client.get(f"/api/v1/conversations/{team.bertha_conversation}/messages", headers=team.admin)
    contents = [m["content"] for m in messages.json()["items"] if m.get("kind", "message") == "message"]
    assert sorted(contents) == ["", "zebrafinch parcel", "zebrafinch still missing"]  # the file is captionless
    customer = (await client.get(f"/api/v1/customers/{team.bertha_customer}", headers=team.admin)).json()
    assert customer["notes"] == ""


async def test_a_limited_agent_lists_their_own_and_unassigned_conversations_and_customers(client):
    team = await make_team(client)
    listed = (await client.get("/api/v1/conversations", headers=team.cal)).json()["items"]
    assert {c["id"] for c in listed} == {team.carl_conversation, team.una_conversation}
    customers = (await client.get("/api/v1/customers", headers=team.cal)).json()["items"]
    assert sorted(c["name"] for c in customers) == ["Carl Own", "Una Open"]
    own = await client.get(f"/api/v1/conversations/{team.carl_conversation}/messages", headers=team.cal)
    assert own.status_code == 200


async def test_an_agent_who_sees_all_and_an_admin_see_every_conversation_customer_and_file(client):
    team = await make_team(client)
    limited_admin = await client.patch("/api/v1/agents/1", json={"sees": "mine_and_unassigned"}, headers=team.admin)
    assert limited_admin.status_code == 200  # an admin's setting is kept, and ignored: admins see all
    every = {team.bertha_conversation, team.carl_conversation, team.una_conversation}
    for headers in (team.bea, team.admin):
        listed = (await client.get("/api/v1/conversations", headers=headers)).json()["items"]
        assert {c["id"] for c in listed} == every
        found = (await client.get("/api/v1/conversations", params={"q": "zebrafinch"}, headers=headers)).json()
        assert [c["id"] for c in found["items"]] == [team.bertha_conversation]
        customers = (await client.get("/api/v1/customers", headers=headers)).json()["items"]
        assert "Bertha Hidden" in {c["name"] for c in customers}
        media = await client.get(f"/media/{team.bertha_file_message}", headers=headers)
        assert media.status_code == 200 and media.content == b"bertha's invoice: quokka"


async def test_an_agent_assigned_a_conversation_sees_it_and_loses_it_when_it_is_handed_on(client):
    team = await make_team(client)
    path = f"/api/v1/conversations/{team.una_conversation}"
    taken = await client.patch(path, json={"assignee_id": team.cal_id}, headers=team.cal)
    assert taken.status_code == 200 and taken.json()["assignee_id"] == team.cal_id
    handed = await client.patch(path, json={"assignee_id": team.bea_id}, headers=team.cal)
    assert handed.status_code == 200 and handed.json()["assignee_id"] == team.bea_id
    assert (await client.get(path, headers=team.cal)).status_code == 404
    assert (await client.get(path, headers=team.bea)).status_code == 200


async def test_only_all_or_mine_and_unassigned_are_taken_for_what_an_agent_sees(client):
    team = await make_team(client)
    for sees in ("mine", None, "ALL", 1):
        response = await client.patch(f"/api/v1/agents/{team.bea_id}", json={"sees": sees}, headers=team.admin)
        assert response.status_code == 422 and "sees" in response.text, (sees, response.text)
    agents = (await client.get("/api/v1/agents", headers=team.admin)).json()["items"]
    assert {a["id"]: a["sees"] for a in agents}[team.bea_id] == "all"


async def test_a_limited_agent_mentioned_in_a_note_on_another_agents_conversation_is_not_told_of_it(client):
    team = await make_team(client)
    note = {"content": "@Cal Limited zebrafinch again?", "private": True, "mentions": [team.cal_id, team.bea_id]}
    on_bertha = f"/api/v1/conversations/{team.bertha_conversation}/messages"
    sent = await client.post(on_bertha, json=note, headers=team.admin)
    assert sent.status_code == 201, sent.text

    told = (await client.get("/api/v1/notifications", headers=team.cal)).json()["items"]
    assert [n for n in told if n["conversation_id"] == team.bertha_conversation] == []
    bea_told = (await client.get("/api/v1/notifications", headers=team.bea)).json()["items"]
    assert any(n["type"] == "mention" for n in bea_told)


async def test_a_conversation_handed_on_takes_its_notifications_out_of_a_limited_agents_list_and_count(client):
    team = await make_team(client)  # the admin assigned Carl's conversation to Cal: Cal was told
    await customer_writes(client, team.admin, sender=team.carl_phone, text="Carl: any news on zebrafinch?")

    def about_carl(items: list[dict]) -> list[str]:
        return [n["text"] for n in items if n["conversation_id"] == team.carl_conversation]

    told = (await client.get("/api/v1/notifications", headers=team.cal)).json()["items"]
    assert len(about_carl(told)) == 2 and any("any news" in text for text in about_carl(told))
    unread_before = await notifications.unread_count(team.cal_id)

    await assign(client, team.admin, team.carl_conversation, team.bea_id)

    for params in ({}, {"unread_only": "true"}):
        told = (await client.get("/api/v1/notifications", params=params, headers=team.cal)).json()["items"]
        assert about_carl(told) == []
    assert await notifications.unread_count(team.cal_id) == unread_before - 2  # the bell's count
