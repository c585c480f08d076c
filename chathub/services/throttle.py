"""Sign-in throttling: after repeated failures, further attempts are refused for a while.

Counted per email (5 failures within 15 minutes) and per client IP (20 within 15 minutes: an office behind
one NAT address shares it, yet password spraying across many emails from one address still gets only 20
guesses). While either is over its limit, every attempt is refused without checking the password — the
right one too. A success clears its email's failures (not its IP's: signing in to one's own account must
not buy an attacker more guesses elsewhere).

The failures are rows of `sign_in_failure`, so every instance on one database counts the same ones and a
restart keeps them; rows older than the window are deleted as new attempts come. Behind a reverse proxy the
client IP is the proxy's unless it passes X-Forwarded-For from 127.0.0.1 (uvicorn trusts that).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from sqlalchemy import func
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chathub import db, process_state
from chathub.models import Agent, SignInFailure
from chathub.services import agents
from chathub.services.errors import ServiceError

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 20
ADVISORY_LOCK = 2020_0003  # on PostgreSQL: one instance at a time checks and counts an attempt


class TooManyAttempts(ServiceError):
    status_code = 429

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"too many failed sign-ins: try again in {_duration(self.retry_after)}")


class SignInThrottle:
    """The window and the clock the failures are counted with (wall-clock seconds: every instance shares them)."""

    def __init__(self, window_seconds: float = WINDOW_SECONDS, clock: Callable[[], float] = time.time) -> None:
        self.window = window_seconds
        self.clock = clock

    async def admit(self, limits: dict[str, int]) -> list[int]:
        """Count an attempt against every key, unless one already holds its limit of failures in the window
        (then TooManyAttempts, and nothing is counted). Returns the counted rows' ids, to `forgive` them."""
        now = self.clock()
        async with db.write_session() as session:
            if not db.is_sqlite():  # SQLite's writes are serialised in-process already
                await session.exec(select(func.pg_advisory_xact_lock(ADVISORY_LOCK)))
            wait = await self._retry_after(session, limits, now)
            if wait is not None:
                raise TooManyAttempts(wait)
            await session.exec(delete(SignInFailure).where(col(SignInFailure.failed_at) <= now - self.window))
            rows = [SignInFailure(key=key, failed_at=now) for key in limits]
            session.add_all(rows)
            await session.flush()
            return [row.id for row in rows]

    async def forgive(self, *, clear_key: str, row_ids: list[int]) -> None:
        """Take back the counted attempt's rows, and every failure of `clear_key`."""
        async with db.write_session() as session:
            await session.exec(
                delete(SignInFailure).where((col(SignInFailure.key) == clear_key) | col(SignInFailure.id).in_(row_ids))
            )

    async def _retry_after(self, session: AsyncSession, limits: dict[str, int], now: float) -> float | None:
        """Seconds until every key is under its limit again, or None when an attempt may go ahead."""
        waits = []
        for key, limit in limits.items():
            failures = (
                await session.exec(
                    select(SignInFailure.failed_at)
                    .where(SignInFailure.key == key, col(SignInFailure.failed_at) > now - self.window)
                    .order_by(col(SignInFailure.failed_at))
                )
            ).all()
            if len(failures) >= limit:  # blocked until enough of them leave the window
                waits.append(failures[len(failures) - limit] + self.window - now)
        return max(waits) if waits else None


def sign_ins() -> SignInThrottle:
    return process_state.current().part(SignInThrottle)


async def sign_in(email: str, password: str, client_ip: str | None) -> Agent | None:
    """The agent for these credentials, None when they are wrong; raises TooManyAttempts while throttled.

    The attempt counts as a failure before the password is checked, so a burst of parallel guesses cannot
    all slip in under the limit; a success takes it back."""
    email_key, ip_key = f"email:{email.strip().lower()}", f"ip:{client_ip or 'unknown'}"
    counts = sign_ins()
    counted = await counts.admit({email_key: MAX_FAILURES_PER_EMAIL, ip_key: MAX_FAILURES_PER_IP})
    agent = await agents.authenticate(email, password)
    if agent is not None:
        await counts.forgive(clear_key=email_key, row_ids=counted)
    return agent


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconds" if seconds != 1 else "1 second"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes" if minutes != 1 else "1 minute"
