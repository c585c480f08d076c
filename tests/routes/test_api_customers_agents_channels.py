"""The customers, agents and channels APIs, and the questions a supporter asks of the data: unread
conversations, messages by channel, failed webhooks."""

from __future__ import annotations

import pytest

from chathub import process_state
from tests.helpers.api import WAIT_SECONDS, customer_of, customer_writes, list_messages, new_sender
from tests.helpers.app import ADMIN_EMAIL, login, running_app
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook

# ---- customers ----


async def test_customers_list_with_identities_and_search(client, auth):
    await customer_writes(client, auth, sender="+15550001111", name="Ann Lee", text="hi")
    await customer_writes(client, auth, sender="+15550002222", text="hello")

    listed = (await client.get("/api/v1/customers", headers=auth)).json()
    assert [(c["name"], c["phone"]) for c in listed["items"]] == [
        ("+15550002222", "+15550002222"),
        ("Ann Lee", "+15550001111"),
    ]
    assert listed["items"][1]["identities"] == [{"channel_id": 1, "external_id": "+15550001111"}]

    def names(response):
        return [c["name"] for c in response.json()["items"]]

    assert names(await client.get("/api/v1/customers", params={"q": "ann"}, headers=auth)) == ["Ann Lee"]
    assert names(await client.get("/api/v1/customers", params={"q": "2222"}, headers=auth)) == ["+15550002222"]
    assert names(await client.get("/api/v1/customers", params={"q": "zed"}, headers=auth)) == []


async def test_customers_page_with_limit_and_cursor(client, auth):
    senders = [new_sender() for _ in range(3)]
    for sender in senders:
        await customer_writes(client, auth, sender=sender)
    first = (await client.get("/api/v1/customers", params={"limit": 2}, headers=auth)).json()
    second = (
        await client.get("/api/v1/customers", params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth)
    ).json()
    assert [c["name"] for c in first["items"] + second["items"]] == list(reversed(senders))
    assert second["next_cursor"] is None
    assert (await client.get("/api/v1/customers", params={"limit": 101}, headers=auth)).status_code == 422


async def test_get_and_patch_a_customer(client, auth):
    await customer_writes(client, auth, sender="+15550001111", text="hi")
    customer = await customer_of(client, auth, "+15550001111")
    url = f"/api/v1/customers/{customer['id']}"

    got = await client.get(url, headers=auth)
    assert got.status_code == 200 and got.json() == customer

    patched = await client.patch(
        url, json={"name": "  Ann Lee ", "email": "ann@example.com", "notes": "VIP"}, headers=auth
    )
    assert patched.status_code == 200
    assert {k: patched.json()[k] for k in ("name", "email", "phone", "notes")} == {
        "name": "Ann Lee",
        "email": "ann@example.com",
        "phone": "+15550001111",
        "notes": "VIP",
    }
    assert (await client.get(url, headers=auth)).json()["name"] == "Ann Lee"
    conversation = (await client.get("/api/v1/conversations", headers=auth)).json()["items"][0]
    assert conversation["customer"]["name"] == "Ann Lee"
    found = (await client.get("/api/v1/customers", params={"q": "ann@example"}, headers=auth)).json()["items"]
    assert [c["id"] for c in found] == [customer["id"]]


@pytest.mark.parametrize(
    "patch, detail",
    [
        ({"email": "not-an-email"}, "'not-an-email' is not an email address"),
        ({"name": "   "}, "the name cannot be empty"),
        ({"name": None}, "the name cannot be empty"),
        ({"name": ""}, None),
    ],
)
async def test_patching_a_customer_with_bad_values_is_422_and_changes_nothing(client, auth, patch, detail):
    await customer_writes(client, auth, sender="+15550001111", name="Ann", text="hi")
    customer = await customer_of(client, auth, "+15550001111")
    url = f"/api/v1/customers/{customer['id']}"

    response = await client.patch(url, json=patch, headers=auth)
    assert response.status_code == 422
    assert "detail" in response.json()
    if detail:
        assert response.json() == {"detail": detail}
    assert (await client.get(url, headers=auth)).json() == customer


async def test_unknown_customer_is_404(client, auth):
    assert (await client.get("/api/v1/customers/9999", headers=auth)).json() == {
        "detail": "customer 9999 does not exist"
    }
    response = await client.patch("/api/v1/customers/9999", json={"notes": "x"}, headers=auth)
    assert response.status_code == 404


# ---- agents ----

NEW_AGENT = {"email": "Ben@Example.com", "name": " Ben ", "password": "Ben-pass-123"}


async def test_create_an_agent_and_list_agents(client, auth):
    response = await client.post("/api/v1/agents", json=NEW_AGENT, headers=auth)
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("email", "name", "role")} == {
        "email": "ben@example.com",
        "name": "Ben",
        "role": "agent",
    }
    assert "password" not in body and "password_hash" not in body

    listed = (await client.get("/api/v1/agents", headers=auth)).json()["items"]
    assert [(a["email"], a["role"]) for a in listed] == [(ADMIN_EMAIL, "admin"), ("ben@example.com", "agent")]
    await login(client, "ben@example.com", "Ben-pass-123")


async def test_an_admin_can_create_another_admin(client, auth):
    response = await client.post("/api/v1/agents", json={**NEW_AGENT, "role": "admin"}, headers=auth)
    assert response.status_code == 201 and response.json()["role"] == "admin"
    other_admin = await login(client, "ben@example.com", "Ben-pass-123")
    created = await client.post("/api/v1/channels", json={"type": "simulator", "name": "Ben's"}, headers=other_admin)
    assert created.status_code == 201


@pytest.mark.parametrize(
    "change, detail",
    [
        ({"email": "ben.example.com"}, "'ben.example.com' is not an email address"),
        ({"password": "Ab-1"}, "the password needs at least 8 characters"),
        ({"password": "password"}, "the password is too weak: mix letters with digits, capitals or symbols"),
        ({"password": "12345678"}, "the password is too weak: mix letters with digits, capitals or symbols"),
        ({"name": "  "}, "the name is empty"),
    ],
)
async def test_creating_an_agent_with_bad_values_is_422(client, auth, change, detail):
    response = await client.post("/api/v1/agents", json={**NEW_AGENT, **change}, headers=auth)
    assert response.status_code == 422
    assert response.json() == {"detail": detail}
    assert len((await client.get("/api/v1/agents", headers=auth)).json()["items"]) == 1


async def test_creating_an_agent_with_an_unknown_role_is_422(client, auth):
    response = await client.post("/api/v1/agents", json={**NEW_AGENT, "role": "owner"}, headers=auth)
    assert response.status_code == 422


@pytest.mark.parametrize("email", [ADMIN_EMAIL, "ADMIN@example.COM"])
async def test_creating_an_agent_with_a_taken_email_is_409(client, auth, email):
    response = await client.post("/api/v1/agents", json={**NEW_AGENT, "email": email}, headers=auth)
    assert response.status_code == 409
    assert response.json() == {"detail": f"an agent with the email {ADMIN_EMAIL} already exists"}
    await login(client)  # the admin's password was not replaced


# ---- channels ----


async def test_channels_show_webhook_urls_from_the_public_url(monkeypatch):
    monkeypatch.setenv("CHATHUB_PUBLIC_URL", "https://chat.example.com/")
    async with running_app() as client:
        auth = await login(client)
        listed = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
        assert [(c["id"], c["type"], c["name"], c["enabled"], c["webhook_url"]) for c in listed] == [
            (1, "simulator", "Simulator", True, "https://chat.example.com/webhooks/simulator/1")
        ]

        created = await client.post("/api/v1/channels", json={"type": "simulator", "name": "Shop"}, headers=auth)
        assert created.status_code == 201
        assert created.json()["webhook_url"] == f"https://chat.example.com/webhooks/simulator/{created.json()['id']}"


async def test_create_a_channel_and_receive_through_its_webhook(client, auth):
    response = await client.post(
        "/api/v1/channels", json={"type": "simulator", "name": "  Shop  ", "config": {"latency_ms": 5}}, headers=auth
    )
    assert response.status_code == 201
    channel = response.json()
    assert {k: channel[k] for k in ("type", "name", "enabled")} == {
        "type": "simulator",
        "name": "Shop",
        "enabled": True,
    }
    assert channel["webhook_url"].endswith(f"/webhooks/simulator/{channel['id']}")
    assert channel["config"]["latency_ms"] == 5 and channel["config"]["failure_rate"] == 0.0
    listed = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
    assert [c["name"] for c in listed] == ["Simulator", "Shop"]

    sender = new_sender()
    accepted = await post_webhook(
        client,
        {"from": sender, "message": "via the shop", "message_id": "s1"},
        path=f"/webhooks/simulator/{channel['id']}",
    )
    assert accepted.status_code == 200

    async def conversation():
        items = (await client.get("/api/v1/conversations", params={"q": "via the shop"}, headers=auth)).json()
        return items["items"]

    found = await eventually(conversation, timeout=WAIT_SECONDS)
    assert found[0]["channel"]["id"] == channel["id"]
    customer = await customer_of(client, auth, sender)
    assert customer["identities"] == [{"channel_id": channel["id"], "external_id": sender}]


async def test_a_channel_secret_is_never_shown(client, auth):
    response = await client.post(
        "/api/v1/channels", json={"type": "simulator", "name": "Signed", "webhook_secret": "s3cret-value"}, headers=auth
    )
    assert response.status_code == 201
    assert response.json()["has_secret"] is True
    assert "s3cret-value" not in response.text
    assert "s3cret-value" not in (await client.get("/api/v1/channels", headers=auth)).text


@pytest.mark.parametrize(
    "body, detail",
    [
        (
            {"type": "simulator", "name": "Bad", "config": {"failure_rate": 2}},
            "failure_rate must be a number from 0 to 1",
        ),
        (
            {"type": "simulator", "name": "Bad", "config": {"latency_ms": -1}},
            "latency_ms must be a whole number of milliseconds from 0 to 60000",
        ),
        (
            {"type": "simulator", "name": "Bad", "config": {"auto_receipts": "yes"}},
            "auto_receipts must be true or false",
        ),
        (
            {"type": "telegram", "name": "Bot", "config": {}},
            "bot_token is required: the token @BotFather gave you, like 123456:ABC-DEF…",
        ),
        (
            {"type": "simulator", "name": "Bad", "api_base_url": "ftp://x"},
            "api_base_url must start with http:// or https://",
        ),
    ],
)
async def test_creating_a_channel_with_bad_values_is_422_and_creates_nothing(client, auth, body, detail):
    response = await client.post("/api/v1/channels", json=body, headers=auth)
    assert response.status_code == 422
    assert response.json() == {"detail": detail}
    assert len((await client.get("/api/v1/channels", headers=auth)).json()["items"]) == 1


@pytest.mark.parametrize("body", [{"type": "fax", "name": "Old"}, {"type": "simulator", "name": ""}])
async def test_creating_a_channel_with_an_unknown_type_or_no_name_is_422(client, auth, body):
    assert (await client.post("/api/v1/channels", json=body, headers=auth)).status_code == 422


async def test_changing_a_channel_config_keeps_the_other_settings(client, auth):
    response = await client.patch("/api/v1/channels/1", json={"config": {"latency_ms": 10}}, headers=auth)
    assert response.status_code == 200
    assert response.json()["config"] == {
        "failure_rate": 0.0,
        "latency_ms": 10,
        "auto_receipts": True,
        "delivered_after_ms": 300,
        "read_after_ms": 1500,
    }

    refused = await client.patch("/api/v1/channels/1", json={"config": {"failure_rate": 2}}, headers=auth)
    assert refused.status_code == 422
    assert refused.json() == {"detail": "failure_rate must be a number from 0 to 1"}
    listed = (await client.get("/api/v1/channels", headers=auth)).json()["items"]
    assert listed[0]["config"]["failure_rate"] == 0.0 and listed[0]["config"]["latency_ms"] == 10

    assert (await client.patch("/api/v1/channels/9999", json={"enabled": False}, headers=auth)).status_code == 404


# ---- health ----


async def test_health_needs_no_token_and_reports_queue_depths(client, auth):
    response = await client.get("/healthz")
    assert response.status_code == 200
    expected = {"status": "ok", "webhooks_waiting": 0, "webhooks_failed_24h": 0, "outbound_pending": 0}
    assert {k: response.json().get(k) for k in expected} == expected
    assert response.json()["workers"]["webhooks"] is True and response.json()["workers"]["outbound"] is True

    conversation = await customer_writes(client, auth, sender=new_sender())
    await process_state.current().workers["outbound"].stop()
    for text in ("one", "two"):
        sent = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages", json={"content": text}, headers=auth
        )
        assert sent.status_code == 201
    health = (await client.get("/healthz")).json()
    assert health["status"] == "ok"
    assert health["outbound_pending"] == 2
    assert (health["workers"]["webhooks"], health["workers"]["outbound"]) == (True, False)


# ---- the questions people ask of the data ----


async def test_which_conversations_are_unread(client, auth):
    first = await customer_writes(client, auth, sender=new_sender(), text="first")
    second = await customer_writes(client, auth, sender=new_sender(), text="second")
    answered = await customer_writes(client, auth, sender=new_sender(), text="third")
    await client.post(f"/api/v1/conversations/{answered['id']}/messages", json={"content": "on it"}, headers=auth)

    unread = (await client.get("/api/v1/conversations", params={"unread": "true"}, headers=auth)).json()["items"]
    assert [(c["id"], c["unread_count"]) for c in unread] == [(second["id"], 1), (first["id"], 1)]


async def test_messages_by_channel(client, auth):
    shop = (await client.post("/api/v1/channels", json={"type": "simulator", "name": "Shop"}, headers=auth)).json()
    in_default = await customer_writes(client, auth, sender=new_sender(), text="to the default channel")
    sender = new_sender()
    await post_webhook(
        client,
        {"from": sender, "message": "to the shop", "message_id": "shop-1"},
        path=f"/webhooks/simulator/{shop['id']}",
    )
    await eventually(lambda: customer_of(client, auth, sender), timeout=WAIT_SECONDS)

    simulator = (await client.get("/api/v1/conversations", params={"channel_type": "simulator"}, headers=auth)).json()[
        "items"
    ]
    by_channel = {c["channel"]["name"]: c for c in simulator}
    assert set(by_channel) == {"Simulator", "Shop"}
    assert by_channel["Simulator"]["id"] == in_default["id"]
    shop_messages = await list_messages(client, auth, by_channel["Shop"]["id"])
    assert [(m["content"], m["channel_id"]) for m in shop_messages] == [("to the shop", shop["id"])]


async def test_which_webhooks_failed(client, auth):
    await customer_writes(client, auth, sender=new_sender())  # a good one, processed
    rejected = await post_webhook(client, None, raw=b"{not json")
    assert rejected.status_code == 400
    accepted = await post_webhook(
        client, {"type": "status", "message_id": "sim-nobody-sent-this", "status": "delivered"}
    )
    assert accepted.status_code == 200  # accepted, but there is no such message: fails when processed

    async def failed():
        response = await client.get("/api/v1/webhook-logs", params={"status": "failed"}, headers=auth)
        return response.json()["items"]

    logs = await eventually(failed, timeout=WAIT_SECONDS)
    assert [log["id"] for log in logs] == [accepted.json()["webhook_log_id"]]
    assert logs[0]["attempts"] == 3
    assert "no outbound message with external id 'sim-nobody-sent-this'" in logs[0]["error"]
    assert (await client.get("/healthz")).json()["webhooks_failed_24h"] == 1

    rejected_logs = (await client.get("/api/v1/webhook-logs", params={"status": "rejected"}, headers=auth)).json()[
        "items"
    ]
    assert [log["id"] for log in rejected_logs] == [rejected.json()["webhook_log_id"]]
