"""Shared test set-up: every test gets a fresh data folder and the real app, started through main.py."""

from __future__ import annotations

import asyncio
import gc
import os
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from nicegui import background_tasks
from nicegui.context import context
from nicegui.testing import User
from nicegui.testing.user_navigate import UserNavigate
from nicegui.testing.user_notify import UserNotify
from nicegui.testing.user_simulation import user_simulation

from chathub import process_state
from chathub.pages.components import live_pace
from tests.fakes.web import FakeWebsite

MAIN_FILE = Path(__file__).parent.parent / "main.py"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "Admin-pass-1"


@pytest.fixture(autouse=True)
def chathub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data folder and quick retries for every test; settings are read at start-up."""
    for key in [k for k in os.environ if k.startswith("CHATHUB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("CHATHUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHATHUB_ADMIN_EMAIL", ADMIN_EMAIL)
    monkeypatch.setenv("CHATHUB_ADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.setenv("CHATHUB_RETRY_BASE_SECONDS", "0.05")
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    process_state.reset()
    yield tmp_path / "data"
    process_state.reset()


PUBLIC_URL = "https://chathub.example.com"


@pytest.fixture
def https_public_url(monkeypatch: pytest.MonkeyPatch, chathub_env) -> str:
    """ChatHub behind an HTTPS address, as providers reach it (webhook URLs, signatures, media links)."""
    monkeypatch.setenv("CHATHUB_PUBLIC_URL", PUBLIC_URL)
    return PUBLIC_URL


@pytest.fixture
def customer_website(monkeypatch: pytest.MonkeyPatch, chathub_env) -> Iterator[FakeWebsite]:
    """A web server on 127.0.0.1 that customers' URLs point at, which ChatHub may fetch from because the
    operator's CHATHUB_MEDIA_FETCH_ALLOW says so (ask for it before the app starts: before `user`/`client`)."""
    monkeypatch.setenv("CHATHUB_MEDIA_FETCH_ALLOW", "127.0.0.1")
    with FakeWebsite() as site:
        yield site


def app_client() -> httpx.AsyncClient:
    """An in-process client of the app uvicorn would serve (webhooks, API, and the pages mounted under it)."""
    from chathub import app as chathub_app  # the module main.py just ran (NiceGUI's test reset re-imports it)

    return httpx.AsyncClient(transport=httpx.ASGITransport(chathub_app.http_app), base_url="http://test")


_tasks_of_other_loops: list[asyncio.Task] = []  # kept: a pending task that is collected logs an error


def forget_tasks_of_other_loops() -> None:
    """NiceGUI's shutdown waits for every task in its `running_tasks`, on the loop it runs on. A task an app
    started on an earlier test's event loop as that test ended stays there, pending for good: the next shutdown
    then fails ("Event loop is closed"), or, if that loop was never closed, `asyncio.gather` refuses a task of
    another loop and NiceGUI logs that and tries again, endlessly (a CI run hung so, with 4 GB of logged
    tracebacks). One process has one event loop; the tests have one each, so this is the tests' concern."""
    loop = asyncio.get_running_loop()
    tasks, lazy_tasks = background_tasks.running_tasks, background_tasks.lazy_tasks_running
    others = [task for task in {*tasks, *lazy_tasks.values()} if task.get_loop() is not loop]
    _tasks_of_other_loops.extend(others)
    tasks.difference_update(others)
    for name in [name for name, task in lazy_tasks.items() if task in others]:
        del lazy_tasks[name]


@asynccontextmanager
async def running_app() -> AsyncIterator[httpx.AsyncClient]:
    """Start the whole app (main.py, start-up handlers, workers) and yield an HTTP client to it.
    Leaving the block stops it like a shut-down; entering again with the same data folder is a restart."""
    forget_tasks_of_other_loops()
    async with user_simulation(main_file=MAIN_FILE), app_client() as http:
        yield http


@pytest.fixture
async def user(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[User]:
    """NiceGUI's simulated browser, talking to the whole app (its own `user` fixture only reaches the pages)."""
    # Page tests check what a tab shows, not its pace under a flood (tests/pages/test_live_pace.py does): a
    # steady half-second pace keeps their waits short and sure.
    monkeypatch.setattr(live_pace, "BUSY_INTERVAL_SECONDS", live_pace.FIRST_DELAY_SECONDS)
    monkeypatch.setattr(UserNotify, "__call__", _notify_through_the_tab)
    monkeypatch.setattr(UserNavigate, "to", _navigate_the_tabs_browser)
    monkeypatch.setattr(User, "__init__", _remember_browser)
    forget_tasks_of_other_loops()
    async with user_simulation(main_file=MAIN_FILE) as simulated:
        simulated.http_client = app_client()
        yield simulated
        await simulated.http_client.aclose()
    # after the app has stopped: failing inside the simulation left it half started for every later test
    if any(record.levelname == "ERROR" for record in caplog.get_records("call")):
        pytest.fail("There were unexpected ERROR logs.", pytrace=False)


_record_notification = UserNotify.__call__


def _notify_through_the_tab(self: UserNotify, message: str, **options) -> None:
    """The simulated browser records notifications without asking for the tab, which the real `ui.notify`
    reaches through the current slot's element: a toast said from a deleted element (a closed disposable
    dialog, a refreshed row) raises in a real tab and must fail here too. Collecting garbage first makes the
    deleted element as gone as a busy server would."""
    gc.collect()
    client = context.client  # raises as the real notify does when the element is gone
    owner = _browser_showing(client)
    _record_notification(object.__getattribute__(owner, "notify") if owner else self, message, **options)


# NiceGUI's User points the global `ui.navigate` and `ui.notify` at whichever simulated browser had an attribute
# read last, and a browser's own live updates read its attributes: with two browsers, one tab's sign-in
# navigation could open in the other browser. Both are sent to the browser showing the tab that asked.
_simulated_browsers: weakref.WeakSet[User] = weakref.WeakSet()
_create_browser = User.__init__
_open_target = UserNavigate.to


def _remember_browser(self: User, *args, **kwargs) -> None:
    _create_browser(self, *args, **kwargs)
    _simulated_browsers.add(self)


def _browser_showing(client) -> User | None:
    return next(
        (browser for browser in list(_simulated_browsers) if object.__getattribute__(browser, "client") is client), None
    )


def _navigate_the_tabs_browser(self: UserNavigate, target, new_tab: bool = False) -> None:
    try:
        owner = _browser_showing(context.client)
    except RuntimeError:  # called by the test itself, outside any tab: the browser it was called on
        owner = None
    _open_target(object.__getattribute__(owner, "navigate") if owner else self, target, new_tab)


@pytest.fixture
def create_user(user: User) -> Callable[[], User]:
    """More simulated browsers (own cookies) on the app the `user` fixture started."""
    return lambda: User(app_client())


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with running_app() as http:
        yield http


async def login(http: httpx.AsyncClient, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> dict[str, str]:
    """Authorization headers for the given agent."""
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
async def auth(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client)


@pytest.fixture(autouse=True)
def unnested_lifespan():
    """FastAPI's include_router wraps the app's lifespan once per router and NiceGUI's test reset does not
    undo it, so every app start nested deeper until start-up hit RecursionError (after ~150 apps in one run).
    Each test starts from the lifespan it found."""
    from nicegui import app as nicegui_app

    plain = nicegui_app.router.lifespan_context
    yield
    nicegui_app.router.lifespan_context = plain
