"""Webhook logs do not grow for ever: finished rows are deleted CHATHUB_WEBHOOK_LOG_DAYS after they finished.

Deleted: `processed` and `rejected` rows that arrived and finished before the cut-off (a row replayed today
counts from today). Kept whatever their age: rows still to be processed (`received`, which includes a retry
waiting for its time, and `processing`) and `failed` ones, which wait for a person to replay them.

A timed job (see app.py) deletes in batches, each its own short write transaction: intake's writes queue
behind the same writer, so one long delete after months of logs would hold every webhook up.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import col, delete, select

from chathub import db, process_state
from chathub.models import WebhookLog, WebhookStatus, utcnow

log = logging.getLogger(__name__)
DELETE_BATCH = 200
FINISHED = (WebhookStatus.processed, WebhookStatus.rejected)


def kept_days() -> int:
    return process_state.current().settings.webhook_log_days


async def delete_old_webhook_logs() -> int:
    """Delete finished logs older than the retention period; returns how many went."""
    cutoff = utcnow() - timedelta(days=kept_days())
    old = (
        select(WebhookLog.id)
        .where(
            col(WebhookLog.received_at) < cutoff,
            col(WebhookLog.processed_at) < cutoff,
            col(WebhookLog.status).in_(FINISHED),
        )
        .limit(DELETE_BATCH)
        .with_for_update(skip_locked=True)  # several instances run this job: each deletes other rows
    )
    deleted = 0
    while True:
        async with db.write_session() as session:
            batch = (await session.exec(delete(WebhookLog).where(col(WebhookLog.id).in_(old)))).rowcount
        deleted += batch
        if batch < DELETE_BATCH:
            break
    if deleted:
        log.info("Deleted %d webhook logs finished more than %d days ago.", deleted, kept_days())
    return deleted
