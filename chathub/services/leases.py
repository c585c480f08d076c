"""Leases on work that several ChatHub instances share: replies to send and customers' files to fetch.

A worker claims rows in one short transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL: two instances claiming
at once skip each other's rows) by setting `message.claimed_until` to now + CHATHUB_WORK_LEASE_SECONDS, commits,
and only then calls the provider, holding no lock and no transaction; the outcome is written after. While the
lease runs no other instance takes the row; once it has passed (its instance died mid-call) any instance does.

On SQLite there is one process: leases a previous run of it left (a crash) are released when this run's workers
first look for work, so a restart resumes at once, as before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, or_, update
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from chathub import db, process_state
from chathub.models import Message, utcnow


class ThisRun:
    """When this run began claiming: leases ending before then + one lease length are an earlier run's."""

    def __init__(self) -> None:
        self.started_at = utcnow()
        self.released_earlier = False


def lease_length() -> timedelta:
    return timedelta(seconds=process_state.current().settings.work_lease_seconds)


def unclaimed(now: datetime):
    """Rows no instance holds now: never claimed, released, or their lease ran out."""
    return or_(col(Message.claimed_until).is_(None), col(Message.claimed_until) <= now)


async def claim(
    session: AsyncSession, query: SelectOfScalar[Message], *, limit: int, now: datetime
) -> tuple[list[Message], datetime]:
    """Claim up to `limit` rows of `query` no instance holds (inside the caller's write session, committed with
    it). Returns them and the lease's end, which identifies this claim."""
    until = now + lease_length()
    rows = list(
        (
            await session.exec(query.where(unclaimed(now)).limit(limit).with_for_update(skip_locked=True, of=Message))
        ).all()
    )
    for row in rows:
        row.claimed_until = until
        session.add(row)
    return rows, until


async def release_earlier_runs() -> None:
    """On SQLite, once per run: free the leases an earlier run of this one process left when it died."""
    this_run = process_state.current().part(ThisRun)
    if this_run.released_earlier or not db.is_sqlite():
        return
    this_run.released_earlier = True
    async with db.write_session() as session:
        await session.exec(
            update(Message)
            .where(col(Message.claimed_until) < this_run.started_at + lease_length())
            .values(claimed_until=None)
        )
