"""The background jobs channel drivers declare (`ChannelDriver.jobs`: an email poller), run for each enabled
channel of their type by one worker. A job that fails is logged and runs again at its next turn."""

from __future__ import annotations

import logging
import time

from chathub import process_state
from chathub.drivers import DRIVERS
from chathub.services import channels

log = logging.getLogger(__name__)
WORKER = channels.JOBS_WORKER


class JobTurns:
    """When each channel's job last started: (channel id, job name) -> monotonic time."""

    def __init__(self) -> None:
        self.last_runs: dict[tuple[int, str], float] = {}


async def run_due_jobs() -> float | None:
    """Run every job whose turn has come; the seconds until the next one, or None when no driver has jobs
    (the worker then sleeps until a channel is added or changed)."""
    types_with_jobs = {channel_type for channel_type, driver in DRIVERS.items() if driver.jobs}
    if not types_with_jobs:
        return None
    last_runs = process_state.current().part(JobTurns).last_runs
    next_turn: float | None = None
    for channel in await channels.list_channels():
        if not channel.enabled or channel.type not in types_with_jobs:
            continue
        driver = channels.driver_for(channel)
        for job in driver.jobs:
            key = (channel.id, job.name)
            turn = last_runs.get(key, float("-inf")) + job.every_seconds
            if turn <= time.monotonic():
                last_runs[key] = time.monotonic()
                try:
                    await job.run(driver)
                except Exception:
                    log.exception("channel %s: the %s job failed", channel.id, job.name)
                turn = last_runs[key] + job.every_seconds
            next_turn = turn if next_turn is None else min(next_turn, turn)
    return None if next_turn is None else max(0.0, next_turn - time.monotonic())
