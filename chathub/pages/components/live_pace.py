"""How often an open tab redraws what many changes touch (the inbox list, the unread total).

A change reaches the tab FIRST_DELAY_SECONDS after it happened, together with whatever else changed in that
moment. While changes keep coming, the tab redraws at most every BUSY_INTERVAL_SECONDS: under a flood of
webhooks every open tab would otherwise redraw twice a second, and on a small server the browsers' rendering
and the fan-out took the CPU the webhooks needed (measured with bench/ingest.py --tabs 20).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

FIRST_DELAY_SECONDS = 0.5
BUSY_INTERVAL_SECONDS = 2.0


class LivePace:
    def __init__(self, redraw: Callable[[], None]) -> None:
        self.redraw = redraw
        self.timer: asyncio.TimerHandle | None = None  # the redraw to come, if one is due
        self.last_redraw = float("-inf")

    def changed(self) -> None:
        """Note a change: the redraw comes once, for all the changes until then."""
        if self.timer is not None:
            return
        loop = asyncio.get_running_loop()
        delay = max(FIRST_DELAY_SECONDS, self.last_redraw + BUSY_INTERVAL_SECONDS - loop.time())
        self.timer = loop.call_later(delay, self._run)

    def stop(self) -> None:
        """The tab is gone: no redraw is to come."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _run(self) -> None:
        self.timer = None
        self.last_redraw = asyncio.get_running_loop().time()
        self.redraw()
