"""The Profile page: an agent's own name, password and API tokens."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from chathub.models import AgentRole
from chathub.schemas import AgentIn
from chathub.services import agents
from tests.helpers.app import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually


async def api_login(user: User, email: str, password: str) -> int:
    response = await user.http_client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return response.status_code


async def conversations_status(user: User, token: str) -> int:
    response = await user.http_client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def admin_id() -> int:
    return next(a.id for a in await agents.list_agents() if a.email == ADMIN_EMAIL)


async def test_an_agent_changes_their_own_name_and_an_empty_one_is_refused(user: User):
    await sign_in(user)
    await user.open("/profile")
    user.find(marker="profile-name").clear()
    user.find(marker="save-name").click()
    await user.should_see("The name is empty.", retries=20)
    user.find(marker="profile-name").type("Grace Hopper")
    user.find(marker="save-name").click()
    await user.should_see("Your name was saved", retries=20)
    assert (await agents.get_agent(await admin_id())).name == "Grace Hopper"


async def test_changing_the_password_checks_the_current_one_the_repeat_and_the_strength(user: User):
    await sign_in(user)
    await user.open("/profile")
    user.find(marker="current-password").type("not-my-pass-1")
    user.find(marker="new-password").type("Brand-new-2")
    user.find(marker="repeat-password").type("Brand-new-2")
    user.find(marker="change-password").click()
    await user.should_see("The current password is wrong.", retries=20)

    user.find(marker="current-password").clear().type(ADMIN_PASSWORD)
    user.find(marker="repeat-password").clear().type("Brand-new-3")
    user.find(marker="change-password").click()
    await user.should_see("The two new passwords differ.", retries=20)

    user.find(marker="new-password").clear().type("weak")
    user.find(marker="repeat-password").clear().type("weak")
    user.find(marker="change-password").click()
    await user.should_see("The password needs at least 8 characters.", retries=20)
    assert await api_login(user, ADMIN_EMAIL, ADMIN_PASSWORD) == 200

    user.find(marker="new-password").clear().type("Brand-new-2")
    user.find(marker="repeat-password").clear().type("Brand-new-2")
    user.find(marker="change-password").click()
    await user.should_see("Your password was changed", retries=20)
    assert await api_login(user, ADMIN_EMAIL, "Brand-new-2") == 200
    assert await api_login(user, ADMIN_EMAIL, ADMIN_PASSWORD) == 401


async def test_a_new_token_is_shown_once_works_and_is_refused_after_revoking(user: User):
    name = "<b>CRM sync</b>"
    await sign_in(user)
    await user.open("/profile")
    await user.should_see("No tokens yet.")
    user.find(marker="create-token").click()
    await user.should_see("The token needs a name.", retries=20)

    user.find(marker="token-name").type(name)
    user.find(marker="create-token").click()
    await user.should_see("Copy it now: it will not be shown again. Only a fingerprint of it is stored.", retries=20)
    (shown,) = user.find(marker="new-token").elements
    token = shown.value
    assert token.startswith("chq_")
    user.find(marker="copy-token").click()
    await user.should_see("Token copied to the clipboard")
    assert await conversations_status(user, token) == 200

    user.find(marker="token-done").click()
    await user.should_not_see(marker="new-token", retries=20)
    await user.open("/profile")  # a reload shows the token's name, never the token
    await user.should_see(name)
    assert all(isinstance(element, ui.label) for element in user.find(name).elements)
    await user.should_not_see(token)
    await user.should_see("last used just now")

    (row,) = [t for t in await agents.list_api_tokens(await admin_id()) if t.name == name]
    user.find(marker=f"revoke-token-{row.id}").click()
    user.find(marker="confirm-revoke").click()
    await user.should_see("Token revoked", retries=20)
    await user.should_not_see(name, retries=20)
    assert await eventually(lambda: _refused(user, token))


async def _refused(user: User, token: str) -> bool:
    return await conversations_status(user, token) == 401


async def test_every_agent_has_a_profile_listing_only_their_own_tokens(user: User):
    await user.http_client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    ann = await agents.create_agent(
        AgentIn(email="ann@example.com", name="Ann Lee", password="Ann-pass-1", role=AgentRole.agent)
    )
    await agents.create_api_token(agent_id=ann.id, name="Ann's script")
    await sign_in(user, "ann@example.com", "Ann-pass-1")
    await user.open("/profile")
    await user.should_see("ann@example.com")
    await user.should_see("Ann's script")
    await user.should_not_see("API sign-in")  # the admin's token from the login above


async def test_an_open_profile_shows_a_new_token_as_used_as_soon_as_the_api_accepts_it(user: User):
    await sign_in(user)
    await user.open("/profile")
    user.find(marker="token-name").type("CRM sync")
    user.find(marker="create-token").click()
    await user.should_see("Copy it now", retries=20)
    (shown,) = user.find(marker="new-token").elements
    token = shown.value
    user.find(marker="token-done").click()
    (row,) = await agents.list_api_tokens(await admin_id())
    await user.should_see(marker=f"token-{row.id}", retries=20)  # the list redraws as the dialog closes
    with user.scope(marker=f"token-{row.id}"):
        await user.should_see("never used", retries=20)

    assert await conversations_status(user, token) == 200
    await user.should_see(marker=f"token-{row.id}", retries=20)  # its row is drawn again as the use is announced
    with user.scope(marker=f"token-{row.id}"):  # the same page, not opened again
        await user.should_see("last used just now", retries=20)
        await user.should_not_see("never used")
    assert (await agents.list_api_tokens(await admin_id()))[0].last_used_at is not None
