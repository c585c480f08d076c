"""The whole app, started through main.py as `python main.py` would, in the test's own event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from nicegui import background_tasks
from nicegui.testing.user_simulation import user_simulation

from tests.helpers import template_database

MAIN_FILE = Path(__file__).parents[2] / "main.py"
ADMIN_EMAIL = template_database.ADMIN_EMAIL
ADMIN_PASSWORD = template_database.ADMIN_PASSWORD
PUBLIC_URL = "https://chathub.example.com"


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


def before_start() -> None:
    """What every in-process start needs first: no task of an earlier test's loop, and a first start's
    database taken from the session's template instead of migrating from nothing."""
    forget_tasks_of_other_loops()
    template_database.copy_for_first_start()


@asynccontextmanager
async def running_app() -> AsyncIterator[httpx.AsyncClient]:
    """Start the whole app (main.py, start-up handlers, workers) and yield an HTTP client to it.
    Leaving the block stops it like a shut-down; entering again with the same data folder is a restart."""
    before_start()
    async with user_simulation(main_file=MAIN_FILE), app_client() as http:
        yield http


async def login(http: httpx.AsyncClient, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> dict[str, str]:
    """Authorization headers for the given agent."""
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
