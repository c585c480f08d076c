"""Sign-in throttling: after repeated failures, further attempts are refused for a while.

Counted per email (5 failures within 15 minutes) and per client IP (20 within 15 minutes: an office behind
one NAT address shares it, yet password spraying across many emails from one address still gets only 20
guesses). While either is over its limit, every attempt is refused without checking the password — the
right one too. A success clears its email's failures (not its IP's: signing in to one's own account must
not buy an attacker more guesses elsewhere).

The counts live in memory, in this one process (ChatHub runs one): a restart forgets them. Behind a reverse
proxy the client IP is the proxy's unless it passes X-Forwarded-For from 127.0.0.1 (uvicorn trusts that).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable

from chathub import process_state
from chathub.models import Agent
from chathub.services import agents
from chathub.services.errors import ServiceError

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 20
MAX_KEYS = 50_000  # bounds memory under a flood of made-up emails


class TooManyAttempts(ServiceError):
    status_code = 429

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"too many failed sign-ins: try again in {_duration(self.retry_after)}")


class SignInThrottle:
    """Failure times per key in a sliding window; a key is blocked while it holds `limit` of them."""

    def __init__(self, window_seconds: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[Hashable, deque[float]] = {}

    def retry_after(self, limits: dict[Hashable, int]) -> float | None:
        """Seconds until every key is under its limit again, or None when an attempt may go ahead."""
        now = self.clock()
        waits = []
        for key, limit in limits.items():
            failures = self._recent(key, now)
            if len(failures) >= limit:  # blocked until enough of them leave the window
                waits.append(failures[len(failures) - limit] + self.window - now)
        return max(waits) if waits else None

    def failures(self, key: Hashable) -> int:
        """Failures of `key` within the window."""
        return len(self._recent(key, self.clock()))

    def fail(self, keys: list[Hashable]) -> float:
        """Count a failure against every key; returns its time (to `forgive` it)."""
        now = self.clock()
        if len(self._failures) >= MAX_KEYS:
            self._prune(now)
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
        return now

    def forgive(self, key: Hashable, at: float) -> None:
        failures = self._failures.get(key)
        if failures and at in failures:
            failures.remove(at)

    def clear(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def reset(self) -> None:
        self._failures.clear()

    def _recent(self, key: Hashable, now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            if not self._recent(key, now):
                del self._failures[key]
        while len(self._failures) >= MAX_KEYS:  # still full of live keys: the oldest go first
            del self._failures[next(iter(self._failures))]


def sign_ins() -> SignInThrottle:
    """This run's counts: a restart forgets them."""
    return process_state.current().part(SignInThrottle)


async def sign_in(email: str, password: str, client_ip: str | None) -> Agent | None:
    """The agent for these credentials, None when they are wrong; raises TooManyAttempts while throttled.

    The attempt counts as a failure before the password is checked, so a burst of parallel guesses cannot
    all slip in under the limit; a success takes it back."""
    email_key, ip_key = ("email", email.strip().lower()), ("ip", client_ip or "unknown")
    counts = sign_ins()
    wait = counts.retry_after({email_key: MAX_FAILURES_PER_EMAIL, ip_key: MAX_FAILURES_PER_IP})
    if wait is not None:
        raise TooManyAttempts(wait)
    attempt = counts.fail([email_key, ip_key])
    agent = await agents.authenticate(email, password)
    if agent is not None:
        counts.clear(email_key)
        counts.forgive(ip_key, attempt)
    return agent


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconds" if seconds != 1 else "1 second"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes" if minutes != 1 else "1 minute"
