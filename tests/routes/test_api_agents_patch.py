"""PATCH /api/v1/agents/{id}: admins manage agents from scripts, with the answers the rest of the API gives."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.app import ADMIN_EMAIL, ADMIN_PASSWORD, login

ANN = {"email": "ann@example.com", "name": "Ann Lee", "password": "Ann-pass-1"}


async def add_ann(client: httpx.AsyncClient, auth: dict[str, str]) -> int:
    response = await client.post("/api/v1/agents", json=ANN, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_an_admin_renames_promotes_and_deactivates_an_agent(client, auth):
    ann_id = await add_ann(client, auth)
    response = await client.patch(f"/api/v1/agents/{ann_id}", json={"name": "Ann Smith", "role": "admin"}, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": ann_id,
        "email": ANN["email"],
        "name": "Ann Smith",
        "role": "admin",
        "is_active": True,
        "sees": "all",
    }

    response = await client.patch(f"/api/v1/agents/{ann_id}", json={"active": False}, headers=auth)
    assert response.status_code == 200 and response.json()["is_active"] is False
    refused = await client.post("/api/v1/auth/login", json={"email": ANN["email"], "password": ANN["password"]})
    assert refused.status_code == 401


async def test_a_new_password_ends_the_agents_tokens_and_the_new_one_signs_in(client, auth):
    ann_id = await add_ann(client, auth)
    ann_api = await login(client, ANN["email"], ANN["password"])
    response = await client.patch(f"/api/v1/agents/{ann_id}", json={"password": "Ann-new-pass-2"}, headers=auth)
    assert response.status_code == 200, response.text

    assert (await client.get("/api/v1/conversations", headers=ann_api)).status_code == 401
    assert (await client.get("/api/v1/conversations", headers=auth)).status_code == 200  # the admin's own
    await login(client, ANN["email"], "Ann-new-pass-2")


async def test_an_admin_changing_their_own_password_keeps_this_token_and_ends_the_others(client, auth):
    other_token = await login(client)
    me = (await client.get("/api/v1/agents", headers=auth)).json()["items"][0]["id"]
    response = await client.patch(f"/api/v1/agents/{me}", json={"password": "Admin-new-pass-2"}, headers=auth)
    assert response.status_code == 200, response.text
    assert (await client.get("/api/v1/conversations", headers=auth)).status_code == 200
    assert (await client.get("/api/v1/conversations", headers=other_token)).status_code == 401
    refused = await client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert refused.status_code == 401


async def test_without_a_token_it_is_401_and_for_an_agent_403(client, auth):
    ann_id = await add_ann(client, auth)
    response = await client.patch(f"/api/v1/agents/{ann_id}", json={"name": "Ann Smith"})
    assert response.status_code == 401 and response.json()["detail"] == "a valid bearer token is required"

    ann_api = await login(client, ANN["email"], ANN["password"])
    response = await client.patch(f"/api/v1/agents/{ann_id}", json={"role": "admin"}, headers=ann_api)
    assert response.status_code == 403 and response.json()["detail"] == "only admins may do this"


async def test_an_unknown_agent_is_404(client, auth):
    response = await client.patch("/api/v1/agents/999", json={"name": "Nobody"}, headers=auth)
    assert response.status_code == 404 and response.json()["detail"] == "agent 999 does not exist"


@pytest.mark.parametrize(
    "body, named",
    [
        ({"email": "new@example.com"}, "email"),
        ({"name": "Ann", "is_active": False}, "is_active"),
        ({"role": "owner"}, "role"),
        ({"active": "no"}, "active"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
    ],
)
async def test_unknown_keys_and_wrong_values_are_a_422_that_names_them(client, auth, body, named):
    ann_id = await add_ann(client, auth)
    response = await client.patch(f"/api/v1/agents/{ann_id}", json=body, headers=auth)
    assert response.status_code == 422 and named in response.text, response.text
    agent = next(a for a in (await client.get("/api/v1/agents", headers=auth)).json()["items"] if a["id"] == ann_id)
    assert agent == {
        "id": ann_id,
        "email": ANN["email"],
        "name": ANN["name"],
        "role": "agent",
        "is_active": True,
        "sees": "all",
    }


async def test_a_weak_password_is_a_422_with_a_sentence(client, auth):
    ann_id = await add_ann(client, auth)
    response = await client.patch(f"/api/v1/agents/{ann_id}", json={"password": "short"}, headers=auth)
    assert response.status_code == 422
    assert response.json()["detail"] == "the password needs at least 8 characters"
    await login(client, ANN["email"], ANN["password"])


@pytest.mark.parametrize("change", [{"active": False}, {"role": "agent"}])
async def test_the_last_active_admin_can_neither_deactivate_nor_demote_themself(client, auth, change):
    me = (await client.get("/api/v1/agents", headers=auth)).json()["items"][0]["id"]
    response = await client.patch(f"/api/v1/agents/{me}", json=change, headers=auth)
    assert response.status_code == 409
    assert response.json()["detail"] == "this is the last active admin: make another admin first"
    assert (await client.get("/api/v1/conversations", headers=auth)).status_code == 200
