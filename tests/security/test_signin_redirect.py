"""After sign-in the browser goes only to a path on this site: `next` values that browsers would read as
another host fall back to the inbox."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from nicegui.testing import User

from tests.helpers.app import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.pages.test_agents import another_browser

HOSTILE = [
    "/\\evil.com",
    "/%5Cevil.com",
    "/%09/evil.com",
    "//evil.com",
    "https://evil.com",
    "javascript:alert(1)",
    "/\t/evil.com",
    "%2F%2Fevil.com",
    "/%2F/evil.com",
    "/%5C%5Cevil.com/x",
    "/\\/evil.com",
    " //evil.com",
    "/%0A/evil.com",
    "///evil.com",
    "http:/evil.com",
    "/%255Cevil.com",
]
SAFE = ["/customers", "/conversations/7?tab=info", "/customers?q=ann%20lee"]


async def sign_in_with_next(browser: User, next_value: str) -> list[httpx.URL]:
    """Sign in at /signin?next=<next_value>, like a person following a link; every URL the browser fetched."""
    fetched: list[httpx.URL] = []

    async def record(response: httpx.Response) -> None:
        fetched.append(response.request.url)

    browser.http_client.event_hooks["response"].append(record)
    await browser.open(f"/signin?next={quote(next_value, safe='')}")
    browser.find("Email").type(ADMIN_EMAIL)
    browser.find("Password").type(ADMIN_PASSWORD)
    browser.find(marker="sign-in").click()
    await browser.should_not_see(marker="sign-in", retries=200)
    await browser.should_see(marker="navigation", retries=50)
    return fetched


@pytest.mark.parametrize("next_value", HOSTILE)
async def test_a_hostile_next_lands_on_the_inbox_after_sign_in(user: User, next_value: str):
    async with another_browser() as browser:
        fetched = await sign_in_with_next(browser, next_value)
    assert {url.host for url in fetched} == {"test"}
    assert fetched[-1].path == "/" and not fetched[-1].query


@pytest.mark.parametrize("next_value", SAFE)
async def test_a_path_on_this_site_is_where_sign_in_goes(user: User, next_value: str):
    async with another_browser() as browser:
        fetched = await sign_in_with_next(browser, next_value)
    landed = fetched[-1]
    assert landed.host == "test"
    assert landed.raw_path.decode() == next_value


async def test_a_signed_in_browser_sent_to_sign_in_with_a_hostile_next_goes_to_the_inbox(user: User):
    async with another_browser() as browser:
        await sign_in_with_next(browser, "/")
        for next_value in HOSTILE:
            response = await browser.http_client.get(f"/signin?next={quote(next_value, safe='')}")
            assert response.is_redirect and response.headers["location"] == "/", next_value
