"""SQLite through chathub/sqlite_driver.py (one trip to aiosqlite's thread per statement, savepoints travelling with
the next statement): what is committed is kept, what is rolled back is gone, and an error is raised by the statement
that caused it, so a failed savepoint can be rolled back and the rest of the transaction kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from chathub import db
from chathub.models import Customer, new_row


@pytest.fixture
async def database(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'chathub.db'}"
    db.upgrade_schema(url)
    async with db.database_only(url):
        yield


async def _names() -> list[str]:
    async with db.read_session() as session:
        return [c.name for c in (await session.exec(select(Customer).order_by(Customer.id))).all()]


class Refused(Exception):
    pass


async def test_a_savepoint_rolled_back_undoes_only_its_own_writes(database):
    async with db.write_session() as session:
        session.add(Customer(name="before"))
        await session.flush()
        with pytest.raises(Refused):
            async with session.begin_nested():
                session.add(Customer(name="in the failed savepoint"))
                await session.flush()
                raise Refused
        async with session.begin_nested():
            session.add(Customer(name="in a kept savepoint"))
        session.add(Customer(name="after"))
        await session.flush()
        async with session.begin_nested():  # released just before the commit: the release goes with it
            session.add(Customer(name="in the last savepoint"))
    assert await _names() == ["before", "in a kept savepoint", "after", "in the last savepoint"]


async def test_a_statement_that_fails_in_a_savepoint_raises_there_and_the_rest_is_kept(database):
    async with db.write_session() as session:
        first = Customer(name="first")
        session.add(first)
        await session.flush()
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                clash = new_row(Customer, name="same id")
                clash.id = first.id
                await db.insert_rows(session, [clash])
        session.add(Customer(name="second"))
    assert await _names() == ["first", "second"]


async def test_a_unit_of_work_that_fails_leaves_nothing_and_the_next_one_writes(database):
    with pytest.raises(Refused):
        async with db.write_session() as session:
            session.add(Customer(name="never kept"))
            await session.flush()
            raise Refused
    async with db.write_session() as session:
        session.add(Customer(name="kept"))
    assert await _names() == ["kept"]


async def test_a_read_only_session_and_an_empty_unit_of_work_end_cleanly(database):
    async with db.write_session() as session:
        assert (await session.exec(select(Customer))).all() == []
    async with db.write_session() as session:
        session.add(Customer(name="written after them"))
    assert await _names() == ["written after them"]
