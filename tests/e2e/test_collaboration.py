"""Two agents in two browsers: typing, collision warning, live ticks; and catching up after a dropped
connection."""

import time

import httpx
from selenium.webdriver.common.by import By

from tests.helpers.browser import ADMIN, new_browser, screenshot, sign_in, text_on_page, wait_for

BOB = ("bob@example.com", "Bob-pass-12")


def _create_bob(server) -> None:
    token = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()[
        "token"
    ]
    response = httpx.post(
        f"{server.url}/api/v1/agents",
        headers={"Authorization": f"Bearer {token}"},
        json={"email": BOB[0], "password": BOB[1], "name": "Bob", "role": "agent"},
    )
    assert response.status_code == 201, response.text


def test_two_agents_see_typing_collision_and_live_ticks(server, browser):
    server.post_webhook({"from": "+15550001", "message": "Where is my order?", "message_id": "m1", "name": "Ann"})
    _create_bob(server)
    bob = new_browser()
    try:
        sign_in(browser, server)
        sign_in(bob, server, *BOB)
        for driver in (browser, bob):
            driver.get(f"{server.url}/conversations/1")
            wait_for(driver, text_on_page("Where is my order?"))
        bob.find_element(By.TAG_NAME, "textarea").send_keys("Checking your ord")
        wait_for(browser, text_on_page("Bob is typing…"))
        screenshot(browser, "collab-1-typing")
        bob.find_element(By.TAG_NAME, "textarea").send_keys("er now.\n")
        wait_for(browser, text_on_page("Checking your order now."))
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".status-delivered, .status-read"), timeout=15)
        screenshot(browser, "collab-2-live-tick")
        browser.find_element(By.TAG_NAME, "textarea").send_keys("I'll take it from here\n")
        wait_for(browser, text_on_page("Send yours anyway?"))
        screenshot(browser, "collab-3-collision-warning")
        assert "I'll take it from here" not in bob.find_element(By.TAG_NAME, "body").text
        browser.find_element(By.XPATH, "//button[.//*[text()='Send anyway']]").click()
        wait_for(bob, text_on_page("I'll take it from here"))
    finally:
        screenshot(bob, "collab-bob-end")
        bob.quit()


def test_a_tab_catches_up_after_its_connection_drops(server, browser):
    server.post_webhook({"from": "+15550001", "message": "First", "message_id": "m1", "name": "Ann"})
    sign_in(browser, server)
    browser.get(f"{server.url}/conversations/1")
    wait_for(browser, text_on_page("First"))
    browser.execute_script("window.__marker = 'same page'")  # gone if the page reloads
    # The Wi-Fi goes: the browser is offline and its connection breaks; socket.io keeps trying to reconnect.
    browser.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
    browser.execute_script("window.socket.io.engine.close()")
    wait_for(browser, lambda d: d.execute_script("return window.socket.connected === false"))
    server.post_webhook({"from": "+15550001", "message": "Sent while you were away", "message_id": "m2"})
    time.sleep(2)  # processed on the server meanwhile
    assert "Sent while you were away" not in browser.find_element(By.TAG_NAME, "body").text
    browser.delete_network_conditions()  # the Wi-Fi is back
    wait_for(browser, text_on_page("Sent while you were away"), timeout=30)
    assert browser.execute_script("return window.__marker") == "same page"
    screenshot(browser, "reconnect-caught-up")
