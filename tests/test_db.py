"""Ids given before an insert (`db.assign_ids`) are the ones SQLite would have given, after rows it numbered
itself and before the rows it numbers next: nothing clashes, and the order of arrival is kept."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from chathub import db
from chathub.models import Customer


async def test_ids_given_before_the_insert_follow_and_precede_the_ones_sqlite_gives(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'chathub.db'}"
    db.upgrade_schema(url)
    async with db.database_only(url):
        async with db.write_session() as session:
            session.add(Customer(name="numbered by SQLite"))
        async with db.write_session() as session:
            batch = [Customer(name=f"batch {n}") for n in range(3)]
            await db.assign_ids(session, batch)
            assert [customer.id for customer in batch] == [2, 3, 4]
            session.add_all(batch)
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
