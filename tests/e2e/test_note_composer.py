"""A private note by keyboard alone, in a real browser: `n` starts a note, `@` and letters open the list of agents,
↓ and Enter pick one, Enter sends; the note shows amber with "Only agents see this" and mentions the agent. The
composer and the list fit a phone and a laptop."""

from __future__ import annotations

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.e2e.test_keyboard import focused, press
from tests.e2e.test_thread_swap import thread_shows
from tests.helpers.browser import ADMIN, screenshot, sign_in, text_on_page, wait_for

MENTION_LIST = ".mention-list:not(.hidden)"


def add_agents(server, *names: str) -> tuple[dict[str, int], str]:
    """The agents, made through the API; returns their ids and the admin's API token."""
    token = httpx.post(
        f"{server.url}/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}, timeout=10
    ).json()["token"]
    ids = {}
    for name in names:
        response = httpx.post(
            f"{server.url}/api/v1/agents",
            json={"email": f"{name.lower()}@example.com", "name": name, "password": f"{name}-pass-12"},
            headers={"authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    return ids, token


def listed_agents(browser) -> list[str]:
    return [option.text for option in browser.find_elements(By.CSS_SELECTOR, f"{MENTION_LIST} .mention-option")]


def test_a_note_with_a_mention_written_by_keyboard_alone(server, browser):
    ids, token = add_agents(server, "Bea", "Bob")
    server.post_webhook({"from": "+15550001", "message": "Where is my refund?", "message_id": "n-1", "name": "Ann"})
    sign_in(browser, server)
    wait_for(browser, text_on_page("Ann"))
    browser.find_element(By.CSS_SELECTOR, ".conversation-row").click()
    wait_for(browser, thread_shows("Where is my refund?"))
    press(browser, Keys.ESCAPE)  # out of the reply box: the next key is a shortcut

    press(browser, "n")
    wait_for(browser, lambda d: focused(d) == "reply")
    textarea = browser.find_element(By.CSS_SELECTOR, ".inbox-thread textarea")
    wait_for(browser, lambda d: "only agents see it" in textarea.get_attribute("placeholder"))
    press(browser, "Bob, can you check? @b")
    wait_for(browser, lambda d: listed_agents(d) == ["Bea", "Bob"])
    for width, height in ((1440, 900), (390, 844)):
        browser.set_window_size(width, height)
        wait_for(browser, lambda d, width=width: d.execute_script("return window.innerWidth") <= width)
        screenshot(browser, f"note-mention-list-{width}")
    press(browser, Keys.ARROW_DOWN, Keys.ENTER)
    wait_for(browser, lambda d: textarea.get_attribute("value") == "Bob, can you check? @Bob ")
    assert not browser.find_elements(By.CSS_SELECTOR, MENTION_LIST)
    press(browser, "thanks", Keys.ENTER)

    wait_for(browser, thread_shows("Only agents see this"))
    wait_for(browser, thread_shows("Bob, can you check? @Bob thanks"))
    screenshot(browser, "note-sent-390")
    browser.set_window_size(1440, 900)
    screenshot(browser, "note-sent-1440")
    conversation = httpx.get(
        f"{server.url}/api/v1/conversations", headers={"authorization": f"Bearer {token}"}, timeout=10
    ).json()["items"][0]
    messages = httpx.get(
        f"{server.url}/api/v1/conversations/{conversation['id']}/messages",
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["items"]
    assert [(m["content"], m["private"], m["mentions"]) for m in messages if m["private"]] == [
        ("Bob, can you check? @Bob thanks", True, [ids["Bob"]])
    ]
    assert conversation["last_message_preview"] == "Where is my refund?"
