"""Two agents in two browsers: a label one agent adds in the thread shows at once on the other's inbox row, and
the other's inbox filtered by that label (chosen before) takes the conversation in."""

import httpx
from selenium.webdriver.common.by import By

from tests.helpers.browser import ADMIN, new_browser, screenshot, sign_in, text_on_page, wait_for

BOB = ("bob@example.com", "Bob-pass-12")
ROWS = """
return [...document.querySelectorAll('.conversation-row')].map((row) => [
  row.querySelector('.truncate').textContent.trim(),
  [...row.querySelectorAll('.label-chip')].map((chip) => chip.textContent.trim()),
]);
"""


# where the first row begins: past 200 px while the navigation drawer is still sliding away on a phone
LIST_LEFT = "return document.querySelector('.conversation-row').getBoundingClientRect().left"


def _prepare(server) -> int:
    """A "refund" label, Bob (an agent), and two customers, Cy's conversation urgent; returns Ann's conversation
    id."""
    token = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    created = httpx.post(f"{server.url}/api/v1/labels", headers=headers, json={"name": "refund", "color": "#c62828"})
    assert created.status_code == 201, created.text
    bob = {"email": BOB[0], "password": BOB[1], "name": "Bob", "role": "agent"}
    assert httpx.post(f"{server.url}/api/v1/agents", headers=headers, json=bob).status_code == 201
    server.post_webhook({"from": "+15550001", "message": "I want my money back", "message_id": "m1", "name": "Ann"})
    server.post_webhook({"from": "+15550002", "message": "Where is my parcel?", "message_id": "m2", "name": "Cy"})

    def listed(phone: str):
        found = httpx.get(f"{server.url}/api/v1/conversations", params={"q": phone}, headers=headers).json()
        return found["items"] and found["items"][0]["id"]

    cy = wait_for(None, lambda _: listed("+15550002"))
    urgent = httpx.patch(f"{server.url}/api/v1/conversations/{cy}", headers=headers, json={"priority": "urgent"})
    assert urgent.status_code == 200, urgent.text
    return wait_for(None, lambda _: listed("+15550001"))


def _choose(driver, current: str, option: str) -> None:
    """Open the select that shows `current` and pick `option`."""
    driver.find_element(By.XPATH, f"//*[contains(@class, 'q-select')][.//*[text()=\"{current}\"]]").click()
    item = f"//div[contains(@class, 'q-menu')]//div[contains(@class, 'q-item')][.//*[text()='{option}']]"
    wait_for(driver, lambda d: d.find_elements(By.XPATH, item))
    driver.find_element(By.XPATH, item).click()


def test_a_label_added_by_one_agent_appears_live_on_the_others_row_and_filter(server, browser):
    ann = _prepare(server)
    bob = new_browser()
    try:
        bob.set_window_size(1440, 900)
        sign_in(bob, server, *BOB)
        wait_for(bob, lambda d: d.execute_script(ROWS) == [["Cy", []], ["Ann", []]])
        everything = bob.current_window_handle
        bob.switch_to.new_window("window")
        bob.set_window_size(1440, 900)
        bob.get(server.url)
        wait_for(bob, lambda d: len(d.execute_script(ROWS)) == 2)
        _choose(bob, "Any label", "refund")
        wait_for(bob, lambda d: d.execute_script(ROWS) == [])
        filtered = bob.current_window_handle

        browser.set_window_size(1440, 900)
        sign_in(browser, server)
        browser.get(f"{server.url}/conversations/{ann}")
        wait_for(browser, text_on_page("I want my money back"))
        browser.find_element(By.XPATH, "//*[contains(@class, 'thread-tags')]//button[.//*[text()='new_label']]").click()
        item = "//div[contains(@class, 'q-menu')]//div[contains(@class, 'q-item')][.//*[text()='refund']]"
        wait_for(browser, lambda d: d.find_elements(By.XPATH, item))
        browser.find_element(By.XPATH, item).click()
        wait_for(browser, text_on_page("Admin added label refund"))
        screenshot(browser, "labels-thread-1440")

        wait_for(bob, lambda d: d.execute_script(ROWS) == [["Ann", ["refund"]]])  # the filtered inbox took it in
        screenshot(bob, "labels-filtered-inbox-1440")
        bob.switch_to.window(everything)
        wait_for(bob, lambda d: d.execute_script(ROWS) == [["Cy", []], ["Ann", ["refund"]]])
        screenshot(bob, "labels-inbox-1440")
        bob.set_window_size(390, 844)
        wait_for(bob, lambda d: d.execute_script(LIST_LEFT) < 50)
        screenshot(bob, "labels-inbox-390")
        bob.switch_to.window(filtered)
        bob.set_window_size(390, 844)
        wait_for(bob, lambda d: d.execute_script(LIST_LEFT) < 50)
        screenshot(bob, "labels-filtered-inbox-390")
        browser.set_window_size(390, 844)
        wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".thread-tags .label-chip").is_displayed())
        screenshot(browser, "labels-thread-390")
        browser.get(f"{server.url}/labels")  # the admins' page, at both widths
        wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".label-chip").is_displayed())
        screenshot(browser, "labels-page-390")
        browser.set_window_size(1440, 900)
        screenshot(browser, "labels-page-1440")
    finally:
        bob.quit()
