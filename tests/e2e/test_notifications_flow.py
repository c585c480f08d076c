"""The bell in a real browser: a second agent sees the count rise live and opens the conversation from it."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.e2e.test_keyboard import focused, press
from tests.e2e.test_note_composer import listed_agents
from tests.e2e.test_thread_swap import thread_shows
from tests.helpers.browser import ADMIN, new_browser, screenshot, sign_in, text_on_page, wait_for

BOB = ("bob@example.com", "Bob-pass-12")


def _api(server, method: str, path: str, token: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{server.url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}, **kwargs)


def _token(server, email: str, password: str) -> str:
    response = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def _bob_and_a_conversation(server) -> tuple[str, int]:
    """Alice (the admin) adds Bob; Ann writes in. Alice's token and Bob's id."""
    alice = _token(server, *ADMIN)
    response = _api(server, "POST", "/agents", alice, json={"email": BOB[0], "password": BOB[1], "name": "Bob"})
    assert response.status_code == 201, response.text
    server.post_webhook({"from": "+15550001", "message": "My refund never came", "message_id": "m1", "name": "Ann"})
    return alice, response.json()["id"]


def _bell_count(driver) -> str:
    badges = [badge for badge in driver.find_elements(By.CSS_SELECTOR, ".notification-count") if badge.is_displayed()]
    return badges[0].text if badges else ""


def _bob_waits_on_the_inbox(server, browser) -> None:
    sign_in(browser, server, *BOB)
    wait_for(browser, text_on_page("Ann"), timeout=20)
    assert _bell_count(browser) == ""


def _bob_opens_the_notification(server, browser, told: str, shown: str, name: str) -> None:
    """The bell rises to 1; Bob opens its list (an item holding `told`) and the notification, which shows the
    conversation with `shown` in it."""
    wait_for(browser, lambda d: _bell_count(d) == "1", timeout=20)  # live: the page was not loaded again
    browser.find_element(By.CSS_SELECTOR, ".notification-bell").click()
    wait_for(
        browser, lambda d: any(told in item.text for item in d.find_elements(By.CSS_SELECTOR, ".notification-item"))
    )
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".q-menu[class*='q-transition']"))  # opened
    screenshot(browser, f"{name}-1-bell-open")
    browser.find_element(By.CSS_SELECTOR, ".notification-item.unread").click()
    wait_for(browser, lambda d: d.current_url == f"{server.url}/conversations/1", timeout=20)
    wait_for(browser, lambda d: shown in d.find_element(By.CSS_SELECTOR, ".inbox-thread").text, timeout=20)
    wait_for(browser, lambda d: _bell_count(d) == "" and not d.find_elements(By.CSS_SELECTOR, ".q-menu"))
    screenshot(browser, f"{name}-2-conversation")


def test_a_mentioned_agent_sees_the_bell_rise_live_and_opens_the_note(server, browser):
    _bob_and_a_conversation(server)
    bob = new_browser()
    try:
        _bob_waits_on_the_inbox(server, bob)

        sign_in(browser, server)  # Alice writes the note in her own browser
        wait_for(browser, text_on_page("Ann"))
        browser.find_element(By.CSS_SELECTOR, ".conversation-row").click()
        wait_for(browser, thread_shows("My refund never came"))
        press(browser, Keys.ESCAPE)
        press(browser, "n")
        wait_for(browser, lambda d: focused(d) == "reply")
        press(browser, "@Bo")
        wait_for(browser, lambda d: listed_agents(d) == ["Bob"])
        press(browser, Keys.ENTER)
        reply_box = browser.find_element(By.CSS_SELECTOR, ".inbox-thread textarea")
        wait_for(browser, lambda d: reply_box.get_attribute("value") == "@Bob ")
        press(browser, "can you check this refund?", Keys.ENTER)
        wait_for(browser, thread_shows("Only agents see this"))

        _bob_opens_the_notification(server, bob, "mentioned you", "can you check this refund?", "mention")
    finally:
        bob.quit()


@pytest.mark.parametrize("width", [390, 1440])
def test_the_assignee_sees_the_bell_rise_live_when_the_customer_replies_and_opens_it(server, browser, width):
    browser.set_window_size(width, 900)
    alice, bob_id = _bob_and_a_conversation(server)
    _bob_waits_on_the_inbox(server, browser)
    response = _api(server, "PATCH", "/conversations/1", alice, json={"assignee_id": bob_id})
    assert response.status_code == 200, response.text

    server.post_webhook({"from": "+15550001", "message": "Any news on my refund?", "message_id": "m2"})

    _bob_opens_the_notification(
        server, browser, "Ann replied: Any news on my refund?", "Any news on my refund?", f"customer-reply-{width}"
    )


# Records what the page shows as the browser's notifications, in this origin's storage (a second tab reads it),
# and still shows each through the browser's own Notification.
RECORD_NOTIFICATIONS_JS = """
const Real = window.Notification;
window.shownNotifications = [];
window.Notification = function (title, options) {
  const shown = new Real(title, options);
  window.shownNotifications.push(shown);
  localStorage.setItem('shown', JSON.stringify({title, body: options.body, icon: options.icon || null}));
  return shown;
};
Object.defineProperty(window.Notification, 'permission', {get: () => Real.permission});
"""


def test_an_opted_in_agent_gets_a_browser_notification_while_the_tab_is_hidden_and_it_opens_the_conversation(
    server, browser
):
    alice, bob_id = _bob_and_a_conversation(server)
    assert _api(server, "PATCH", "/conversations/1", alice, json={"assignee_id": bob_id}).status_code == 200
    browser.execute_cdp_cmd("Browser.grantPermissions", {"origin": server.url, "permissions": ["notifications"]})
    sign_in(browser, server, *BOB)
    browser.get(f"{server.url}/profile")
    wait_for(browser, text_on_page("Also show them as browser notifications"))
    browser.find_element(By.XPATH, "//*[contains(@class, 'q-toggle')][contains(., 'browser notifications')]").click()
    wait_for(browser, text_on_page("Browser notifications are on"))
    screenshot(browser, "browser-notifications-1-profile")
    browser.get(f"{server.url}/")
    wait_for(browser, text_on_page("Ann"), timeout=20)
    browser.execute_script(RECORD_NOTIFICATIONS_JS)
    inbox = browser.current_window_handle
    browser.switch_to.new_window("tab")  # the inbox's tab is now hidden
    browser.get(f"{server.url}/healthz")

    server.post_webhook({"from": "+15550001", "message": "<b>Any news?</b>", "message_id": "m2"})

    shown = wait_for(browser, lambda d: d.execute_script("return localStorage.getItem('shown')"), timeout=20)
    assert shown == '{"title":"ChatHub","body":"Ann replied: <b>Any news?</b>","icon":null}'
    browser.close()
    browser.switch_to.window(inbox)
    browser.execute_script("window.shownNotifications[0].onclick()")  # the agent clicks it
    wait_for(browser, lambda d: d.current_url == f"{server.url}/conversations/1", timeout=20)
    wait_for(browser, lambda d: "<b>Any news?</b>" in d.find_element(By.CSS_SELECTOR, ".inbox-thread").text)
    wait_for(browser, lambda d: _bell_count(d) == "")
