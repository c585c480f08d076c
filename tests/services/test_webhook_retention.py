"""Webhook log retention: the timed job deletes `processed` and `rejected` logs that finished more than
CHATHUB_WEBHOOK_LOG_DAYS ago, in batches, and keeps recent ones, ones still to be processed and failed ones
(they wait for a replay), whatever their age."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, update

from chathub import db, process_state
from chathub.models import WebhookLog, utcnow
from chathub.services import webhook_retention
from chathub.settings import SettingsError, load_settings
from tests.helpers.intake import items, processed, settled_log
from tests.helpers.webhooks import post_webhook, seed_message

DAYS = 30  # the default
UNKNOWN_RECEIPT = {"type": "status", "message_id": "nope", "status": "delivered"}  # fails after its retries


async def age(log_ids: list[int], days: float, *, finished_too: bool = True) -> None:
    """Move logs back in time, as if they had arrived (and finished) `days` ago."""
    then = utcnow() - timedelta(days=days)
    values = {"received_at": then, "processed_at": then} if finished_too else {"received_at": then}
    async with db.write_session() as session:
        await session.exec(update(WebhookLog).where(col(WebhookLog.id).in_(log_ids)).values(**values))


async def rejected(client) -> int:
    response = await post_webhook(client, seed_message(), path="/webhooks/simulator/999")
    assert response.status_code == 404
    return response.json()["webhook_log_id"]


async def log_ids(client, auth) -> set[int]:
    return {entry["id"] for entry in await items(client, auth, "/api/v1/webhook-logs")}


async def test_the_job_deletes_old_finished_logs_and_keeps_recent_waiting_and_failed_ones(client, auth, monkeypatch):
    monkeypatch.setattr(webhook_retention, "DELETE_BATCH", 2)  # several batches, each its own transaction
    old_processed = [(await processed(client, auth, seed_message(f"old-{i}")))["id"] for i in range(3)]
    old_rejected = [await rejected(client) for _ in range(2)]
    recent_processed = (await processed(client, auth, seed_message("recent")))["id"]
    recent_rejected = await rejected(client)
    failed = (
        await settled_log(
            client, auth, (await post_webhook(client, UNKNOWN_RECEIPT)).json()["webhook_log_id"], "failed"
        )
    )["id"]
    replayed = (await processed(client, auth, seed_message("replayed")))["id"]  # arrived long ago, finished now
    await process_state.current().workers["webhooks"].stop()
    waiting = (await post_webhook(client, seed_message("waiting"))).json()["webhook_log_id"]
    await age([*old_processed, *old_rejected, failed, waiting], DAYS + 1)
    await age([recent_processed, recent_rejected], DAYS - 1)
    await age([replayed], DAYS + 1, finished_too=False)

    deleted = await webhook_retention.delete_old_webhook_logs()

    assert deleted == len(old_processed) + len(old_rejected)
    assert await log_ids(client, auth) == {recent_processed, recent_rejected, failed, replayed, waiting}


async def test_the_job_is_scheduled_to_run_every_hour(client):
    job = process_state.current().scheduler.get_job("delete-old-webhook-logs")

    assert job is not None and job.trigger.interval == timedelta(hours=1)


@pytest.mark.parametrize("days", ["0", "-3", "a month"])
def test_a_retention_below_one_day_is_refused(monkeypatch, days):
    monkeypatch.setenv("CHATHUB_WEBHOOK_LOG_DAYS", days)

    with pytest.raises(SettingsError, match="CHATHUB_WEBHOOK_LOG_DAYS"):
        load_settings()
