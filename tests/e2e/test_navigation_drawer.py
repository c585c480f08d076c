"""The navigation drawer in a real browser: open beside the page on a laptop, behind the menu button on a phone."""

import time

from selenium.webdriver.common.by import By

from tests.helpers.browser import screenshot, sign_in, wait_for

DRAWER_RIGHT_EDGE = "return document.querySelector('aside.q-drawer').getBoundingClientRect().right"


def drawer_in_view(driver) -> bool:
    return driver.execute_script(DRAWER_RIGHT_EDGE) > 200


def agents_link(driver):
    return driver.find_element(By.XPATH, "//aside//a[contains(., 'Agents')]")


def test_the_navigation_is_beside_the_page_on_a_laptop_and_behind_the_menu_on_a_phone(server, browser):
    sign_in(browser, server)
    browser.set_window_size(1280, 900)
    browser.get(f"{server.url}/customers")
    wait_for(browser, drawer_in_view)
    assert not browser.find_element(By.XPATH, "//header//button[contains(., 'menu')]").is_displayed()
    screenshot(browser, "navigation-1280")

    browser.set_window_size(390, 844)
    browser.get(f"{server.url}/customers")
    wait_for(browser, lambda d: d.find_elements(By.XPATH, "//header//button[contains(., 'menu')]"))
    time.sleep(0.5)  # a drawer that would open on its own has slid in by now
    assert not drawer_in_view(browser)
    screenshot(browser, "navigation-390-closed")
    browser.find_element(By.XPATH, "//header//button[contains(., 'menu')]").click()
    wait_for(browser, drawer_in_view)
    screenshot(browser, "navigation-390-open")
    wait_for(browser, lambda d: agents_link(d).is_displayed())
    time.sleep(0.4)  # the drawer's slide: a click lands where the link ends up
    agents_link(browser).click()
    wait_for(browser, lambda d: d.current_url.endswith("/agents"))
    wait_for(browser, lambda d: d.find_elements(By.XPATH, "//header//button[contains(., 'menu')]"))
    time.sleep(0.5)
    assert not drawer_in_view(browser), "the next page opens with the navigation closed on a phone"
    browser.find_element(By.XPATH, "//header//button[contains(., 'menu')]").click()
    wait_for(browser, drawer_in_view)
