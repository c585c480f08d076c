"""Agents in real browsers (Debian's Chromium) reach three instances on one PostgreSQL database through HAProxy
running the recipe operators copy (deploy/haproxy.cfg). Each browser is pinned to an instance the way HAProxy
pins it, by its sticky cookie, so the test knows which instance serves which agent."""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from bench.crash import EMAIL, PASSWORD
from tests.helpers.browser import ARTIFACTS, new_browser, screenshot, sign_in, text_on_page, wait_for
from tests.helpers.haproxy import Balancer, running_haproxy
from tests.helpers.instances import Instances, instances_started_in_turn

STICKY_COOKIE = "chathub_instance"
CUSTOMER = {"from": "+15550123", "name": "Mia"}
BOB = ("bob@example.com", "Bob-pass-123")
LIVE_MESSAGES = 20


@pytest.fixture
def balanced(tmp_path: Path, empty_postgres: str) -> Iterator[tuple[Instances, Balancer]]:
    """Instances a, b and c (the recipe's servers) behind HAProxy."""
    shared = {"CHATHUB_MEDIA_DIR": str(tmp_path / "shared-media")}
    with (
        instances_started_in_turn(tmp_path, empty_postgres, count=3, env=shared) as instances,
        running_haproxy(tmp_path, [instance.url for instance in instances]) as balancer,
    ):
        yield instances, balancer


@pytest.fixture
def browsers() -> Iterator[list[WebDriver]]:
    opened: list[WebDriver] = []
    yield opened
    for driver in opened:
        driver.quit()


def open_pinned(browsers: list[WebDriver], balancer: Balancer, instance: str) -> WebDriver:
    """A browser whose sticky cookie names `instance`, as if HAProxy had sent it there."""
    driver = new_browser()
    browsers.append(driver)
    driver.get(f"{balancer.url}/healthz")
    driver.add_cookie({"name": STICKY_COOKIE, "value": instance, "path": "/"})
    return driver


def sticky_instance(driver: WebDriver) -> str | None:
    cookie = driver.get_cookie(STICKY_COOKIE)
    return cookie["value"] if cookie else None


def post_from_customer(instance_url: str, message_id: str, text: str) -> None:
    webhook = {**CUSTOMER, "message": text, "message_id": message_id}
    httpx.post(f"{instance_url}/webhooks/simulator", content=json.dumps(webhook), timeout=10).raise_for_status()


def api_token(instance_url: str) -> dict[str, str]:
    signed_in = httpx.post(f"{instance_url}/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    return {"Authorization": f"Bearer {signed_in.raise_for_status().json()['token']}"}


def first_conversation(instance_url: str, auth: dict[str, str]) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = httpx.get(f"{instance_url}/api/v1/conversations", headers=auth).json()["items"]
        if items:
            return items[0]["id"]
        time.sleep(0.1)
    raise AssertionError("the customer's first message never became a conversation")


def create_bob(instance_url: str, auth: dict[str, str]) -> None:
    agent = {"email": BOB[0], "password": BOB[1], "name": "Bob", "role": "agent"}
    httpx.post(f"{instance_url}/api/v1/agents", headers=auth, json=agent).raise_for_status()


def both_widths(driver: WebDriver, name: str, shown: str, *, desktop_as_is: bool = False) -> None:
    """Screenshots at a desktop's and a phone's width, each page loaded at that width (the navigation drawer
    takes its place at load), except the desktop one with `desktop_as_is`."""
    for width, height in ((1440, 900), (390, 844)):
        driver.set_window_size(width, height)
        if width < 1000 or not desktop_as_is:
            driver.refresh()
            wait_for(driver, text_on_page(shown), timeout=30)
        screenshot(driver, f"{name}-{width}")


WATCH_MESSAGES = """
const keys = arguments[0];
window.__seenAt = {};
new MutationObserver(() => {
  const text = document.body.innerText;
  for (const key of keys) if (!(key in window.__seenAt) && text.includes(key)) window.__seenAt[key] = Date.now();
}).observe(document.body, {childList: true, subtree: true, characterData: true});
"""


def test_an_agent_stays_signed_in_when_its_instance_stops_and_the_balancer_moves_it(balanced, browsers):
    instances, balancer = balanced
    post_from_customer(instances[1].url, "before-the-move", "Is anyone there?")
    agent = open_pinned(browsers, balancer, "a")
    sign_in(agent, balancer, EMAIL, PASSWORD)
    wait_for(agent, text_on_page("Is anyone there?"), timeout=30)
    both_widths(agent, "balancer-1-signed-in-on-a", "Is anyone there?")
    agent.execute_script("window.__servedBy = 'a'")  # gone once the page is loaded again

    instances[0].stop(signal.SIGTERM)

    wait_for(agent, lambda d: d.execute_script("return window.__servedBy") is None, timeout=60)
    wait_for(agent, text_on_page("Is anyone there?"), timeout=30)
    assert sticky_instance(agent) in ("b", "c")
    assert "/signin" not in agent.current_url
    both_widths(agent, f"balancer-2-moved-to-{sticky_instance(agent)}", "Is anyone there?")


def test_an_agent_sees_other_instances_messages_and_typing_without_reload(balanced, browsers):
    instances, balancer = balanced
    auth = api_token(instances[1].url)
    post_from_customer(instances[1].url, "opening", "Hello, my parcel is late")
    conversation = f"{balancer.url}/conversations/{first_conversation(instances[1].url, auth)}"
    create_bob(instances[1].url, auth)
    agent, bob = open_pinned(browsers, balancer, "a"), open_pinned(browsers, balancer, "c")
    sign_in(agent, balancer, EMAIL, PASSWORD)
    sign_in(bob, balancer, *BOB)
    for driver in (agent, bob):
        driver.get(conversation)
        wait_for(driver, text_on_page("Hello, my parcel is late"), timeout=30)
    keys = [f"live-check-{i:02d}" for i in range(LIVE_MESSAGES)]
    agent.execute_script("window.__page = 'never reloaded'; " + WATCH_MESSAGES, keys)

    posted_at = {}
    for key in keys:  # posted to instance b; the agent's page is served by a
        posted_at[key] = time.time() * 1000
        post_from_customer(instances[1].url, key, f"Parcel update {key}")
        wait_for(agent, lambda d, key=key: d.execute_script("return window.__seenAt[arguments[0]]", key), timeout=10)
    bob.find_element(By.TAG_NAME, "textarea").send_keys("Let me check the tracki")
    wait_for(agent, text_on_page("Bob is typing…"), timeout=10)

    seen_at = agent.execute_script("return window.__seenAt")
    delays = sorted((seen_at[key] - posted_at[key]) / 1000 for key in keys)
    p95 = delays[math.ceil(0.95 * len(delays)) - 1]
    record = {"messages": len(delays), "p95_seconds": p95, "max_seconds": delays[-1], "delays_seconds": delays}
    (ARTIFACTS / "multi-instance-live-delays.json").write_text(json.dumps(record, indent=2) + "\n")
    never_reloaded = agent.execute_script("return window.__page") == "never reloaded"
    both_widths(agent, "balancer-3-live-from-b-typing-from-c", "Parcel update", desktop_as_is=True)
    assert never_reloaded
    assert (sticky_instance(agent), sticky_instance(bob)) == ("a", "c")
    assert p95 < 1.0, record
