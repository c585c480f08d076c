"""Waiting for the live relay between ChatHub processes on one PostgreSQL database (chathub.services.live_relay).

An instance hears the others once its listening connection is up: a test that acts on one instance and watches
another waits for `all_listening(database_url, count)` first. After that, a relayed change reaches the other
instance's open pages like a local one (wait for it on the page, e.g. `browser.wait_for(driver, text_on_page(..))`).
"""

from __future__ import annotations

import time

from tests.helpers import postgres


def listening_connections(database_url: str, instance_id: str = "%") -> list[int]:
    """The server pids of the instances' listening connections (one per running instance), or of one instance's."""
    with postgres.connect(database_url) as connection:
        query = "SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s"
        return [pid for (pid,) in connection.execute(query, (f"chathub-relay {instance_id}",)).fetchall()]


def all_listening(database_url: str, count: int, timeout: float = 20.0) -> None:
    wait_until(lambda: len(listening_connections(database_url)) == count, f"{count} instances listen", timeout)


def kill_listening_connections(database_url: str, instance_id: str = "%") -> int:
    """As a network cut or a restarted PostgreSQL would: the instances reconnect, and their open pages resync.
    Returns how many connections were killed."""
    pids = listening_connections(database_url, instance_id)
    with postgres.connect(database_url, autocommit=True) as connection:
        for pid in pids:
            connection.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return len(pids)


def wait_until(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for: {what}")
        time.sleep(0.05)
