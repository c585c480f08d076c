"""An admin turns on automatic assignment for a channel in a real browser, on a laptop and on a phone: the
editor's switch shows the limit, and the channel's card says what the rule does."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.helpers.browser import dialog_shows, screenshot, sign_in, text_on_page, wait_for

SWITCH = "Assign new conversations automatically"
SUMMARY = "Assigns new and reopened conversations to an online agent (at most 3 open per agent)."


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_an_admin_turns_on_automatic_assignment_with_a_limit(server, browser, width, height):
    browser.set_window_size(width, height)
    sign_in(browser, server)
    browser.get(f"{server.url}/channels")
    wait_for(browser, text_on_page("Add channel"))
    browser.find_element(By.XPATH, "//button[.//i[text()='edit']]").click()
    wait_for(browser, dialog_shows(SWITCH))
    browser.find_element(By.XPATH, f"//*[contains(@class,'q-toggle')][.//*[text()='{SWITCH}']]").click()
    field = wait_for(
        browser, lambda d: d.find_element(By.XPATH, "//label[.//*[text()='At most open per agent']]//input")
    )
    field.send_keys(Keys.CONTROL + "a", Keys.DELETE)
    field.send_keys("3")
    screenshot(browser, f"channel-assignment-editor-{width}")
    browser.find_element(By.XPATH, "//button[.//*[text()='Save']][ancestor::*[contains(@class,'q-dialog')]]").click()
    wait_for(browser, text_on_page(SUMMARY))
    screenshot(browser, f"channel-assignment-card-{width}")
