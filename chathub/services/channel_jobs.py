"""The background jobs channel drivers declare (`ChannelDriver.jobs`: an email poller), run for each enabled
channel of their type by one worker. A job that fails is logged and runs again at its next turn.

Every instance runs this worker. A job's turn is a `job_turn` row: the instance that moves a due turn forward
(in one short transaction, the row locked) runs the job; the others find the turn already taken."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from chathub import db
from chathub.drivers import DRIVERS
from chathub.drivers.base import BackgroundJob
from chathub.models import JobTurn, utcnow
from chathub.services import channels

log = logging.getLogger(__name__)
WORKER = channels.JOBS_WORKER


async def run_due_jobs() -> float | None:
    """Run every job whose turn has come; the seconds until the next one, or None when no driver has jobs
    (the worker then sleeps until a channel is added or changed)."""
    types_with_jobs = {channel_type for channel_type, driver in DRIVERS.items() if driver.jobs}
    if not types_with_jobs:
        return None
    next_turn: datetime | None = None
    for channel in await channels.list_channels():
        if not channel.enabled or channel.type not in types_with_jobs:
            continue
        driver = channels.driver_for(channel)
        for job in driver.jobs:
            taken, turn = await _take_turn(channel.id, job)
            if taken:
                try:
                    await job.run(driver)
                except Exception:
                    log.exception("channel %s: the %s job failed", channel.id, job.name)
            next_turn = turn if next_turn is None else min(next_turn, turn)
    return None if next_turn is None else max(0.0, (next_turn - utcnow()).total_seconds())


async def _take_turn(channel_id: int, job: BackgroundJob) -> tuple[bool, datetime]:
    """Whether this instance runs the job now (its turn was due and is now moved forward), and its next turn."""
    now = utcnow()
    following = now + timedelta(seconds=job.every_seconds)
    try:
        async with db.write_session() as session:
            turn = await session.get(JobTurn, (channel_id, job.name), with_for_update=True)
            if turn is None:
                session.add(JobTurn(channel_id=channel_id, job_name=job.name, next_run_at=following))
                return True, following
            if turn.next_run_at > now:
                return False, turn.next_run_at
            turn.next_run_at = following
            session.add(turn)
            return True, following
    except IntegrityError:  # another instance took the first turn at the same moment
        return False, following
