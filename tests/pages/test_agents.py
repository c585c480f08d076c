"""The Agents page: the team, roles, deactivation and password resets (admin only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from nicegui import ElementFilter
from nicegui.testing import User

from chathub.models import Agent, AgentRole
from chathub.pages.components.navigation import Navigation
from chathub.schemas import AgentIn
from chathub.services import agents
from tests.helpers.app import ADMIN_EMAIL, app_client
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually

ANN_PASSWORD = "Ann-pass-1"


async def make_ann(role: AgentRole = AgentRole.agent, **changes) -> Agent:
    ann = await agents.create_agent(AgentIn(email="ann@example.com", name="Ann Lee", password=ANN_PASSWORD, role=role))
    return await agents.update_agent(ann.id, **changes) if changes else ann


async def api_login(user: User, email: str, password: str) -> int:
    response = await user.http_client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return response.status_code


async def stored(agent_id: int) -> Agent:
    agent = await agents.get_agent(agent_id)
    assert agent is not None
    return agent


@asynccontextmanager
async def another_browser() -> AsyncIterator[User]:
    """A second simulated browser (its own cookies) on the app the `user` fixture started."""
    async with app_client() as http:
        yield User(http)


def nav_targets(user: User) -> set[str]:
    with user:
        [navigation] = ElementFilter(kind=Navigation)
    return {link["path"] for link in navigation.props["links"]}


async def test_the_team_list_shows_each_agent_with_role_and_status(user: User):
    ann = await make_ann()
    bob = await agents.create_agent(AgentIn(email="bob@example.com", name="Bob Ray", password="Bob-pass-1"))
    await agents.update_agent(bob.id, is_active=False)
    await sign_in(user)
    await user.open("/agents")
    await user.should_see("Ann Lee")
    await user.should_see("ann@example.com")
    await user.should_see(ADMIN_EMAIL)
    await user.should_see("You")
    await user.should_see("Deactivated")
    with user.scope(marker=f"agent-{ann.id}"):
        await user.should_see("Agent")
        await user.should_not_see("Deactivated")


async def test_an_added_agent_is_confirmed_appears_in_the_list_at_once_and_can_sign_in(user: User):
    await sign_in(user)
    await user.open("/agents")
    user.find(marker="add-agent").click()
    user.find(marker="new-agent-name").type("Cleo Park")
    user.find(marker="new-agent-email").type("Cleo@Example.com")
    user.find(marker="new-agent-password").type("Cleo-pass-1")
    user.find(marker="new-agent-role").click()
    user.find("Admin · also manages channels and agents").click()
    user.find(marker="save-agent").click()
    await user.should_see("Cleo Park can now sign in as cleo@example.com", retries=20)
    cleo = next(a for a in await agents.list_agents() if a.email == "cleo@example.com")
    await user.should_see(marker=f"agent-{cleo.id}", retries=20)  # the list redraws as the dialog closes
    with user.scope(marker=f"agent-{cleo.id}"):  # the list shows her without reopening the page
        await user.should_see("cleo@example.com", retries=20)
    assert cleo.role == AgentRole.admin
    assert await api_login(user, "cleo@example.com", "Cleo-pass-1") == 200


async def test_invalid_new_agents_are_explained_and_nothing_is_created(user: User):
    await sign_in(user)
    await user.open("/agents")
    user.find(marker="add-agent").click()
    user.find(marker="new-agent-email").type("nobody")
    user.find(marker="new-agent-password").type("Good-pass-1")
    user.find(marker="save-agent").click()
    await user.should_see("'nobody' is not an email address.", retries=20)

    user.find(marker="new-agent-email").clear().type(ADMIN_EMAIL)
    user.find(marker="save-agent").click()
    await user.should_see("The name is empty.", retries=20)

    user.find(marker="new-agent-name").type("Dup")
    user.find(marker="save-agent").click()
    await user.should_see(f"An agent with the email {ADMIN_EMAIL} already exists.", retries=20)

    user.find(marker="new-agent-email").clear().type("dee@example.com")
    user.find(marker="new-agent-password").clear().type("short")
    user.find(marker="save-agent").click()
    await user.should_see("The password needs at least 8 characters.", retries=20)
    user.find(marker="new-agent-password").clear().type("lowercaseonly")
    user.find(marker="save-agent").click()
    await user.should_see("The password is too weak: mix letters with digits, capitals or symbols.", retries=20)

    assert [a.email for a in await agents.list_agents()] == [ADMIN_EMAIL]


async def test_a_deactivated_agent_can_neither_sign_in_nor_use_the_api_until_reactivated(user: User):
    ann = await make_ann()
    token_response = await user.http_client.post(
        "/api/v1/auth/login", json={"email": "ann@example.com", "password": ANN_PASSWORD}
    )
    ann_api = {"Authorization": f"Bearer {token_response.json()['token']}"}
    assert (await user.http_client.get("/api/v1/conversations", headers=ann_api)).status_code == 200
    async with another_browser() as ann_browser:
        await sign_in(ann_browser, "ann@example.com", ANN_PASSWORD)

        await sign_in(user)
        await user.open("/agents")
        user.find(marker=f"deactivate-{ann.id}").click()
        await user.should_see("Ann Lee can no longer sign in", retries=20)
        await user.should_see("Deactivated")

        assert (await user.http_client.get("/api/v1/conversations", headers=ann_api)).status_code == 401
        assert await api_login(user, "ann@example.com", ANN_PASSWORD) == 401
        await ann_browser.open("/profile")  # her open session ends too
        await ann_browser.should_see(marker="sign-in")
        ann_browser.find("Email").type("ann@example.com")
        ann_browser.find("Password").type(ANN_PASSWORD)
        ann_browser.find(marker="sign-in").click()
        await ann_browser.should_see("Wrong email or password.", retries=20)

    user.find(marker=f"reactivate-{ann.id}").click()
    await user.should_see("Ann Lee can sign in again", retries=20)
    assert (await stored(ann.id)).is_active
    assert await api_login(user, "ann@example.com", ANN_PASSWORD) == 200


async def test_an_admin_resets_a_password_after_checking_the_repeat_and_strength_and_is_told(user: User):
    ann = await make_ann()
    await sign_in(user)
    await user.open("/agents")
    user.find(marker=f"reset-password-{ann.id}").click()
    user.find(marker="reset-password").type("New-pass-22")
    user.find(marker="reset-password-repeat").type("New-pass-23")
    user.find(marker="save-password").click()
    await user.should_see("The two passwords differ.", retries=20)
    user.find(marker="reset-password").clear().type("tiny")
    user.find(marker="reset-password-repeat").clear().type("tiny")
    user.find(marker="save-password").click()
    await user.should_see("The password needs at least 8 characters.", retries=20)
    assert await api_login(user, "ann@example.com", ANN_PASSWORD) == 200

    user.find(marker="reset-password").clear().type("New-pass-22")
    user.find(marker="reset-password-repeat").clear().type("New-pass-22")
    user.find(marker="save-password").click()
    await user.should_see("Ann Lee's password was changed", retries=20)
    assert await api_login(user, "ann@example.com", "New-pass-22") == 200
    assert await api_login(user, "ann@example.com", ANN_PASSWORD) == 401


async def test_an_admin_changes_roles_both_ways(user: User):
    ann = await make_ann()
    await sign_in(user)
    await user.open("/agents")
    user.find(marker=f"make-admin-{ann.id}").click()
    await user.should_see("Ann Lee is now an admin", retries=20)
    assert (await stored(ann.id)).role == AgentRole.admin
    await user.should_see(marker=f"make-agent-{ann.id}", retries=20)  # the list shows the new role
    user.find(marker=f"make-agent-{ann.id}").click()
    await user.should_see("Ann Lee is now an agent", retries=20)
    assert await eventually(lambda: _role_is(ann.id, AgentRole.agent))


async def _role_is(agent_id: int, role: AgentRole) -> bool:
    return (await stored(agent_id)).role == role


async def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(user: User):
    await make_ann(role=AgentRole.admin, is_active=False)  # a deactivated admin does not count
    admin = next(a for a in await agents.list_agents() if a.email == ADMIN_EMAIL)
    await sign_in(user)
    await user.open("/agents")
    user.find(marker=f"make-agent-{admin.id}").click()
    await user.should_see("This is the last active admin: make another admin first.", retries=20)
    user.find(marker=f"deactivate-{admin.id}").click()
    await user.should_see("This is the last active admin: make another admin first.", retries=20)
    again = await stored(admin.id)
    assert again.role == AgentRole.admin and again.is_active
    await user.open("/agents")
    await user.should_see(marker="add-agent")  # still an admin's page


async def test_an_agent_without_the_admin_role_sees_neither_admin_page_nor_their_links(user: User):
    await make_ann()
    await sign_in(user, "ann@example.com", ANN_PASSWORD)
    await user.open("/profile")
    targets = nav_targets(user)
    assert "/" in targets and "/channels" not in targets and "/agents" not in targets

    await user.open("/agents")
    await user.should_see("Only admins can open this page.")
    await user.should_not_see(ADMIN_EMAIL)
    await user.should_not_see(marker="add-agent")


async def test_admin_navigation_links_to_channels_and_agents(user: User):
    await sign_in(user)
    await user.open("/profile")
    assert {"/channels", "/agents"} <= nav_targets(user)
