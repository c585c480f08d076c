"""The Agents page in a real browser: what a dialog confirms reaches the tab after the dialog closed."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.helpers.browser import screenshot, sign_in, text_on_page, wait_for


def notification_says(text: str):
    return lambda driver: any(text in toast.text for toast in driver.find_elements(By.CSS_SELECTOR, ".q-notification"))


def list_shows(text: str):
    return lambda driver: any(text in row.text for row in driver.find_elements(By.CSS_SELECTOR, ".q-card"))


def test_adding_an_agent_is_confirmed_and_the_list_shows_them_without_a_reload(server, browser):
    sign_in(browser, server)
    browser.get(f"{server.url}/agents")
    wait_for(browser, text_on_page("Add agent"))
    browser.find_element(By.XPATH, "//button[contains(., 'Add agent')]").click()
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".q-dialog input")) >= 3)
    name, email, password = browser.find_elements(By.CSS_SELECTOR, ".q-dialog input")[:3]
    name.send_keys("Cleo Park")
    email.send_keys("cleo@example.com")
    password.send_keys("Cleo-pass-1")
    browser.find_element(By.XPATH, "//div[contains(@class, 'q-dialog')]//button[contains(., 'Add agent')]").click()

    wait_for(browser, notification_says("Cleo Park can now sign in as cleo@example.com"))
    wait_for(browser, list_shows("cleo@example.com"))
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".q-dialog input"))
    screenshot(browser, "agents-added")
    assert "has been deleted" not in server.log.read_text()
