"""Browser sessions and API tokens end when they should: a fresh session at sign-in (no fixation), none after
sign-out, and none of an agent's older sessions or tokens after a password change or a deactivation; an open
tab re-checks before every action."""

from __future__ import annotations

import httpx
from nicegui.testing import User

from chathub.models import ConversationStatus
from chathub.services import agents, conversations, outbound
from tests.helpers.app import app_client, login
from tests.helpers.pages import sign_in, tabs_miss_access_changes
from tests.pages.test_agents import ANN_PASSWORD, another_browser, make_ann
from tests.pages.test_inbox import conversation_from_webhook

ANN = "ann@example.com"


async def page_status(cookies: httpx.Cookies, path: str = "/profile") -> str:
    """What a browser holding these cookies gets for a page: "page", or "sign-in" when sent to sign in."""
    async with app_client() as browser:
        browser.cookies = httpx.Cookies(cookies)
        response = await browser.get(path)
    if response.is_redirect:
        assert response.headers["location"].startswith("/signin"), response.headers["location"]
        return "sign-in"
    assert response.status_code == 200
    return "page"


async def test_a_cookie_planted_before_sign_in_is_not_signed_in_afterwards(user: User):
    await user.open("/signin")
    planted = httpx.Cookies(user.http_client.cookies)  # what an attacker set in the browser beforehand

    await sign_in(user)

    assert await page_status(user.http_client.cookies) == "page"  # the browser that signed in is signed in
    assert await page_status(planted) == "sign-in"


async def test_a_sign_in_hand_over_works_once_and_only_for_the_browser_that_signed_in(user: User):
    await user.open("/signin")
    before = httpx.Cookies(user.http_client.cookies)
    await sign_in(user)
    [hand_over] = [path for path in user.back_history if path.startswith("/signin/complete")]

    for cookies in (before, httpx.Cookies()):  # replayed with the pre-sign-in cookie, or by another browser
        async with app_client() as browser:
            browser.cookies = cookies
            response = await browser.get(hand_over)
            assert response.is_redirect and response.headers["location"].startswith("/signin")
            assert await page_status(browser.cookies) == "sign-in"


async def test_after_sign_out_the_signed_in_cookie_no_longer_works(user: User):
    await sign_in(user)
    await user.open("/profile")
    signed_in = httpx.Cookies(user.http_client.cookies)
    assert await page_status(signed_in) == "page"

    user.find(marker="sign-out").click()
    await user.should_see(marker="sign-in", retries=20)

    assert await page_status(signed_in) == "sign-in"
    assert await page_status(user.http_client.cookies) == "sign-in"


async def test_a_password_reset_ends_the_agents_tokens_and_browser_sessions(user: User):
    ann = await make_ann()
    ann_api = await login(user.http_client, ANN, ANN_PASSWORD)
    async with another_browser() as ann_browser:
        await sign_in(ann_browser, ANN, ANN_PASSWORD)
        await ann_browser.open("/profile")
        await ann_browser.should_see("API tokens")

        await sign_in(user)
        await user.open("/agents")
        user.find(marker=f"reset-password-{ann.id}").click()
        user.find(marker="reset-password").type("Ann-new-pass-2")
        user.find(marker="reset-password-repeat").type("Ann-new-pass-2")
        user.find(marker="save-password").click()
        await user.should_see("Ann Lee's password was changed", retries=20)

        assert (await user.http_client.get("/api/v1/conversations", headers=ann_api)).status_code == 401
        await ann_browser.open("/profile")
        await ann_browser.should_see(marker="sign-in")
    await user.open("/agents")  # the admin who reset it is still signed in
    await user.should_see("Ann Lee")


async def test_an_own_password_change_keeps_this_browser_and_ends_the_other_sessions_and_tokens(user: User):
    await make_ann()
    ann_api = await login(user.http_client, ANN, ANN_PASSWORD)
    async with another_browser() as other_browser:
        await sign_in(other_browser, ANN, ANN_PASSWORD)
        await sign_in(user, ANN, ANN_PASSWORD)
        await user.open("/profile")
        user.find(marker="current-password").type(ANN_PASSWORD)
        user.find(marker="new-password").type("Ann-new-pass-2")
        user.find(marker="repeat-password").type("Ann-new-pass-2")
        user.find(marker="change-password").click()
        await user.should_see("Your password was changed", retries=20)

        assert await page_status(user.http_client.cookies) == "page"
        assert await page_status(other_browser.http_client.cookies) == "sign-in"
        assert (await user.http_client.get("/api/v1/conversations", headers=ann_api)).status_code == 401


async def test_a_deactivated_agents_open_tab_can_neither_send_nor_resolve_and_says_why(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550007")
    ann = await make_ann()
    async with another_browser() as ann_browser:
        await sign_in(ann_browser, ANN, ANN_PASSWORD)
        await ann_browser.open(f"/conversations/{conversation_id}")
        await ann_browser.should_see("Hello, I need support!")

        tabs_miss_access_changes()
        await agents.update_agent(ann.id, is_active=False)  # an admin deactivates her meanwhile

        ann_browser.find(marker="composer").type("One more thing")
        ann_browser.find(marker="send").click()
        await ann_browser.should_see("Your account was deactivated: nothing was changed.", retries=20)
        ann_browser.notify.messages.clear()
        ann_browser.find(marker="resolve").click()
        await ann_browser.should_see("Your account was deactivated: nothing was changed.", retries=20)

    assert len((await outbound.list_messages(conversation_id=conversation_id)).items) == 1
    assert (await conversations.get_conversation(conversation_id)).status == ConversationStatus.open


async def test_tokens_from_before_a_reset_or_a_deactivation_stay_refused_after_reactivation(client: httpx.AsyncClient):
    ann = await make_ann()
    before_reset = await login(client, ANN, ANN_PASSWORD)
    await agents.update_agent(ann.id, is_active=False)
    await agents.update_agent(ann.id, password="Ann-new-pass-2")
    await agents.update_agent(ann.id, is_active=True)
    before_deactivation = await login(client, ANN, "Ann-new-pass-2")
    await agents.update_agent(ann.id, is_active=False)
    await agents.update_agent(ann.id, is_active=True)

    for headers in (before_reset, before_deactivation):
        assert (await client.get("/api/v1/conversations", headers=headers)).status_code == 401
    fresh = await login(client, ANN, "Ann-new-pass-2")
    assert (await client.get("/api/v1/conversations", headers=fresh)).status_code == 200
