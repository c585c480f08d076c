"""A first start creates what its own settings ask for, also when the test harness gives first starts a
migrated database (tests/helpers/template_database.py): another admin's settings get that admin only."""

from __future__ import annotations

from tests.helpers.app import ADMIN_EMAIL, ADMIN_PASSWORD, login, running_app

OTHER_ADMIN = ("owner@example.com", "Owner-pass-1")


async def test_a_first_start_with_other_admin_settings_creates_that_admin_and_no_other(monkeypatch):
    monkeypatch.setenv("CHATHUB_ADMIN_EMAIL", OTHER_ADMIN[0])
    monkeypatch.setenv("CHATHUB_ADMIN_PASSWORD", OTHER_ADMIN[1])

    async with running_app() as http:
        auth = await login(http, *OTHER_ADMIN)
        agents = (await http.get("/api/v1/agents", headers=auth)).json()["items"]
        refused = await http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})

    assert [agent["email"] for agent in agents] == [OTHER_ADMIN[0]]
    assert refused.status_code == 401
