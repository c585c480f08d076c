"""Two agents in two real browsers, each signed in on its own instance of one PostgreSQL database: each sees the
other viewing the same conversation (the avatar beside the title), and sees them leave when they do."""

from __future__ import annotations

from pathlib import Path

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.helpers.browser import new_browser, screenshot, sign_in, text_on_page, wait_for
from tests.helpers.instances import EMAIL, PASSWORD, Instances

BOB = ("bob@example.com", "Bob-pass-12")
VIEWER_AVATARS = ".q-avatar.ring-white"  # the other agents viewing the thread (chathub/pages/components/thread.py)


def _viewers(driver: WebDriver) -> list[str]:
    return [avatar.text for avatar in driver.find_elements(By.CSS_SELECTOR, VIEWER_AVATARS)]


def _customer_writes_and_bob_joins(url: str) -> None:
    sent = httpx.post(
        f"{url}/webhooks/simulator",
        json={"from": "+15550001", "message": "Where is my order?", "message_id": "m1", "name": "Ann"},
    )
    assert sent.status_code == 200, sent.text
    token = httpx.post(f"{url}/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()["token"]
    bob = httpx.post(
        f"{url}/api/v1/agents",
        headers={"Authorization": f"Bearer {token}"},
        json={"email": BOB[0], "password": BOB[1], "name": "Bob", "role": "agent"},
    )
    assert bob.status_code == 201, bob.text


def test_an_agent_viewing_a_conversation_on_a_is_shown_as_viewing_on_b(tmp_path: Path, empty_postgres: str):
    instances = Instances(tmp_path, empty_postgres, 2)
    admin_browser = bob_browser = None
    try:
        for instance in instances:  # one after the other: starting together is another test's concern
            instance.start()
        a, b = instances
        _customer_writes_and_bob_joins(a.url)
        admin_browser, bob_browser = new_browser(), new_browser()
        sign_in(admin_browser, a, EMAIL, PASSWORD)
        sign_in(bob_browser, b, *BOB)
        for driver, instance in ((admin_browser, a), (bob_browser, b)):
            driver.get(f"{instance.url}/conversations/1")
            wait_for(driver, text_on_page("Where is my order?"), timeout=20)

        wait_for(bob_browser, lambda d: _viewers(d) == ["A"], timeout=20)  # Admin, on instance A
        wait_for(admin_browser, lambda d: _viewers(d) == ["B"], timeout=20)  # Bob, on instance B
        screenshot(bob_browser, "instances-viewers-1-bob-sees-admin")

        admin_browser.get(f"{a.url}/customers")  # Admin leaves the conversation
        wait_for(bob_browser, lambda d: _viewers(d) == [], timeout=20)
    finally:
        for driver in (admin_browser, bob_browser):
            if driver is not None:
                driver.quit()
        instances.stop_all()
