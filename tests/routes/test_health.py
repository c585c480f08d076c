"""/healthz tells a load balancer the truth: degraded with the reason, and 503 while the database cannot be
written (here: another connection holds SQLite's exclusive lock, as a stuck backup or a second process
would, or on PostgreSQL a lock on the table the check writes); degraded but 200 while the disk under the data
folder has less room than CHATHUB_MIN_FREE_MB."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from chathub.settings import SettingsError, load_settings
from tests.helpers import postgres
from tests.helpers.waiting import eventually


@contextmanager
def exclusively_locked(database_url: str) -> Iterator[None]:
    """Another connection holds the database's write lock until the block ends (on PostgreSQL: the webhook
    log's, where the health check writes; readers still read)."""
    if postgres.is_postgresql(database_url):
        with postgres.connect(database_url) as holder:
            holder.execute("LOCK TABLE webhook_log IN EXCLUSIVE MODE")
            yield
        return
    holder = sqlite3.connect(load_settings().sqlite_file, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_health_is_ok_with_no_reasons_when_the_database_takes_writes(client):
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reasons"]) == ("ok", [])


async def test_health_is_degraded_with_503_while_the_database_cannot_be_written(client):
    with exclusively_locked(load_settings().database_url):
        response = await client.get("/healthz")

        assert response.status_code == 503
        assert response.json()["status"] == "degraded"
        [reason] = response.json()["reasons"]
        assert "test write has waited more than" in reason or "cannot be written" in reason

    async def healthy_again():
        response = await client.get("/healthz")
        return response.status_code == 200 and response.json()["status"] == "ok"

    await eventually(healthy_again, timeout=15)


@pytest.fixture
def more_free_space_required_than_any_disk_has(monkeypatch, chathub_env) -> int:
    megabytes = 10**12  # an exabyte
    monkeypatch.setenv("CHATHUB_MIN_FREE_MB", str(megabytes))
    return megabytes


async def test_health_is_degraded_but_200_when_free_space_is_below_the_threshold(
    more_free_space_required_than_any_disk_has, client
):
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    [reason] = response.json()["reasons"]
    assert reason.startswith("only ") and f"(CHATHUB_MIN_FREE_MB is {10**12})" in reason


def test_a_negative_free_space_threshold_is_refused(monkeypatch):
    monkeypatch.setenv("CHATHUB_MIN_FREE_MB", "-1")

    with pytest.raises(SettingsError, match="CHATHUB_MIN_FREE_MB"):
        load_settings()
