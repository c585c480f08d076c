"""What the running app holds in memory, in one object: the settings, the HTTP clients, the background workers,
the scheduler, and each service's own state (the database engine, presence's tabs, the channel cache, the unread
total, the sign-in throttle, sends under way, the event bus's subscribers ...).

`app.start()` makes one and `app.stop()` drops it: a new start never sees an earlier one's state, and nothing is
reset by hand. Services reach it through `current()`. A service keeps its own state in a small class of its own
module and asks for this run's instance with `current().part(TheClass)`; the first ask makes it. This module
imports no service, so every service can import it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from chathub.settings import Settings
from chathub.worker import Worker

T = TypeVar("T")


class NotStarted(RuntimeError):
    pass


class ProcessState:
    """Everything one run of ChatHub keeps in memory; made at start, dropped at stop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http: httpx.AsyncClient | None = None  # to providers
        self.loopback: httpx.AsyncClient | None = None  # to this very app: the simulator posts through its webhooks
        self.workers: dict[str, Worker] = {}
        self.scheduler: AsyncIOScheduler | None = None
        self.parts: dict[type, object] = {}

    def part(self, kind: type[T], make: Callable[[], T] | None = None) -> T:
        """This run's one `kind`, made by `make` (default: `kind()`) the first time it is asked for."""
        found = self.parts.get(kind)
        if found is None:
            found = self.parts[kind] = (make or kind)()
        return found

    def wake(self, worker_name: str) -> None:
        worker = self.workers.get(worker_name)
        if worker is not None:
            worker.wake()


_current: ProcessState | None = None  # the one mutable thing at module level, by design: which run is on


def current() -> ProcessState:
    if _current is None:
        raise NotStarted("ChatHub is not started: its state exists from app start-up to shut-down")
    return _current


def is_started() -> bool:
    return _current is not None


def begin(settings: Settings) -> ProcessState:
    """A fresh state for a run that starts now (the previous one's, if any, is dropped)."""
    global _current
    _current = ProcessState(settings)
    return _current


def end() -> None:
    """Drop the state: the run is over."""
    global _current
    _current = None


def reset() -> None:
    """Between tests: whatever a test left running or half started is forgotten."""
    end()
