"""What the running app keeps in memory lives in one object made at start and dropped at stop: a new start sees
nothing of an earlier one, and no module keeps mutable state of its own."""

from __future__ import annotations

import ast
import asyncio
import collections
import enum
import importlib
import pkgutil
from pathlib import Path

import httpx
import pytest
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

import chathub
from chathub import process_state
from chathub.models import Agent
from chathub.services import channels, conversations, presence
from tests.helpers.api import customer_writes, new_sender
from tests.helpers.app import ADMIN_EMAIL, ADMIN_PASSWORD, login, running_app

RIGHT = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}

# Module-level names allowed to hold mutable things, and why.
ALLOWED = {
    ("chathub.process_state", "_current"): "the one slot that says which run is on",
    ("chathub.app", "http_app"): "the ASGI app create_app() builds for uvicorn: wiring, no state",
    ("chathub.drivers.simulator", "outbox"): "the simulated provider stands for the world outside ChatHub",
}
STATEFUL_TYPES = (
    dict,
    list,
    set,
    bytearray,
    collections.deque,
    asyncio.Future,  # and tasks
    asyncio.Lock,
    asyncio.Event,
    asyncio.Queue,
    asyncio.Semaphore,
    asyncio.Condition,
    asyncio.TimerHandle,
    httpx.AsyncClient,
    AsyncEngine,
    BaseScheduler,
)


async def test_a_new_start_sees_nothing_of_the_previous_one(chathub_env: Path, monkeypatch: pytest.MonkeyPatch):
    async with running_app() as http:
        first = process_state.current()
        auth = await login(http)
        await customer_writes(http, auth, sender=new_sender())
        assert await conversations.shared_unread_total() == 1
        renamed = await http.patch("/api/v1/channels/1", json={"name": "Renamed in the first run"}, headers=auth)
        assert renamed.status_code == 200, renamed.text
        assert (await channels.get_channel(1)).name == "Renamed in the first run"
        presence.tab_opened("a-tab-of-the-first-run", Agent(id=1, name="Admin"))
        assert presence.agent_status(1) == "online"

    with pytest.raises(process_state.NotStarted, match="ChatHub is not started"):
        process_state.current()

    monkeypatch.setenv("CHATHUB_DATA_DIR", str(chathub_env.parent / "second-data"))
    async with running_app() as http:
        assert process_state.current() is not first
        assert (await http.post("/api/v1/auth/login", json=RIGHT)).status_code == 200
        assert (presence.tab_count(), presence.agent_status(1)) == (0, "offline")
        assert await conversations.shared_unread_total() == 0
        assert (await channels.get_channel(1)).name != "Renamed in the first run"


def test_no_module_keeps_mutable_state_of_its_own():
    found = []
    for module_name, path in _chathub_modules():
        tree = ast.parse(path.read_text())
        found += [f"{module_name}: `global {', '.join(n.names)}`" for n in ast.walk(tree) if isinstance(n, ast.Global)]
        module = importlib.import_module(module_name)
        for name in _top_level_names(tree):
            value = getattr(module, name, None)
            if (module_name, name) not in ALLOWED and not name.lstrip("_").isupper() and _is_stateful(value):
                found.append(f"{module_name}.{name}: {type(value).__name__}")
    found = [line for line in found if not any(line.startswith(f"{m}: `global {n}`") for m, n in ALLOWED)]
    assert found == [], "keep it in process_state (a part of the running app's state) instead"


def _chathub_modules():
    root = Path(chathub.__file__).parent
    for info in pkgutil.walk_packages(chathub.__path__, "chathub."):
        if ".migrations" in info.name:
            continue
        relative = Path(*info.name.split(".")[1:])
        path = root / relative / "__init__.py" if info.ispkg else root / relative.with_suffix(".py")
        yield info.name, path


def _top_level_names(tree: ast.Module) -> list[str]:
    names = []
    for statement in tree.body:
        targets = statement.targets if isinstance(statement, ast.Assign) else [getattr(statement, "target", None)]
        names += [target.id for target in targets if isinstance(target, ast.Name)]
    return names


def _is_stateful(value: object) -> bool:
    if isinstance(value, STATEFUL_TYPES):
        return True
    own_class = type(value).__module__.startswith("chathub.")  # e.g. a service's class made at import
    return own_class and not isinstance(value, enum.Enum)
