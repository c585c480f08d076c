"""Who may use the REST API: bearer tokens from sign-in, and what only admins may do."""

from __future__ import annotations

import pytest

from tests.helpers.app import ADMIN_EMAIL, login

AGENT = {"email": "ben@example.com", "name": "Ben", "password": "Ben-pass-123", "role": "agent"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer chq_not-a-real-token"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}],
    ids=["no token", "unknown token", "not a bearer token"],
)
async def test_api_without_a_valid_token_is_401(client, headers):
    for path in (
        "/api/v1/conversations",
        "/api/v1/customers",
        "/api/v1/channels",
        "/api/v1/agents",
        "/api/v1/webhook-logs",
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.json() == {"detail": "a valid bearer token is required"}
    response = await client.post("/api/v1/conversations/1/messages", json={"content": "hi"}, headers=headers)
    assert response.status_code == 401


async def test_login_returns_a_token_and_the_agent(client):
    response = await client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "Admin-pass-1"})
    assert response.status_code == 200
    body = response.json()
    assert body["token"]
    assert {k: body["agent"][k] for k in ("email", "name", "role")} == {
        "email": ADMIN_EMAIL,
        "name": "Admin",
        "role": "admin",
    }
    assert isinstance(body["agent"]["id"], int)
    assert "password_hash" not in body["agent"]

    me = await client.get("/api/v1/agents", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200


async def test_login_email_ignores_case_and_surrounding_spaces(client):
    response = await client.post(
        "/api/v1/auth/login", json={"email": "  ADMIN@Example.com ", "password": "Admin-pass-1"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": ADMIN_EMAIL, "password": "Admin-pass-2"},
        {"email": "nobody@example.com", "password": "Admin-pass-1"},
        {"email": ADMIN_EMAIL, "password": ""},
    ],
    ids=["wrong password", "unknown email", "empty password"],
)
async def test_login_with_wrong_credentials_is_401(client, credentials):
    response = await client.post("/api/v1/auth/login", json=credentials)
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong email or password"}
    assert "token" not in response.json()


async def test_an_agent_can_read_but_not_manage_agents_or_channels(client, auth):
    created = await client.post("/api/v1/agents", json=AGENT, headers=auth)
    assert created.status_code == 201, created.text
    agent = await login(client, AGENT["email"], AGENT["password"])

    for path in (
        "/api/v1/agents",
        "/api/v1/channels",
        "/api/v1/conversations",
        "/api/v1/customers",
        "/api/v1/webhook-logs",
    ):
        assert (await client.get(path, headers=agent)).status_code == 200, path

    refused = [
        await client.post("/api/v1/agents", json={**AGENT, "email": "cid@example.com"}, headers=agent),
        await client.post("/api/v1/channels", json={"type": "simulator", "name": "Mine"}, headers=agent),
        await client.patch("/api/v1/channels/1", json={"config": {"failure_rate": 1.0}}, headers=agent),
    ]
    for response in refused:
        assert response.status_code == 403
        assert response.json() == {"detail": "only admins may do this"}

    agents = (await client.get("/api/v1/agents", headers=auth)).json()["items"]
    assert sorted(a["email"] for a in agents) == [ADMIN_EMAIL, AGENT["email"]]
    channels = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
    assert [(c["name"], c["config"]["failure_rate"]) for c in channels] == [("Simulator", 0.0)]


async def test_an_agent_login_reports_the_agent_role(client, auth):
    await client.post("/api/v1/agents", json=AGENT, headers=auth)
    response = await client.post("/api/v1/auth/login", json={"email": AGENT["email"], "password": AGENT["password"]})
    assert response.status_code == 200
    assert {k: response.json()["agent"][k] for k in ("email", "name", "role")} == {
        "email": "ben@example.com",
        "name": "Ben",
        "role": "agent",
    }


async def test_each_login_gets_its_own_token_and_both_work(client):
    first, second = await login(client), await login(client)
    assert first != second
    for headers in (first, second):
        assert (await client.get("/api/v1/conversations", headers=headers)).status_code == 200
