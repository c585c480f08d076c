"""A real browser in another time zone than the server: the thread shows times on the agent's clock, also when
the page was asked for before the browser had said its zone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from chathub.pages.components.agent_zone import ZONE_COOKIE
from tests.helpers.browser import LiveServer, new_browser, screenshot, sign_in, wait_for

ROWS = "return [...document.querySelectorAll('.conversation-row')]"
THREAD_TEXT = "return document.querySelector('.inbox-thread')?.innerText || ''"


@pytest.fixture
def server_in_utc(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path / "data", TZ="UTC")
    yield live
    live.stop()


@pytest.fixture
def browser_in_auckland() -> Iterator[WebDriver]:
    driver = new_browser(time_zone="Pacific/Auckland")
    yield driver
    screenshot(driver, "agent-zone-end")
    driver.quit()


def thread_shows(*texts: str):
    return lambda driver: all(text in driver.execute_script(THREAD_TEXT) for text in texts)


def test_a_browser_in_auckland_sees_the_thread_on_its_own_clock(server_in_utc, browser_in_auckland):
    server, browser = server_in_utc, browser_in_auckland
    response = server.post_webhook(
        {
            "from": "+15550001",
            "message": "Written in the night",
            "message_id": "zone-1",
            "name": "Nora Night",
            "timestamp": "2024-02-14T12:30:00Z",
        }  # 01:30 on Thursday 15 February in Auckland
    )
    assert response.status_code == 200, response.text
    assert browser.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone") == "Pacific/Auckland"

    sign_in(browser, server)
    wait_for(browser, lambda d: d.execute_script(ROWS), timeout=20)
    browser.execute_script(ROWS)[0].click()
    wait_for(browser, thread_shows("Written in the night", "Thursday, 15 February 2024", "01:30"))
    screenshot(browser, "agent-zone-thread")

    # a page asked for before the browser said its zone is drawn in the server's, then again in the agent's
    browser.delete_cookie(ZONE_COOKIE)
    browser.refresh()
    wait_for(browser, thread_shows("Written in the night", "Thursday, 15 February 2024", "01:30"), timeout=20)
    assert "Wednesday, 14 February 2024" not in browser.execute_script(THREAD_TEXT)
