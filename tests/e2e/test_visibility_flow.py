"""Who sees what in a real browser: an admin limits Cal on the Agents page, and Cal's open inbox drops the
conversation assigned to someone else at once, keeping his own and the unassigned ones."""

from __future__ import annotations

import httpx
from selenium.webdriver.common.by import By

from tests.helpers.browser import ADMIN, LiveServer, new_browser, screenshot, sign_in, text_on_page, wait_for
from tests.helpers.webhooks import seed_message

CAL = {"email": "cal@example.com", "name": "Cal Limited", "password": "Cal-pass-123"}


def admin_api(server: LiveServer) -> httpx.Client:
    http = httpx.Client(base_url=server.url, timeout=10)
    token = http.post("/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def test_an_admin_limits_an_agent_and_the_agents_open_inbox_drops_others_conversations(server, browser):
    http = admin_api(server)
    assert http.post("/api/v1/agents", json=CAL).status_code == 201
    cal = new_browser()
    try:
        sign_in(cal, server, CAL["email"], CAL["password"])
        for sender, name in (("+15550001", "Bertha Hidden"), ("+15550002", "Una Open")):
            server.post_webhook(seed_message(message_id=f"m{sender}", sender=sender, name=name, text=f"Hi, {name}"))
            wait_for(cal, text_on_page(name))
        [bertha] = http.get("/api/v1/conversations", params={"q": "Bertha"}).json()["items"]
        assert http.patch(f"/api/v1/conversations/{bertha['id']}", json={"assignee_id": 1}).status_code == 200

        sign_in(browser, server)
        browser.set_window_size(1440, 900)
        browser.get(f"{server.url}/agents")
        wait_for(browser, text_on_page("Cal Limited"))
        row = browser.find_element(By.XPATH, "//div[contains(@class, 'border-b')][contains(., 'cal@example.com')]")
        row.find_element(By.XPATH, ".//label[contains(@class, 'q-select')]").click()
        wait_for(browser, lambda d: d.find_elements(By.XPATH, "//div[contains(@class, 'q-item')][contains(., 'own')]"))
        browser.find_element(By.XPATH, "//div[contains(@class, 'q-item')][contains(., 'own')]").click()
        wait_for(browser, text_on_page("Cal Limited: sees own and unassigned"))
        wait_for(browser, text_on_page("cal@example.com"))  # the list, drawn again
        screenshot(browser, "visibility-agents-1440")
        browser.set_window_size(390, 844)
        browser.get(f"{server.url}/agents")
        wait_for(browser, text_on_page("cal@example.com"))
        screenshot(browser, "visibility-agents-390")

        wait_for(cal, lambda d: "Bertha Hidden" not in d.find_element(By.TAG_NAME, "body").text)
        assert "Una Open" in cal.find_element(By.TAG_NAME, "body").text
        screenshot(cal, "visibility-limited-inbox-1400")
    finally:
        cal.quit()
