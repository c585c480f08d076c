"""What /healthz checks besides the queues: that the database takes writes, and that the disk has room.

The write check is a real write transaction (an UPDATE that matches no row: it takes the database's write
lock, as every webhook's log row must, and changes nothing), through the same serialised writer as intake.
A locked or read-only database makes it wait or fail. /healthz waits for it at most WRITE_WAIT_SECONDS, and
a check still waiting is shared by the next calls instead of queueing another one behind it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil

from sqlalchemy import false, update

from chathub import db, process_state
from chathub.models import WebhookLog

log = logging.getLogger(__name__)
WRITE_WAIT_SECONDS = 2.0


class WriteCheck:
    """The test write under way, shared by the /healthz calls that come while it waits."""

    def __init__(self) -> None:
        self.task: asyncio.Task | None = None


async def database_write_problem() -> str | None:
    """None when a write transaction went through; else why the database cannot be written now."""
    shared = process_state.current().part(WriteCheck)
    if shared.task is None or shared.task.done():
        shared.task = asyncio.create_task(_try_a_write())
    check = shared.task  # a later call may start the next one while this one waits
    done, _ = await asyncio.wait([check], timeout=WRITE_WAIT_SECONDS)
    if not done:
        return f"a test write has waited more than {WRITE_WAIT_SECONDS:g} s (the database is locked or overloaded)"
    return check.result()


async def _try_a_write() -> str | None:
    try:
        async with db.write_session() as session:
            await session.exec(update(WebhookLog).where(false()).values(id=WebhookLog.id))
    except Exception as error:  # whatever the driver raises, /healthz reports it rather than failing
        cause = getattr(error, "orig", None) or error
        log.warning("health check: the database cannot be written: %r", error)
        return f"the database cannot be written ({type(cause).__name__}: {cause})"
    return None


def disk_space_problem() -> str | None:
    """None when the data folder's disk has at least CHATHUB_MIN_FREE_MB free; else how much it has."""
    settings = process_state.current().settings
    try:
        free_mb = shutil.disk_usage(settings.data_dir).free // 2**20
    except OSError as error:
        return f"the data folder's free space cannot be read ({error.strerror})"
    if free_mb < settings.min_free_mb:
        return f"only {free_mb} MB free for the data folder (CHATHUB_MIN_FREE_MB is {settings.min_free_mb})"
    return None
