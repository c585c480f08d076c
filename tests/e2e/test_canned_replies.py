"""A canned reply in a real browser: `/ref` in the reply box lists the team's `refund` reply, Enter puts it in the
box with the customer's first name filled in, and the next Enter sends it."""

from __future__ import annotations

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.e2e.test_keyboard import focused, press
from tests.e2e.test_thread_swap import THREAD_TEXT, thread_shows
from tests.helpers.browser import ADMIN, screenshot, sign_in, text_on_page, wait_for

REFUND = "Hi {{customer.first_name}}, your refund is on its way."
FILLED = "Hi Maria, your refund is on its way."
OPEN_LIST = (
    "const list = document.querySelector('.canned-picker'); return list && list.offsetParent ? list.innerText : ''"
)


def maria_writes_in(server) -> int:
    """Maria Lopez's conversation, and the team's `refund` reply; the conversation's id."""
    response = server.post_webhook(
        {"from": "+15550004321", "message": "Where is my refund?", "message_id": "canned-1", "name": "Maria Lopez"}
    )
    assert response.status_code == 200, response.text
    with httpx.Client(base_url=server.url, timeout=10) as http:
        login = http.post("/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]})
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        reply = {"short_code": "refund", "content": REFUND, "scope": "team"}
        added = http.post("/api/v1/canned-responses", json=reply, headers=headers)
        assert added.status_code == 201, added.text
        for _ in range(100):
            items = http.get("/api/v1/conversations", headers=headers).json()["items"]
            if items:
                return items[0]["id"]
    raise AssertionError("Maria's conversation did not appear")


def reply_box(browser):
    return browser.find_element(By.CSS_SELECTOR, ".inbox-thread textarea")


def open_the_list(browser, server, conversation_id: int) -> None:
    """Maria's conversation, freshly loaded at the window's width, with `/ref` typed into the reply box."""
    browser.get(f"{server.url}/conversations/{conversation_id}")
    wait_for(browser, thread_shows("Where is my refund?"))
    wait_for(browser, lambda d: focused(d) == "reply")
    press(browser, "/ref")
    wait_for(browser, lambda d: "/refund" in d.execute_script(OPEN_LIST) and FILLED in d.execute_script(OPEN_LIST))


def test_slash_ref_lists_the_refund_reply_and_enter_inserts_it_with_marias_name_then_it_is_sent(server, browser):
    conversation_id = maria_writes_in(server)
    browser.set_window_size(1440, 900)
    sign_in(browser, server)
    open_the_list(browser, server, conversation_id)
    screenshot(browser, "canned-list-1440")
    press(browser, Keys.ESCAPE)
    wait_for(browser, lambda d: d.execute_script(OPEN_LIST) == "")
    assert focused(browser) == "reply"  # Esc closed the list, not the reply box
    browser.set_window_size(390, 844)
    open_the_list(browser, server, conversation_id)
    screenshot(browser, "canned-list-390")

    press(browser, Keys.ENTER)
    wait_for(browser, lambda d: reply_box(d).get_attribute("value") == FILLED)
    wait_for(browser, lambda d: d.execute_script(OPEN_LIST) == "")
    assert FILLED not in browser.execute_script(THREAD_TEXT)  # Enter inserted it: nothing was sent yet

    press(browser, Keys.ENTER)
    wait_for(browser, lambda d: reply_box(d).get_attribute("value") == "")
    wait_for(browser, thread_shows(FILLED))
    screenshot(browser, "canned-sent-390")


def test_the_canned_replies_page_lists_the_team_reply_as_typed(server, browser):
    maria_writes_in(server)
    sign_in(browser, server)
    for width, height in ((1440, 900), (390, 844)):
        browser.set_window_size(width, height)
        browser.get(f"{server.url}/canned-responses")
        wait_for(browser, text_on_page(REFUND))
        screenshot(browser, f"canned-page-{width}")
