"""An API write that loses a deadlock to another instance's transaction (PostgreSQL) is answered 503 with
Retry-After, saves nothing, and goes through when sent again; it is never a 500.

PostgreSQL itself raises the deadlock: a trigger on the conversation table answers every update with SQLSTATE
40P01 (deadlock_detected) while it exists, as PostgreSQL does to the transaction it picks to break a cycle."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from tests.helpers import postgres
from tests.helpers.api import customer_writes, new_sender

LOSE_EVERY_UPDATE = """
CREATE FUNCTION lose_a_deadlock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01';
END $$;
CREATE TRIGGER lose_a_deadlock BEFORE UPDATE ON conversation FOR EACH ROW EXECUTE FUNCTION lose_a_deadlock();
"""


@contextmanager
def updates_of_conversations_deadlock(database_url: str) -> Iterator[None]:
    with postgres.connect(database_url, autocommit=True) as connection:
        connection.execute(LOSE_EVERY_UPDATE)
    try:
        yield
    finally:
        with postgres.connect(database_url, autocommit=True) as connection:
            connection.execute("DROP TRIGGER lose_a_deadlock ON conversation; DROP FUNCTION lose_a_deadlock()")


async def test_a_write_that_lost_a_deadlock_is_answered_503_saves_nothing_and_goes_through_again(
    on_postgresql, client, auth, caplog
):
    conversation = await customer_writes(client, auth, sender=new_sender())
    path = f"/api/v1/conversations/{conversation['id']}"
    caplog.set_level(logging.WARNING, logger="chathub")

    with updates_of_conversations_deadlock(on_postgresql):
        refused = await client.patch(path, json={"status": "resolved"}, headers=auth)

    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "1"
    assert "send the request again" in refused.json()["detail"].lower()
    assert any("40P01" in record.getMessage() and path in record.getMessage() for record in caplog.records)
    assert (await client.get(path, headers=auth)).json()["status"] == "open"

    again = await client.patch(path, json={"status": "resolved"}, headers=auth)
    assert again.status_code == 200, again.text
    assert (await client.get(path, headers=auth)).json()["status"] == "resolved"
