"""The thread header in a real browser at phone, small-laptop and desktop widths: nothing overlaps, every
action works, the customer panel is reachable."""

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.helpers.browser import ADMIN, screenshot, sign_in, text_on_page, wait_for

# Everything drawn in the header that takes room, visible at the current width.
HEADER_BOXES = """
const header = document.querySelector('.thread-header');
const parts = header.querySelectorAll('.q-avatar, a, .conversation-status, .q-select, button');
return [...parts].filter(e => e.getClientRects().length && e.offsetWidth > 0)
  .filter(e => !e.parentElement.closest('button'))
  .map(e => { const r = e.getBoundingClientRect();
              return {what: e.className.split(' ').slice(0, 2).join(' ') + ' ' + e.textContent.slice(0, 30),
                      left: r.left, right: r.right, top: r.top, bottom: r.bottom}; });
"""


def _overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    return [
        (a["what"], b["what"])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a["left"] < b["right"] - 0.5
        and b["left"] < a["right"] - 0.5
        and a["top"] < b["bottom"] - 0.5
        and b["top"] < a["bottom"] - 0.5
    ]


def _api(server) -> dict[str, str]:
    token = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()[
        "token"
    ]
    return {"Authorization": f"Bearer {token}"}


def _conversation(server, headers) -> dict:
    return httpx.get(f"{server.url}/api/v1/conversations/1", headers=headers).json()


def _open_thread(browser: WebDriver, server, width: int, height: int) -> None:
    browser.set_window_size(width, height)
    browser.get(f"{server.url}/conversations/1")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".thread-header .conversation-status"))
    wait_for(browser, text_on_page("Where is my order?"))


def _click(browser: WebDriver, xpath: str) -> None:
    wait_for(browser, lambda d: [e for e in d.find_elements(By.XPATH, xpath) if e.is_displayed()])
    next(e for e in browser.find_elements(By.XPATH, xpath) if e.is_displayed()).click()


def _menu(browser: WebDriver, item: str) -> None:
    _click(browser, "//button[.//i[text()='more_vert']]")
    _click(browser, f"//div[contains(@class, 'q-menu')]//div[contains(@class, 'q-item')][.//*[text()='{item}']]")


def _signed_in_on_thread(server, browser: WebDriver, customer: str, width: int, height: int) -> dict[str, str]:
    """A customer's conversation open at the given window size; returns API headers for checking."""
    server.post_webhook({"from": "+15550001", "message": "Where is my order?", "message_id": "m1", "name": customer})
    headers = _api(server)
    sign_in(browser, server)
    _open_thread(browser, server, width, height)
    assert browser.execute_script("return window.innerWidth") == width
    return headers


def test_nothing_in_the_thread_header_overlaps_at_1024(server, browser):
    headers = _signed_in_on_thread(server, browser, "Annabelle Featherstonehaugh-Montgomery", 1024, 700)
    boxes = browser.execute_script(HEADER_BOXES)
    screenshot(browser, "header-1024-open")
    assert len(boxes) >= 4 and _overlapping(boxes) == []
    httpx.patch(
        f"{server.url}/api/v1/conversations/1",
        headers=headers,
        json={"status": "snoozed", "snoozed_until": "2031-01-07T09:00:00Z"},
    ).raise_for_status()
    wait_for(browser, text_on_page("Snoozed until"))
    boxes = browser.execute_script(HEADER_BOXES)
    screenshot(browser, "header-1024-snoozed")
    assert _overlapping(boxes) == []


def test_on_a_phone_an_agent_assigns_snoozes_and_resolves_through_the_header(server, browser):
    headers = _signed_in_on_thread(server, browser, "Ann Lee", 390, 844)
    screenshot(browser, "phone-1-thread")

    _menu(browser, "Assign…")
    _click(browser, "//div[contains(@class, 'q-dialog')]//div[contains(@class, 'q-field__control')]")
    screenshot(browser, "phone-2-assign")
    _click(browser, "//div[contains(@class, 'q-item')][contains(., 'Admin')]")
    wait_for(browser, lambda d: _conversation(server, headers)["assignee_id"] == 1)

    _menu(browser, "Snooze…")
    screenshot(browser, "phone-3-snooze-dialog")
    _click(browser, "//button[.//*[starts-with(text(), 'Tomorrow morning')]]")
    wait_for(
        browser,
        lambda d: "Snoozed until" in " ".join(n.text for n in d.find_elements(By.CSS_SELECTOR, ".q-notification")),
    )
    wait_for(browser, lambda d: "Snoozed until" in d.find_element(By.CSS_SELECTOR, ".thread-header").text)
    screenshot(browser, "phone-4-snoozed")
    assert _conversation(server, headers)["status"] == "snoozed"

    _menu(browser, "Resolve")
    wait_for(browser, lambda d: _conversation(server, headers)["status"] == "resolved")
    _menu(browser, "Reopen")
    wait_for(browser, lambda d: _conversation(server, headers)["status"] == "open")
    screenshot(browser, "phone-5-reopened")


def test_the_customer_panel_is_a_drawer_below_1280_and_beside_the_thread_above(server, browser):
    _signed_in_on_thread(server, browser, "Ann Lee", 1440, 900)
    for width, height in ((390, 844), (1024, 700), (1440, 900)):
        _open_thread(browser, server, width, height)
        screenshot(browser, f"thread-{width}")
        panel = browser.find_element(By.CSS_SELECTOR, ".customer-panel")
        if width < 1280:
            assert not panel.is_displayed()
            _click(browser, "//button[.//i[text()='contact_page']]")
            wait_for(browser, lambda d: panel.is_displayed())
            screenshot(browser, f"customer-drawer-{width}")
            _click(browser, "//div[contains(@class, 'customer-panel')]//button[.//i[text()='close']]")
            wait_for(browser, lambda d: not panel.is_displayed())
        else:
            assert panel.is_displayed()
        assert browser.execute_script("return document.documentElement.scrollWidth") <= width
