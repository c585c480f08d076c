"""The page policy in a real browser: ChatHub works under its content security policy (the live socket, the
inbox, a reply), the browser reports no violation, and another site's frame of a ChatHub page stays empty."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from selenium.webdriver.common.by import By

from tests.helpers.browser import new_browser, screenshot, sign_in, text_on_page, wait_for


@pytest.fixture
def logging_browser():
    driver = new_browser(logging=True)
    yield driver
    driver.quit()


@pytest.fixture
def other_site(server) -> Iterator[str]:
    """A page on another origin (another port) that frames ChatHub's sign-in page."""
    page = f'<html><body><p>Other site</p><iframe id="framed" src="{server.url}/signin"></iframe></body></html>'

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page.encode())

        def log_message(self, *_) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{site.server_address[1]}/"
    site.shutdown()


def policy_violations(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]


def test_the_inbox_runs_live_under_the_page_policy(server, logging_browser):
    sign_in(logging_browser, server)
    server.post_webhook({"from": "+15550199", "message": "Arrived while you looked", "message_id": "csp-1"})
    wait_for(logging_browser, text_on_page("Arrived while you looked"))  # pushed through the live socket
    logging_browser.get(f"{server.url}/conversations/1")
    wait_for(logging_browser, lambda d: d.find_elements(By.TAG_NAME, "textarea"))
    logging_browser.find_element(By.TAG_NAME, "textarea").send_keys("We are on it.\n")
    wait_for(logging_browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".status-sent, .status-delivered"))
    screenshot(logging_browser, "page-policy-thread")
    assert policy_violations(logging_browser) == []


def test_another_site_cannot_frame_a_chathub_page(server, other_site, logging_browser):
    logging_browser.get(other_site)
    wait_for(logging_browser, text_on_page("Other site"))
    refusals = []
    wait_for(
        logging_browser,
        lambda d: refusals.extend(m for m in policy_violations(d) if "frame-ancestors" in m) or refusals,
    )
    logging_browser.switch_to.frame(logging_browser.find_element(By.ID, "framed"))
    assert not logging_browser.find_elements(By.CSS_SELECTOR, "input[type=password]")
    logging_browser.switch_to.default_content()
    screenshot(logging_browser, "page-policy-framed")
