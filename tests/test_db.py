"""Ids given before an insert (`db.insert_rows`) are the ones SQLite would have given, after rows it numbered
itself and before the rows it numbers next: nothing clashes, and the order of arrival is kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import select

from chathub import db
from chathub.models import Customer, new_row


async def test_ids_given_before_the_insert_follow_and_precede_the_ones_sqlite_gives(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'chathub.db'}"
    db.upgrade_schema(url)
    async with db.database_only(url):
        async with db.write_session() as session:
            session.add(Customer(name="numbered by SQLite"))
        async with db.write_session() as session:
            batch = [new_row(Customer, name=f"batch {n}") for n in range(3)]
            await db.insert_rows(session, batch)
            assert [customer.id for customer in batch] == [2, 3, 4]
        async with db.write_session() as session:
            session.add(Customer(name="numbered by SQLite again"))
        async with db.read_session() as session:
            stored = [(c.id, c.name) for c in (await session.exec(select(Customer).order_by(Customer.id))).all()]
    assert stored == [
        (1, "numbered by SQLite"),
        (2, "batch 0"),
        (3, "batch 1"),
        (4, "batch 2"),
        (5, "numbered by SQLite again"),
    ]


async def _write(turns: db.WriteTurns, done: list[str], name: str, *, urgent: bool = False) -> None:
    async with turns.take(urgent=urgent):
        done.append(name)


async def test_a_webhook_log_commit_goes_before_writes_that_were_waiting_longer():
    """An acknowledgement waits for the transaction in progress only, not for the queue behind it."""
    turns, done = db.WriteTurns(), []
    async with turns.take():  # a worker batch in progress
        waiting = [asyncio.create_task(_write(turns, done, name)) for name in ("agent's reply", "next worker batch")]
        await asyncio.sleep(0)
        waiting.append(asyncio.create_task(_write(turns, done, "webhook log", urgent=True)))
        await asyncio.sleep(0)
        assert done == []
    await asyncio.gather(*waiting)
    assert done == ["webhook log", "agent's reply", "next worker batch"]


async def test_a_write_given_up_while_it_waits_or_as_its_turn_comes_holds_no_one_up():
    turns, done = db.WriteTurns(), []
    async with turns.take():
        given_up = asyncio.create_task(_write(turns, done, "given up while waiting"))
        handed_over = asyncio.create_task(_write(turns, done, "given up as its turn came"))
        last = asyncio.create_task(_write(turns, done, "last"))
        await asyncio.sleep(0)
        given_up.cancel()
    handed_over.cancel()  # the turn is already its own: it passes it on
    await asyncio.gather(given_up, handed_over, return_exceptions=True)
    await last
    assert done == ["last"]
    await _write(turns, done, "after everyone")
    assert done == ["last", "after everyone"]


async def test_on_postgresql_statements_are_planned_for_the_table_as_it_is_now(on_postgresql, client):
    """asyncpg prepares every statement, and PostgreSQL would keep a generic plan made while a table was empty: a
    new inbox's duplicate check then read every stored message for each batch. Each execution is planned anew."""
    async with db.engine().connect() as connection:
        setting = (await connection.exec_driver_sql("SHOW plan_cache_mode")).scalar_one()
    assert setting == "force_custom_plan"
