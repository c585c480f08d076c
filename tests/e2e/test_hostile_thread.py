"""A thread full of hostile customer payloads (tests/helpers/hostile.py: every line break, code fences, forms,
styles, images and `javascript:` links aimed at a listener on 127.0.0.1) opened in a real browser: the
payloads appear as literal text, nothing of them is added to the page, and the listener hears nothing."""

from __future__ import annotations

import time

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.fakes.web import FakeWebsite
from tests.helpers.browser import ADMIN, LiveServer, screenshot, sign_in, text_on_page, wait_for
from tests.helpers.hostile import LINE_BREAKS, hostile_messages

SENDER = "+15550666000"
# Everything the page holds that loads, runs or submits something, with where it points.
ACTIVE_ELEMENTS_JS = """
return Array.from(document.querySelectorAll('form, img, style, link, script, iframe, object, embed, a, input'))
  .map(e => [e.tagName.toLowerCase(), e.getAttribute('src') || e.getAttribute('href') || e.getAttribute('action')
             || '', e.textContent.slice(0, 300), e.className.baseVal ?? e.className, e.type || '']);
"""
FETCHED_JS = "return performance.getEntriesByType('resource').map(entry => entry.name);"


def hostile_thread(server: LiveServer, listener: str) -> tuple[int, int]:
    """Post the payloads; (conversation id, messages) once every message is stored and media settled."""
    bodies = hostile_messages(listener, sender=SENDER)
    for body in bodies:
        assert server.post_webhook(body).status_code == 200
    token = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = httpx.get(f"{server.url}/api/v1/conversations", headers=headers).json()["items"]
        if found:
            messages = httpx.get(
                f"{server.url}/api/v1/conversations/{found[0]['id']}/messages", params={"limit": 100}, headers=headers
            ).json()["items"]
            if len(messages) == len(bodies) and all(m["media_status"] != "pending" for m in messages):
                return found[0]["id"], len(messages)
        time.sleep(0.1)
    raise AssertionError("the hostile messages were not all stored within 30 s")


def open_every_raw_payload(browser: WebDriver) -> None:
    headers = browser.find_elements(By.CSS_SELECTOR, ".q-expansion-item__container > .q-item")
    assert len(headers) == len(LINE_BREAKS)
    for header in headers:  # clicked by script: whatever a payload might lay over the page cannot catch it
        browser.execute_script("arguments[0].click()", header)
    wait_for(
        browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".q-expansion-item--expanded")) == len(LINE_BREAKS)
    )


def test_hostile_payloads_appear_as_text_and_add_nothing_to_the_page(server, browser):
    with FakeWebsite() as listener:
        conversation_id, _ = hostile_thread(server, listener.base_url)
        sign_in(browser, server)
        browser.set_window_size(1280, 900)
        browser.get(f"{server.url}/conversations/{conversation_id}")
        wait_for(browser, text_on_page("Unsupported message"))
        open_every_raw_payload(browser)

        active = browser.execute_script(ACTIVE_ELEMENTS_JS)
        assert [e for e in active if e[0] in ("form", "iframe", "object", "embed")] == []
        assert [e for e in active if e[0] == "input" and e[4] == "password"] == []
        assert [e for e in active if "hostile" in str(e[3])] == []
        assert [e for e in active if e[1].lower().lstrip().startswith("javascript:")] == []
        assert [
            e
            for e in active
            if e[0] in ("img", "style", "link", "script") and (listener.base_url in e[1] or listener.base_url in e[2])
        ] == []
        assert [e for e in active if e[0] == "img" and not e[1].startswith(("/", server.url))] == []
        assert [url for url in browser.execute_script(FETCHED_JS) if not url.startswith(server.url)] == []
        body_text = browser.find_element(By.TAG_NAME, "body").text
        for literal in (
            "<form class='hostile-form'",
            "<img class='hostile-img'",
            "<style>@import url(",
            "href='javascript:alert(1)'",
            "</script><script>fetch(",
            "{{ 7*7 }}",
            "```",
        ):
            assert literal in body_text, literal
        assert "loopback address" in body_text and f"{listener.base_url}/tracking.png" in body_text

        screenshot(browser, "hostile-thread-laptop")
        browser.set_window_size(390, 844)
        wait_for(browser, lambda d: d.execute_script("return window.innerWidth") <= 390)
        screenshot(browser, "hostile-thread-phone")
        assert listener.requests == []
