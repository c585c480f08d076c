"""Shared test set-up: every test gets a fresh data folder; tests that ask for `user`, `client` or `auth` get
the real app, started through main.py. Markers are set here from what a test uses (see `pytest --markers`):
a new test gets them without asking."""

from __future__ import annotations

import functools
import inspect
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from nicegui.testing import User
from nicegui.testing.user_navigate import UserNavigate
from nicegui.testing.user_notify import UserNotify
from nicegui.testing.user_simulation import user_simulation
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from chathub import auth as password_auth
from chathub import process_state
from chathub.pages.components import live_pace
from tests.fakes.web import FakeWebsite
from tests.helpers import postgres, simulated_browser, template_database
from tests.helpers.app import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    MAIN_FILE,
    PUBLIC_URL,
    app_client,
    before_start,
    login,
    running_app,
)

TESTS = Path(__file__).parent
APP_FIXTURES = {"user", "client", "auth", "create_user"}
SLOW_FOLDERS = {"reliability", "bench"}  # crashes, outages, load: whole processes, real waits
PROCESS_STARTS = (
    "subprocess",
    "sys.executable",
    "start_main(",
    "LiveServer(",
    "ChatHubProcess(",
    "running_instances(",
    "Instances(",
    "instances_started_in_turn(",
)


@pytest.fixture(autouse=True, scope="session")
def quick_password_hashing() -> Iterator[None]:
    """Argon2 at the recommended cost (64 MiB, 3 passes) took a third of a second per sign-in here, most of what
    an in-process app test costs. Tests in this process hash with the same algorithm at its smallest cost; the
    app processes that browser, command and crash tests start keep the real cost, and test_cli.py checks it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            password_auth, "_hasher", PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
        )
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for name in _markers_for(item):
            item.add_marker(name)


def _markers_for(item: pytest.Item) -> set[str]:
    """`browser`: drives a real browser; `app`: starts the app in-process; `slow`: takes seconds on its own."""
    fixtures = set(getattr(item, "fixturenames", ()))
    folder = Path(item.path).relative_to(TESTS).parts[0]
    markers = set()
    if folder == "e2e" or "browser" in fixtures or any("new_browser(" in source for source in _sources(item)):
        markers.add("browser")
    if fixtures & APP_FIXTURES or _calls_running_app(item):
        markers.add("app")
    if folder in SLOW_FOLDERS or _is_fuzzing(item) or _starts_a_process(item):
        markers.add("slow")
    return markers


def _source(item: pytest.Item) -> str:
    return _source_of(getattr(item, "function", None))


def _calls_running_app(item: pytest.Item) -> bool:
    return "running_app(" in _source(item)


def _starts_a_process(item: pytest.Item) -> bool:
    """`python main.py` or the `chathub` command as its own process takes seconds to import and start: in the
    test itself, in a fixture it uses or in a helper of its module that it calls."""
    return any(needle in source for source in _sources(item) for needle in PROCESS_STARTS)


def _sources(item: pytest.Item) -> list[str]:
    """The test's source, its fixtures' and those of its module's helpers that it calls."""
    return [_source(item), *_fixture_sources(item), *_called_helper_sources(item)]


def _fixture_sources(item: pytest.Item) -> list[str]:
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info else ()
    return [_source_of(definition.func) for chain in definitions for definition in chain]


def _called_helper_sources(item: pytest.Item) -> list[str]:
    module, test_source = getattr(item, "module", None), _source(item)
    helpers = (
        [
            value
            for name, value in vars(module).items()
            if inspect.isfunction(value)
            and value.__module__ == module.__name__
            and re.search(rf"\b{name}\b", test_source)
        ]
        if module
        else []
    )
    return [_source_of(helper) for helper in helpers]


@functools.cache
def _source_of(function) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def _is_fuzzing(item: pytest.Item) -> bool:
    """Hypothesis and schemathesis run a test over many generated inputs."""
    function, module = getattr(item, "function", None), getattr(item, "module", None)
    return bool(getattr(function, "is_hypothesis_test", False)) or hasattr(module, "schemathesis")


@pytest.fixture(scope="session")
def postgres_cluster(quick_password_hashing) -> Iterator[postgres.Cluster]:
    """This test process's PostgreSQL server, with its migrated template databases (tests/helpers/postgres.py)."""
    with postgres.running_cluster() as cluster:
        template_database.build_postgres_templates(cluster)
        yield cluster


@pytest.fixture(autouse=True)
def chathub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Path:
    """A fresh data folder, and database, and quick retries for every test; settings are read at start-up.
    With CHATHUB_TEST_DATABASE=postgresql the database is the test's own on the session's PostgreSQL cluster,
    made from a template on the app's first start and dropped after the test."""
    database_url = request.getfixturevalue("postgres_cluster").next_database_url() if postgres.selected() else None
    for key in [k for k in os.environ if k.startswith("CHATHUB_")]:
        monkeypatch.delenv(key)
    if database_url:
        monkeypatch.setenv("CHATHUB_DATABASE_URL", database_url)
        monkeypatch.setenv("CHATHUB_SECRET_KEY", "the-key-every-instance-on-this-database-shares")
    monkeypatch.setenv("CHATHUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHATHUB_ADMIN_EMAIL", ADMIN_EMAIL)
    monkeypatch.setenv("CHATHUB_ADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.setenv("CHATHUB_RETRY_BASE_SECONDS", "0.05")
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    process_state.reset()
    yield tmp_path / "data"
    process_state.reset()
    if database_url:
        postgres.drop(database_url)


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


@pytest.fixture
async def user(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[User]:
    """NiceGUI's simulated browser, talking to the whole app (its own `user` fixture only reaches the pages)."""
    # Page tests check what a tab shows, not its pace under a flood (tests/pages/test_live_pace.py does): a
    # steady half-second pace keeps their waits short and sure.
    monkeypatch.setattr(live_pace, "BUSY_INTERVAL_SECONDS", live_pace.FIRST_DELAY_SECONDS)
    monkeypatch.setattr(UserNotify, "__call__", simulated_browser.notify_through_the_tab)
    monkeypatch.setattr(UserNavigate, "to", simulated_browser.navigate_the_tabs_browser)
    monkeypatch.setattr(User, "__init__", simulated_browser.remember_browser)
    monkeypatch.setattr(User, "open", simulated_browser.open_answering_from_the_start)
    before_start()
    async with user_simulation(main_file=MAIN_FILE) as simulated:
        simulated.http_client = app_client()
        yield simulated
        await simulated.http_client.aclose()
    # after the app has stopped: failing inside the simulation left it half started for every later test
    if any(record.levelname == "ERROR" for record in caplog.get_records("call")):
        pytest.fail("There were unexpected ERROR logs.", pytrace=False)


@pytest.fixture
def create_user(user: User) -> Callable[[], User]:
    """More simulated browsers (own cookies) on the app the `user` fixture started."""
    return lambda: User(app_client())


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with running_app() as http:
        yield http


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


@pytest.fixture
def on_postgresql(chathub_env, postgres_cluster: postgres.Cluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app on PostgreSQL whichever database the run uses (what only PostgreSQL does); ask for it before the
    app's fixtures (`client`, `user`)."""
    if postgres.selected():
        yield os.environ["CHATHUB_DATABASE_URL"]
        return
    database_url = postgres_cluster.next_database_url()
    monkeypatch.setenv("CHATHUB_DATABASE_URL", database_url)
    monkeypatch.setenv("CHATHUB_SECRET_KEY", "the-key-every-instance-on-this-database-shares")
    yield database_url
    postgres.drop(database_url)
