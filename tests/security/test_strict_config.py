"""Configuration is never accepted silently: a key or field nobody reads, or a value of the wrong type, is a 422
that names it, and a CHATHUB_ variable no setting reads is a warning at start."""

from __future__ import annotations

import logging

import pytest

from chathub import db
from chathub.drivers.simulator import SimulatorDriver
from chathub.models import Channel
from chathub.services import channels
from tests.helpers.api import customer_writes, new_sender
from tests.helpers.app import running_app


async def channel(client, auth, channel_id: int = 1) -> dict:
    listed = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
    return next(c for c in listed if c["id"] == channel_id)


def messages(response) -> str:
    return " ".join(error["msg"] for error in response.json()["detail"])


async def test_a_secret_in_a_simulator_config_is_refused_and_points_at_webhook_secret(client, auth):
    before = await channel(client, auth)

    response = await client.patch("/api/v1/channels/1", json={"config": {"secret": "s3cret-value"}}, headers=auth)

    assert response.status_code == 422, response.text
    assert "no setting 'secret'" in response.json()["detail"]
    assert "webhook_secret" in response.json()["detail"]
    assert await channel(client, auth) == before


async def test_a_key_saved_before_keys_were_checked_is_dropped_at_the_next_change_instead_of_blocking_it(client, auth):
    async with db.write_session() as session:  # a row as an earlier version stored it
        stored = await session.get(Channel, 1)
        stored.config = {**stored.config, "secret": "never-in-force"}
        session.add(stored)
    channels.clear_cache()

    response = await client.patch("/api/v1/channels/1", json={"config": {"failure_rate": 0.5}}, headers=auth)

    assert response.status_code == 200, response.text
    assert response.json()["config"] == {**SimulatorDriver.validate_config({}), "failure_rate": 0.5}


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"failure_rate": True}, "failure_rate must be a number"),
        ({"latency_ms": True}, "latency_ms must be a whole number"),
        ({"auto_receipts": 1}, "auto_receipts must be true or false"),
        ({"failure_rte": 0.5}, "no setting 'failure_rte' (did you mean 'failure_rate'?)"),
    ],
)
async def test_a_misspelt_or_wrongly_typed_simulator_setting_is_a_422_naming_it(client, auth, config, named):
    before = await channel(client, auth)

    patched = await client.patch("/api/v1/channels/1", json={"config": config}, headers=auth)
    created = await client.post(
        "/api/v1/channels", json={"type": "simulator", "name": "Other", "config": config}, headers=auth
    )

    assert (patched.status_code, created.status_code) == (422, 422), (patched.text, created.text)
    assert named in patched.json()["detail"] and named in created.json()["detail"]
    assert await channel(client, auth) == before
    assert len((await client.get("/api/v1/channels", headers=auth)).json()["items"]) == 1


async def test_a_webhook_secret_on_a_channel_that_does_not_use_one_is_refused(client, auth):
    body = {
        "type": "telegram",
        "name": "Bot",
        "webhook_secret": "ignored-secret",
        "api_base_url": "http://127.0.0.1:9",  # nothing leaves the machine if it were accepted
        "config": {"bot_token": "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"},
    }

    response = await client.post("/api/v1/channels", json=body, headers=auth)

    assert response.status_code == 422, response.text
    assert "telegram channels do not use webhook_secret" in response.json()["detail"]


async def test_an_unknown_field_in_a_conversation_patch_is_a_422_naming_it_and_changes_nothing(client, auth):
    conversation = await customer_writes(client, auth, sender=new_sender())

    response = await client.patch(
        f"/api/v1/conversations/{conversation['id']}", json={"state": "resolved"}, headers=auth
    )

    assert response.status_code == 422, response.text
    assert "unknown field 'state' (did you mean 'status'?)" in messages(response)
    shown = await client.get(f"/api/v1/conversations/{conversation['id']}", headers=auth)
    assert shown.json()["status"] == conversation["status"] == "open"


# Every request body of the API, each with a field it does not take.
UNKNOWN_FIELDS = [
    (
        "POST",
        "/api/v1/auth/login",
        {"email": "admin@example.com", "password": "Admin-pass-1", "remember": True},
        "remember",
    ),
    ("POST", "/api/v1/channels", {"type": "simulator", "name": "Extra", "secret": "s3cret-value"}, "secret"),
    ("PATCH", "/api/v1/channels/1", {"name": "Renamed", "enable": False}, "enable"),
    ("PATCH", "/api/v1/conversations/{conversation}", {"assignee": 1}, "assignee"),
    ("POST", "/api/v1/conversations/{conversation}/messages", {"content": "Hi", "type": "text"}, "type"),
    ("PATCH", "/api/v1/customers/{customer}", {"name": "Ann", "nickname": "Annie"}, "nickname"),
    (
        "POST",
        "/api/v1/agents",
        {"email": "bea@example.com", "name": "Bea", "password": "Bea-pass-12", "is_admin": True},
        "is_admin",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "unknown"),
    UNKNOWN_FIELDS,
    ids=[f"{method} {path}" for method, path, *_ in UNKNOWN_FIELDS],
)
async def test_every_request_body_refuses_a_field_it_does_not_take_naming_it(client, auth, method, path, body, unknown):
    conversation = await customer_writes(client, auth, sender=new_sender())
    url = path.format(conversation=conversation["id"], customer=conversation["customer"]["id"])

    response = await client.request(method, url, json=body, headers=auth)

    assert response.status_code == 422, response.text
    assert f"unknown field '{unknown}'" in messages(response)
    assert len((await client.get("/api/v1/agents", headers=auth)).json()["items"]) == 1
    assert [c["name"] for c in (await client.get("/api/v1/channels", headers=auth)).json()["items"]] == ["Simulator"]
    listed = await client.get(f"/api/v1/conversations/{conversation['id']}/messages", headers=auth)
    assert [m["content"] for m in listed.json()["items"]] == ["Hello"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/channels/1", {"enabled": "no"}, "enabled"),
        ("/api/v1/channels/1", {"enabled": 0}, "enabled"),
        ("/api/v1/conversations/{conversation}", {"assignee_id": "1"}, "assignee_id"),
        ("/api/v1/conversations/{conversation}", {"assignee_id": True}, "assignee_id"),
    ],
)
async def test_a_boolean_or_number_of_another_type_is_a_422_naming_the_field(client, auth, path, body, field):
    conversation = await customer_writes(client, auth, sender=new_sender())

    response = await client.patch(path.format(conversation=conversation["id"]), json=body, headers=auth)

    assert response.status_code == 422, response.text
    assert messages(response).startswith(f"{field}: ")
    assert (await channel(client, auth))["enabled"] is True
    shown = await client.get(f"/api/v1/conversations/{conversation['id']}", headers=auth)
    assert shown.json()["assignee_id"] is None


async def test_an_unknown_chathub_variable_is_a_warning_at_start_naming_a_close_setting(
    chathub_env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setenv("CHATHUB_PUBLIK_URL", "https://chat.example.com")
    (chathub_env.parent / ".env").write_text("CHATHUB_MAX_ATTEMTPS=5\nCHATHUB_COLOUR=blue\nOTHER_TOOL=1\n")
    caplog.set_level(logging.WARNING, logger="chathub")

    async with running_app() as http:
        assert (await http.get("/healthz")).status_code == 200

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "chathub"]
    assert (
        "CHATHUB_PUBLIK_URL in the environment is not a ChatHub setting and is ignored "
        "(did you mean 'CHATHUB_PUBLIC_URL'?)."
    ) in warnings
    assert (
        "CHATHUB_MAX_ATTEMTPS in .env is not a ChatHub setting and is ignored (did you mean 'CHATHUB_MAX_ATTEMPTS'?)."
    ) in warnings
    assert "CHATHUB_COLOUR in .env is not a ChatHub setting and is ignored." in warnings
    assert not any("OTHER_TOOL" in line or "CHATHUB_DATA_DIR" in line for line in warnings)
