"""The webhooks an instance acknowledged that no worker has taken yet (`Backlog`), and the events intake read from
them, kept for the worker."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chathub import process_state

log = logging.getLogger(__name__)


class Backlog:
    """Webhooks this process acknowledged (or is logging) that no worker has taken yet. Acknowledging costs less
    than processing, and both share one core: under a burst, acks raced ahead and the worker fell seconds behind
    (8 s after a 10 s burst), so agents saw customers late exactly when it was busiest. When the backlog is full,
    intake waits, first come first served, for the worker to take some before it logs and answers: the burst is
    acknowledged at the pace it is processed. The wait is bounded: after `webhook_backlog_wait_seconds` a webhook
    is logged and acknowledged anyway."""

    def __init__(self, settings, *, keep_events: int) -> None:
        """`keep_events`: at least as many handed-over events as a worker's batch takes."""
        self.settings = settings
        self._keep_events = keep_events
        self.waiting = 0
        self._queue: deque[asyncio.Future] = deque()
        # The events intake read from each acknowledged webhook, by log id, so the worker need not read its body
        # and parse it again. A log that is not here (after a restart, or another instance's) is parsed anew.
        self._events: dict[int, list] = {}

    def hand_over(self, log_id: int, events: list) -> None:
        self._events[log_id] = events
        while len(self._events) > 2 * max(self.settings.webhook_backlog, self._keep_events):
            del self._events[next(iter(self._events))]  # the oldest: its log went to a worker unheard of

    def take(self, log_ids: list[int]) -> dict[int, list]:
        """A worker took these logs, here or on another instance: the places of those acknowledged here are given
        back, each once, and their events handed to the worker (another instance's parses them itself). Counting
        only those, whoever took them, lets a webhook in as soon as any worker takes an earlier one: with two
        instances a worker's turn comes every other batch, and acks that waited for their own worker waited twice
        as long. A worker takes the oldest due logs first, so the ones acknowledged here before the first of these
        were taken already, by a claim this instance did not hear of (a notice lost with the relay's connection),
        and go too. (A log committed just after a claim of later ids goes early: its place is given back a batch
        early, and its worker parses it again.)"""
        if not log_ids:
            return {}
        first, claimed = min(log_ids), set(log_ids)
        taken = [log_id for log_id in self._events if log_id in claimed or log_id < first]
        handed = {log_id: self._events.pop(log_id) for log_id in taken}
        self.taken(len(handed))
        return handed

    def take_claimed_elsewhere(self, runs: list[list[int]]) -> None:
        """`take` for another instance's claim, told as runs of ids: [first, last]."""
        if runs:
            claimed = [log_id for log_id in self._events if any(first <= log_id <= last for first, last in runs)]
            self.take([*claimed, min(first for first, _ in runs)])

    @asynccontextmanager
    async def place(self) -> AsyncIterator[None]:
        """A place for one more webhook, kept unless the block fails."""
        if self._queue or self.waiting >= self.settings.webhook_backlog:
            await self._wait_for_room()
        else:
            self.waiting += 1
        try:
            yield
        except BaseException:
            self.taken(1)
            raise

    async def _wait_for_room(self) -> None:
        room = asyncio.get_running_loop().create_future()
        self._queue.append(room)
        try:
            async with asyncio.timeout(self.settings.webhook_backlog_wait_seconds):
                await room
        except TimeoutError:
            log.info("webhook backlog full for %g s: logging one anyway", self.settings.webhook_backlog_wait_seconds)
        except asyncio.CancelledError:  # the request is gone
            if room.done() and not room.cancelled():
                self.taken(1)
            raise
        finally:
            if room in self._queue:
                self._queue.remove(room)
        if not room.done() or room.cancelled():  # timed out: not counted by `_let_in`
            self.waiting += 1

    def taken(self, count: int) -> None:
        self.waiting = max(0, self.waiting - count)
        while self._queue and self.waiting < self.settings.webhook_backlog:
            room = self._queue.popleft()
            if not room.done():
                room.set_result(None)
                self.waiting += 1

    def empty(self) -> None:
        """Nothing is due here (another instance may have taken this one's webhooks)."""
        self.taken(self.waiting)


def claimed_elsewhere(runs: list[list[int]]) -> None:
    """Another instance's worker claimed these logs (told by the live relay)."""
    backlog = process_state.current().parts.get(Backlog)
    if backlog is not None:  # else this instance acknowledged none yet
        backlog.take_claimed_elsewhere(runs)
