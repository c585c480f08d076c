"""Sign-in in a real browser: a hostile `next` keeps the browser on ChatHub, and a session cookie copied
before sign-in is not signed in afterwards."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.helpers.browser import ADMIN, sign_in, wait_for


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"elsewhere")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, list[str]]]:
    """Another site on 127.0.0.1 (host:port) and the paths it was asked for."""
    listener = ThreadingHTTPServer(("127.0.0.1", 0), type("Recorder", (_Recorder,), {"hits": []}))
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.server_port}", listener.RequestHandlerClass.hits
    listener.shutdown()
    listener.server_close()


@pytest.mark.parametrize(
    "next_template", ["/%5C{host}/phish", "/%09/{host}/phish", "/\\{host}/phish", "//{host}/phish", "/%2F/{host}/phish"]
)
def test_a_hostile_next_keeps_the_browser_on_chathub(server, browser, elsewhere, next_template: str):
    host, hits = elsewhere
    browser.get(f"{server.url}/signin?next={next_template.format(host=host)}")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "input[type=email]"))
    browser.find_element(By.CSS_SELECTOR, "input[type=email]").send_keys(ADMIN[0])
    browser.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(ADMIN[1] + "\n")
    wait_for(
        browser,
        lambda d: (
            urlsplit(d.current_url).path == "/"
            and "Webhook logs" in d.page_source
            or urlsplit(d.current_url).netloc == host
        ),
    )
    assert urlsplit(browser.current_url).netloc == urlsplit(server.url).netloc, browser.current_url
    assert hits == []


def test_a_cookie_copied_before_sign_in_is_not_signed_in_afterwards(server, browser):
    browser.get(f"{server.url}/signin")
    wait_for(browser, lambda d: d.get_cookie("session"))
    planted = browser.get_cookie("session")["value"]
    sign_in(browser, server)
    signed_in = browser.get_cookie("session")["value"]
    assert signed_in != planted

    def page_for(cookie: str) -> httpx.Response:
        return httpx.get(f"{server.url}/profile", cookies={"session": cookie}, follow_redirects=False, timeout=10)

    assert page_for(signed_in).status_code == 200
    assert page_for(planted).is_redirect and page_for(planted).headers["location"].startswith("/signin")
