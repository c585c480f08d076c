"""What the list tells an agent, in a real browser: search words highlighted as text (customer markup stays
text), and a reply that failed to send marking its row."""

import httpx
from selenium.webdriver.common.by import By

from tests.helpers.browser import ADMIN, screenshot, sign_in, text_on_page, wait_for

HOSTILE = "<img src=x onerror=alert(1)>"
PREVIEWS = """return [...document.querySelectorAll('.conversation-row')].map((row) => [
  row.querySelector('.conversation-preview').textContent,
  [...row.querySelectorAll('.search-hit')].map((hit) => hit.textContent),
  !!row.querySelector('.failed-reply-mark')])"""


def _api(server) -> dict[str, str]:
    token = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()[
        "token"
    ]
    return {"Authorization": f"Bearer {token}"}


def test_search_highlights_the_matched_words_and_keeps_customer_markup_as_text(server, browser):
    server.post_webhook(
        {
            "from": "+15550101",
            "message": f"My parcel <b>never</b> came {HOSTILE}",
            "message_id": "s-1",
            "name": "Ann Lee",
        }
    )
    server.post_webhook({"from": "+15550101", "message": "Hello?", "message_id": "s-2"})
    server.post_webhook({"from": "+15550202", "message": "Invoice question", "message_id": "s-3", "name": "Bob"})
    sign_in(browser, server)
    wait_for(browser, text_on_page("Invoice question"))
    search = browser.find_element(By.CSS_SELECTOR, "input[placeholder='Search name, phone or message']")
    search.send_keys("parcel")
    wait_for(browser, lambda d: len(d.execute_script(PREVIEWS)) == 1 and d.execute_script(PREVIEWS)[0][1])
    screenshot(browser, "inbox-search-highlight")
    [(preview, hits, _)] = browser.execute_script(PREVIEWS)
    assert preview == f"My parcel <b>never</b> came {HOSTILE}" and hits == ["parcel"]
    assert not browser.find_elements(By.CSS_SELECTOR, ".conversation-row img, .conversation-row b")  # no markup


def test_a_failed_reply_marks_its_row(server, browser):
    server.post_webhook({"from": "+15550101", "message": "Where is it?", "message_id": "f-1", "name": "Ann Lee"})
    headers = _api(server)
    assert (
        httpx.patch(
            f"{server.url}/api/v1/channels/1", headers=headers, json={"config": {"failure_rate": 1.0}}
        ).status_code
        == 200
    )
    sign_in(browser, server)
    wait_for(browser, text_on_page("Where is it?"))
    conversation = httpx.get(f"{server.url}/api/v1/conversations", headers=headers).json()["items"][0]
    assert (
        httpx.post(
            f"{server.url}/api/v1/conversations/{conversation['id']}/messages",
            headers=headers,
            json={"content": "It left our depot this morning"},
        ).status_code
        == 201
    )
    wait_for(browser, lambda d: d.execute_script(PREVIEWS)[0][2], timeout=15)
    screenshot(browser, "inbox-failed-reply")
    assert browser.execute_script(PREVIEWS)[0][0] == "Failed to send · It left our depot this morning"


def test_a_late_message_is_on_top_of_the_list_and_its_bubble_shows_when_it_arrived(server, browser):
    server.post_webhook({"from": "+15550101", "message": "Sent just now", "message_id": "t-1", "name": "Ann Lee"})
    server.post_webhook(
        {
            "from": "+15550202",
            "message": "Sent on Valentine's day",
            "message_id": "t-2",
            "name": "Leo Late",
            "timestamp": "2024-02-14T10:00:00Z",
        }
    )
    sign_in(browser, server)
    wait_for(browser, text_on_page("Sent on Valentine's day"))
    names = "return [...document.querySelectorAll('.conversation-row .truncate')].map((name) => name.textContent)"
    wait_for(browser, lambda d: d.execute_script(names)[:1] == ["Leo Late"])
    browser.find_element(By.CSS_SELECTOR, ".conversation-row").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".received-late"))
    screenshot(browser, "thread-late-message")
    assert browser.find_element(By.CSS_SELECTOR, ".received-late").text.startswith("· received ")
    assert "Wednesday, 14 February 2024" in browser.find_element(By.TAG_NAME, "body").text
