"""An API write or a webhook that loses a deadlock to another instance's transaction (PostgreSQL) is answered 503
with Retry-After, saves nothing, and goes through when sent again; it is never a 500.

PostgreSQL itself raises the deadlock: a trigger on a table answers every update (or insert) with SQLSTATE 40P01
(deadlock_detected) while it exists, as PostgreSQL does to the transaction it picks to break a cycle."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from tests.helpers import postgres
from tests.helpers.api import customer_writes, new_sender
from tests.helpers.intake import inbox_sizes, items, settled_log
from tests.helpers.webhooks import post_webhook, seed_message

LOSE_A_DEADLOCK = """
CREATE FUNCTION lose_a_deadlock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01';
END $$;
CREATE TRIGGER lose_a_deadlock BEFORE {action} ON {table} FOR EACH ROW EXECUTE FUNCTION lose_a_deadlock();
"""


@contextmanager
def writes_deadlock(database_url: str, action: str, table: str) -> Iterator[None]:
    with postgres.connect(database_url, autocommit=True) as connection:
        connection.execute(LOSE_A_DEADLOCK.format(action=action, table=table))
    try:
        yield
    finally:
        with postgres.connect(database_url, autocommit=True) as connection:
            connection.execute(f"DROP TRIGGER lose_a_deadlock ON {table}; DROP FUNCTION lose_a_deadlock()")


async def test_a_write_that_lost_a_deadlock_is_answered_503_saves_nothing_and_goes_through_again(
    on_postgresql, client, auth, caplog
):
    conversation = await customer_writes(client, auth, sender=new_sender())
    path = f"/api/v1/conversations/{conversation['id']}"
    caplog.set_level(logging.WARNING, logger="chathub")

    with writes_deadlock(on_postgresql, "UPDATE", "conversation"):
        refused = await client.patch(path, json={"status": "resolved"}, headers=auth)

    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "1"
    assert "send the request again" in refused.json()["detail"].lower()
    assert any("40P01" in record.getMessage() and path in record.getMessage() for record in caplog.records)
    assert (await client.get(path, headers=auth)).json()["status"] == "open"

    again = await client.patch(path, json={"status": "resolved"}, headers=auth)
    assert again.status_code == 200, again.text
    assert (await client.get(path, headers=auth)).json()["status"] == "resolved"


async def test_a_webhook_whose_log_lost_a_deadlock_is_answered_503_and_stored_once_when_sent_again(
    on_postgresql, client, auth, caplog
):
    caplog.set_level(logging.WARNING, logger="chathub")
    message = seed_message(message_id="raced")

    with writes_deadlock(on_postgresql, "INSERT", "webhook_log"):
        refused = await post_webhook(client, message)

    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "1"
    assert any(
        "40P01" in record.getMessage() and "/webhooks/simulator" in record.getMessage() for record in caplog.records
    )
    assert await items(client, auth, "/api/v1/webhook-logs") == []

    again = await post_webhook(client, message)
    assert again.status_code == 200, again.text
    await settled_log(client, auth, again.json()["webhook_log_id"], "processed")
    assert await inbox_sizes(client, auth) == (1, 1, 1)
