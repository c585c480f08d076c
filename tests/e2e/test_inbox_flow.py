"""The main flow in a real browser: webhook -> inbox -> thread -> reply -> delivered; and the XSS case."""

import time

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from tests.helpers.browser import screenshot, sign_in, text_on_page, wait_for

HOSTILE = "<img src=x onerror=alert(1)>"


def test_agent_answers_a_webhook_conversation_and_sees_it_delivered(server, browser):
    assert (
        server.post_webhook(
            {
                "from": "+1234567890",
                "message": "Hello, I need support!",
                "type": "text",
                "message_id": "msg_123",
                "timestamp": "2024-02-14T10:00:00Z",
                "name": "Ann Lee",
            }
        ).status_code
        == 200
    )
    sign_in(browser, server)
    wait_for(browser, text_on_page("Ann Lee"))
    screenshot(browser, "flow-1-inbox")
    browser.find_element(By.XPATH, "//*[contains(@class, 'nicegui-link')][.//*[text()='Ann Lee']]").click()
    wait_for(browser, lambda d: "/conversations/" in d.current_url)
    wait_for(browser, text_on_page("Hello, I need support!"))
    composer = wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "textarea"))  # the thread comes after the URL
    composer.send_keys("Hi Ann, we are on it.\n")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".status-sent, .status-delivered, .status-read"))
    screenshot(browser, "flow-2-sent")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".status-delivered, .status-read"), timeout=15)
    screenshot(browser, "flow-3-delivered")
    assert composer.get_attribute("value") == ""


def test_hostile_customer_text_shows_as_text_and_runs_nothing(server, browser):
    server.post_webhook({"from": "+15550666", "message": HOSTILE, "type": "text", "message_id": "xss", "name": HOSTILE})
    sign_in(browser, server)
    wait_for(browser, text_on_page(HOSTILE))
    browser.get(f"{server.url}/conversations/1")
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body").text.count(HOSTILE) >= 2)
    screenshot(browser, "xss-thread")
    assert not browser.find_elements(By.CSS_SELECTOR, "img[src='x']")
    try:
        browser.switch_to.alert  # noqa: B018 (raises unless a script opened an alert)
        raise AssertionError("the customer's text ran a script")
    except NoAlertPresentException:
        pass


def test_a_long_thread_opens_at_its_newest_page_and_loads_older_ones_when_scrolled_up(server, browser):
    for number in range(1, 61):
        server.post_webhook({"from": "+15550777", "message": f"Line {number:02d}", "message_id": f"long-{number}"})
    sign_in(browser, server)
    browser.get(f"{server.url}/conversations/1")
    wait_for(browser, text_on_page("Line 60"))
    time.sleep(1.5)  # time for any scroll event the opening caused to load more
    screenshot(browser, "long-thread-opened")
    thread = (
        "return [...document.querySelectorAll('.q-scrollarea__container')].find(e => e.textContent.includes('Line 59'))"
    )
    shown = browser.execute_script(thread + ".textContent")
    assert "Line 21" in shown and "Line 20" not in shown  # the newest 40 only: opening loads no older page
    browser.execute_script(thread + ".scrollTop = 0")
    wait_for(browser, lambda d: "Line 01" in d.execute_script(thread + ".textContent"))
    screenshot(browser, "long-thread-scrolled-up")


ROWS = """return [...document.querySelectorAll('.conversation-row')].map((row) => [
  row.querySelector('.truncate').innerText, row.querySelector('.text-sm').innerText,
  row.querySelector('.unread-badge')?.innerText])"""


def test_an_open_inbox_shows_new_and_changed_conversations_live(server, browser):
    server.post_webhook({"from": "+15550101", "message": "First question", "message_id": "live-1", "name": "Ann Lee"})
    sign_in(browser, server)
    wait_for(browser, text_on_page("First question"))
    server.post_webhook({"from": "+15550202", "message": HOSTILE, "message_id": "live-2", "name": "Bob Stone"})
    wait_for(browser, text_on_page("Bob Stone"))  # a new customer's row comes in on top, no reload
    assert browser.execute_script(ROWS) == [["Bob Stone", HOSTILE, "1"], ["Ann Lee", "First question", "1"]]
    wait_for(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, ".unread-total").text == "2" and d.title == "(2) ChatHub"
    )  # the navigation's count of unread conversations follows
    server.post_webhook({"from": "+15550101", "message": "Any news?", "message_id": "live-3", "name": "Ann Lee"})
    wait_for(browser, text_on_page("Any news?"))  # Ann's row changes in place and moves up
    screenshot(browser, "inbox-live-rows")
    assert browser.execute_script(ROWS) == [["Ann Lee", "Any news?", "2"], ["Bob Stone", HOSTILE, "1"]]
    assert not browser.find_elements(By.CSS_SELECTOR, "img[src='x']")
