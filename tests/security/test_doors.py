"""The doors: every route of the running app is listed (FastAPI's routes, NiceGUI pages included) and each
must be classified below — an unclassified route fails the suite, so a new route needs a decision. Then:
strangers are sent to sign-in (pages) or refused 401 (API); agents are refused admin-only API routes (403)
and pages; the session cookie is HttpOnly and SameSite; passwords and API tokens are stored hashed; secret
webhook headers never reach the database in clear.

Decision on the OpenAPI docs (/docs, /redoc, /openapi.json): public. They describe routes, not data; the
code is open source, so the schema tells an attacker nothing the repository does not, and integrators read
it before they hold a token. Every route the docs describe still demands its token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from nicegui import app
from nicegui.testing import User

from chathub.models import AgentRole
from chathub.schemas import AgentIn, ChannelIn
from chathub.services import agents, channels
from chathub.settings import Settings
from tests.helpers import postgres
from tests.helpers.app import ADMIN_EMAIL, ADMIN_PASSWORD, login, running_app
from tests.helpers.pages import sign_in
from tests.helpers.webhooks import post_webhook, seed_message

AGENT = {"email": "ben@example.com", "name": "Ben", "password": "Ben-pass-123"}

PUBLIC = {  # anyone, by design
    ("GET", "/signin"),
    ("GET", "/setup"),
    ("GET", "/healthz"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/favicon.ico"),
    ("HEAD", "/favicon.ico"),
    ("GET", "/signin/complete"),  # signs in only with the one-time ticket of the browser's own sign-in
}
DOCS = {
    (method, path)
    for method in ("GET", "HEAD")
    for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
}
WEBHOOKS = {  # providers cannot sign in: signatures guard these (tests/services, tests/drivers)
    ("POST", "/webhooks/simulator"),
    ("POST", "/webhooks/{channel_type}/{channel_id}"),
    ("GET", "/webhooks/{channel_type}/{channel_id}"),  # a provider's verification handshake
}
SIGNED_LINKS = {  # a provider fetching an attachment we send: only with a valid, unexpired signature
    ("GET", "/media/public/{message_id}/{expires}/{signature}"),
}
AGENT_PAGES = {
    "/",
    "/conversations/{conversation_id}",
    "/customers",
    "/customers/{customer_id}",
    "/canned-responses",
    "/webhooks",
    "/profile",
    "/simulator",
}
ADMIN_PAGES = {"/channels", "/agents", "/labels"}
AGENT_API = {
    ("GET", "/api/v1/channels"),
    ("GET", "/api/v1/conversations"),
    ("GET", "/api/v1/conversations/{conversation_id}"),
    ("PATCH", "/api/v1/conversations/{conversation_id}"),
    ("POST", "/api/v1/conversations/{conversation_id}/read"),
    ("GET", "/api/v1/conversations/{conversation_id}/messages"),
    ("POST", "/api/v1/conversations/{conversation_id}/messages"),
    ("POST", "/api/v1/conversations/{conversation_id}/attachments"),
    ("POST", "/api/v1/messages/{message_id}/retry"),
    ("GET", "/api/v1/customers"),
    ("GET", "/api/v1/customers/{customer_id}"),
    ("PATCH", "/api/v1/customers/{customer_id}"),
    ("GET", "/api/v1/webhook-logs"),
    ("GET", "/api/v1/webhook-logs/{log_id}"),
    ("POST", "/api/v1/webhook-logs/{log_id}/replay"),
    ("GET", "/api/v1/agents"),
    ("GET", "/api/v1/notifications"),
    ("POST", "/api/v1/notifications/{notification_id}/read"),
    ("POST", "/api/v1/notifications/read-all"),
    ("GET", "/api/v1/canned-responses"),  # personal replies: the caller's own; team ones: admins change them
    ("POST", "/api/v1/canned-responses"),
    ("PATCH", "/api/v1/canned-responses/{canned_id}"),
    ("DELETE", "/api/v1/canned-responses/{canned_id}"),
    ("GET", "/api/v1/labels"),
    ("POST", "/api/v1/conversations/{conversation_id}/labels"),
    ("DELETE", "/api/v1/conversations/{conversation_id}/labels/{name}"),
    ("GET", "/media/{message_id}"),  # files of messages: signed-in agents (token or browser session)
}
ADMIN_API = {
    ("POST", "/api/v1/channels"),
    ("PATCH", "/api/v1/channels/{channel_id}"),
    ("GET", "/api/v1/channels/{channel_id}/health"),
    ("POST", "/api/v1/agents"),
    ("PATCH", "/api/v1/agents/{agent_id}"),
    ("POST", "/api/v1/labels"),
    ("PATCH", "/api/v1/labels/{label_id}"),
    ("DELETE", "/api/v1/labels/{label_id}"),
}
CLASSIFIED = (
    PUBLIC | DOCS | WEBHOOKS | SIGNED_LINKS | {("GET", p) for p in AGENT_PAGES | ADMIN_PAGES} | AGENT_API | ADMIN_API
)


def nicegui_internal(path: str) -> bool:
    """NiceGUI's own assets and websocket (versioned paths: matched by prefix)."""
    return path == "/_nicegui_ws" or path.startswith(("/_nicegui/", "/_nicegui_ws/"))


def served_app():
    """What uvicorn serves: the API app with NiceGUI's app mounted at / (see chathub/app.py)."""
    from chathub import app as chathub_app

    return chathub_app.http_app


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the running app serves, NiceGUI's pages included; a mount counts as
    method '*' (except NiceGUI's own, whose routes are listed instead)."""
    found = set()
    for routes in (served_app().routes, app.routes):
        for route in iter_route_contexts(routes):
            if getattr(route, "app", None) is app:
                continue
            for method in route.methods or {"*"}:
                found.add((method, route.path))
    return found


def filled(path: str, value: str = "1") -> str:
    """A route path with each {parameter} replaced by a plausible value."""
    while "{" in path:
        start = path.index("{")
        path = path[:start] + value + path[path.index("}", start) + 1 :]
    return path


async def seed(http: httpx.AsyncClient) -> None:
    """Row 1 of everything a path can name: customer, conversation, message, webhook log."""
    response = await post_webhook(http, seed_message())
    assert response.status_code == 200, response.text
    from tests.helpers.waiting import eventually

    await eventually(lambda: _conversation_exists(http), timeout=20)


async def _conversation_exists(http: httpx.AsyncClient) -> bool:
    headers = await login(http)
    return (await http.get("/api/v1/conversations/1", headers=headers)).status_code == 200


def stranger() -> httpx.AsyncClient:
    """No cookies, no token."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(served_app()), base_url="http://test")


async def test_every_route_of_the_app_is_classified(client):
    routes = {(method, path) for method, path in app_routes() if not nicegui_internal(path)}

    unclassified = sorted(routes - CLASSIFIED)
    gone = sorted(CLASSIFIED - routes)
    assert not unclassified, f"routes with no door decision (add them to a set in this file): {unclassified}"
    assert not gone, f"classified routes the app no longer serves (remove them here): {gone}"
    assert ("GET", "/") in routes and ("POST", "/api/v1/agents") in routes  # the walk sees pages and routers


async def test_strangers_are_sent_to_sign_in_from_every_page(client):
    await seed(client)
    refused = []
    async with stranger() as http:
        for path in sorted(AGENT_PAGES | ADMIN_PAGES):
            response = await http.get(filled(path))
            location = response.headers.get("location", "")
            if response.status_code not in (302, 303, 307) or not location.startswith("/signin?next="):
                refused.append((path, response.status_code, location))
    assert refused == [], "pages that did not send a stranger to /signin"


@pytest.mark.parametrize("token", [None, "chq_not-a-real-token"], ids=["no token", "unknown token"])
async def test_strangers_get_401_from_every_api_route(client, token):
    await seed(client)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    wrong = []
    async with stranger() as http:
        for method, path in sorted(AGENT_API | ADMIN_API):
            response = await http.request(method, filled(path), json={}, headers=headers)
            if response.status_code != 401:
                wrong.append((method, path, response.status_code, response.text[:200]))
    assert wrong == [], "API routes that did not refuse a stranger with 401"


async def test_a_forged_signed_link_serves_no_file(client):
    await seed(client)
    async with stranger() as http:
        for _, path in SIGNED_LINKS:
            response = await http.get(filled(path, "1").replace("/1/1/1", "/1/99999999999/forged"))
            assert response.status_code == 404, path


async def test_public_routes_and_docs_answer_strangers(client):
    async with stranger() as http:
        for method, path in sorted(PUBLIC | DOCS):
            if method == "GET" and path != "/api/v1/auth/login":
                response = await http.get(path, follow_redirects=True)
                assert response.status_code == 200, (path, response.status_code)


async def test_agents_get_403_from_every_admin_api_route_and_not_from_the_others(client, auth):
    await seed(client)
    created = await client.post("/api/v1/agents", json={**AGENT, "role": "agent"}, headers=auth)
    assert created.status_code == 201, created.text
    agent = await login(client, AGENT["email"], AGENT["password"])

    not_forbidden = []
    for method, path in sorted(ADMIN_API):
        response = await client.request(method, filled(path), json={}, headers=agent)
        if response.status_code != 403 or response.json() != {"detail": "only admins may do this"}:
            not_forbidden.append((method, path, response.status_code))
    assert not_forbidden == [], "admin-only API routes an agent was not refused"

    wrongly_refused = []
    for method, path in sorted(AGENT_API):
        response = await client.request(method, filled(path), json={}, headers=agent)
        if response.status_code in (401, 403):
            wrongly_refused.append((method, path, response.status_code))
    assert wrongly_refused == [], "routes every agent may use refused an agent"


@pytest.mark.parametrize("path, admin_content", [("/channels", "Hidden inbox"), ("/agents", ADMIN_EMAIL)])
async def test_agents_cannot_open_admin_only_pages(user: User, path: str, admin_content: str):
    await channels.create_channel(ChannelIn(type="simulator", name="Hidden inbox"))
    await agents.create_agent(AgentIn(**AGENT, role=AgentRole.agent))

    await sign_in(user, AGENT["email"], AGENT["password"])
    await user.open(path)
    await user.should_see("Only admins can open this page.")
    await user.should_not_see(admin_content)


@pytest.mark.parametrize("path, admin_content", [("/channels", "Hidden inbox"), ("/agents", ADMIN_EMAIL)])
async def test_admins_open_the_admin_only_pages(user: User, path: str, admin_content: str):
    await channels.create_channel(ChannelIn(type="simulator", name="Hidden inbox"))
    await sign_in(user)
    await user.open(path)
    await user.should_see(admin_content)
    await user.should_not_see("Only admins can open this page.")


def session_cookie(response: httpx.Response) -> str:
    (cookie,) = [c for c in response.headers.get_list("set-cookie") if c.startswith("session=")]
    return cookie


async def test_the_session_cookie_is_httponly_samesite_lax_and_holds_only_a_random_id(client):
    cookie = session_cookie(await client.get("/signin"))
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}

    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "path=/"
    assert "secure" not in attributes  # plain http on 127.0.0.1: a Secure cookie would never come back
    payload = cookie.split("=", 1)[1].split(".")[0]
    assert list(json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))) == ["id"]


async def test_the_session_cookie_is_secure_when_chathub_is_served_over_https(monkeypatch):
    monkeypatch.setenv("CHATHUB_PUBLIC_URL", "https://inbox.example.com")
    async with running_app() as http:
        cookie = session_cookie(await http.get("/signin"))
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def stored(query: str) -> list[tuple]:
    """Rows as the database holds them, read past the app (the test's SQLite file or PostgreSQL database)."""
    settings = Settings()
    if postgres.is_postgresql(settings.database_url):
        with postgres.connect(settings.database_url) as connection:
            return connection.execute(query).fetchall()
    with sqlite3.connect(settings.sqlite_file) as connection:
        return connection.execute(query).fetchall()


async def test_passwords_are_stored_as_argon2_hashes(client):
    await agents.create_agent(AgentIn(**AGENT, role=AgentRole.agent))

    rows = dict(stored("SELECT email, password_hash FROM agent"))

    assert set(rows) == {ADMIN_EMAIL, AGENT["email"]}
    for email, password in ((ADMIN_EMAIL, ADMIN_PASSWORD), (AGENT["email"], AGENT["password"])):
        assert rows[email].startswith("$argon2id$"), rows[email]
        assert password not in rows[email]


async def test_api_tokens_are_stored_only_as_a_hash(client):
    token = (await client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).json()[
        "token"
    ]

    rows = stored("SELECT * FROM api_token")

    assert len(rows) == 1
    assert not any(token in str(value) for value in rows[0])
    assert hashlib.sha256(token.encode()).hexdigest() in rows[0]


SECRET_HEADERS = {
    "Authorization": "Bearer provider-token-1a2b",
    "X-Twilio-Signature": "twilio-sig-3c4d",
    "X-Hub-Signature-256": "sha256=meta-sig-5e6f",
    "X-Telegram-Bot-Api-Secret-Token": "telegram-secret-7a8b",
    "X-ChatHub-Signature": "sha256=chathub-sig-9c0d",
    "Cookie": "session=stolen-cookie-1e2f",
}


@pytest.mark.parametrize(
    "path, body, expected",
    [
        ("/webhooks/simulator", json.dumps(seed_message()).encode(), 200),
        ("/webhooks/simulator", b"{not json", 400),
        ("/webhooks/telegram/4242", b"{}", 404),
    ],
    ids=["accepted", "rejected", "no such channel"],
)
async def test_secret_webhook_headers_never_reach_the_database_in_clear(client, path, body, expected):
    response = await client.post(path, content=body, headers={**SECRET_HEADERS, "content-type": "application/json"})
    assert response.status_code == expected, response.text

    (row,) = stored(f"SELECT CAST(headers AS TEXT) FROM webhook_log WHERE id = {response.json()['webhook_log_id']}")
    headers = json.loads(row[0])
    for name, secret in SECRET_HEADERS.items():
        assert headers[name.lower()] == "[redacted]"
        assert secret not in row[0]
    assert headers["content-type"] == "application/json"
