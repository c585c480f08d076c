"""An open inbox in a real browser leaves for the sign-in page, which says why, once its session ends."""

from urllib.parse import urlsplit

import httpx

from tests.helpers.browser import ADMIN, screenshot, sign_in, text_on_page, wait_for


def test_an_open_thread_leaves_for_sign_in_when_a_password_change_ends_its_session(server, browser):
    server.post_webhook({"from": "+15550001", "message": "Where is my order?", "message_id": "m1", "name": "Ann"})
    sign_in(browser, server)
    browser.get(f"{server.url}/conversations/1")
    wait_for(browser, text_on_page("Where is my order?"))
    token = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()
    me = {"Authorization": f"Bearer {token['token']}"}
    [admin] = httpx.get(f"{server.url}/api/v1/agents", headers=me).json()["items"]

    response = httpx.patch(f"{server.url}/api/v1/agents/{admin['id']}", headers=me, json={"password": "Admin-new-2"})
    assert response.status_code == 200, response.text

    wait_for(browser, text_on_page("You were signed out (a sign-out or a password change). Sign in again."))
    assert urlsplit(browser.current_url).path == "/signin"
    screenshot(browser, "access-ended-sign-in")
    assert "Traceback" not in server.log.read_text()
