"""A generic in-process background runner. It knows no business: the work and its retry state live in
the database rows a step picks up, so nothing is lost when the process stops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[float | None]]


def backoff_seconds(attempt: int, base: float = 1.0, cap: float = 300.0) -> float:
    """Exponential backoff after the given (1-based) failed attempt: base, 2*base, 4*base, ..."""
    return min(cap, base * 2 ** max(0, attempt - 1))


class Worker:
    """Runs `step` whenever woken and whenever the delay it last returned has passed.

    `step` returns 0 when more work is ready now, the seconds until work falls due, or None to sleep
    until woken (or `idle_seconds`, as a safety net). With `poll_seconds`, it never sleeps longer than that:
    other processes add work that nobody here wakes it for.
    """

    def __init__(self, name: str, step: Step, *, idle_seconds: float = 30.0, poll_seconds: float | None = None) -> None:
        self.name = name
        self.step = step
        self.idle_seconds = idle_seconds
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._wake.set()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"worker {self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping = True  # also ends the loop if the cancellation is lost (see _run)
            self._wake.set()
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                delay = await self.step()
            except Exception:
                log.exception("worker %s: step failed; trying again in 1 s", self.name)
                delay = 1.0
            if delay == 0 or self._wake.is_set():
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation landing as it wakes.
            sleep = delay if delay is not None else self.idle_seconds
            try:
                async with asyncio.timeout(min(sleep, self.poll_seconds or sleep)):
                    await self._wake.wait()
            except TimeoutError:
                pass
