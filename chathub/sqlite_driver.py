"""SQLAlchemy's aiosqlite adapter with one trip to aiosqlite's thread per statement.

The stock adapter awaits aiosqlite four times for a query (open a cursor, execute, fetch, close) and three times for
a write. Each await is a round trip to aiosqlite's thread and back through the event loop, and under load the loop is
busy answering requests: each trip waits its turn behind them. A transaction's statements then stretch over many loop
turns while it holds SQLite's single writer, and every acknowledgement waiting for the writer waits with it. Here a
statement is executed, fetched and closed in one call on aiosqlite's thread; a savepoint's statements travel with
the next one; a commit or rollback is one trip, or none when no transaction is open.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# Statements that return nothing and cannot fail once the transaction's statements before them have worked: they
# are sent with the next statement, or with the commit.
HELD_BACK = ("SAVEPOINT ", "RELEASE SAVEPOINT ")


def _execute(connection: sqlite3.Connection, held: list[str], many: bool, operation: str, parameters: Any) -> tuple:
    """Run on aiosqlite's thread: the statements held back, then this one; its rows if it returns any, and the
    cursor's figures."""
    cursor = connection.cursor()
    try:
        for statement in held:
            cursor.execute(statement)
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description and not many else ()
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _commit(connection: sqlite3.Connection, held: list[str]) -> None:
    """Run on aiosqlite's thread: the statements held back, then the commit."""
    for statement in held:
        connection.execute(statement)
    if connection.in_transaction:
        connection.commit()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement runs in one trip; what it read is kept here, so closing costs nothing."""

    __slots__ = ("_figures", "arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._figures = (None, -1, None)
        self.arraysize = 1

    @property
    def description(self):
        return self._figures[0]

    @property
    def rowcount(self) -> int:
        return self._figures[1]

    @property
    def lastrowid(self):
        return self._figures[2]

    async def _async_soft_close(self) -> None:
        """Nothing to close: the sqlite3 cursor closed with its statement."""

    def execute(self, operation: Any, parameters: Any = None) -> None:
        if parameters is None and operation.startswith(HELD_BACK):
            self._adapt_connection.held.append(operation)
            return
        self._run(False, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._run(True, operation, seq_of_parameters)

    def _run(self, many: bool, operation: Any, parameters: Any) -> None:
        try:
            description, rowcount, lastrowid, rows = await_(self._in_thread(many, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._figures = (description, rowcount, lastrowid)
        self._rows = collections.deque(rows)

    async def _in_thread(self, many: bool, operation: Any, parameters: Any) -> tuple:
        async with self._adapt_connection._execute_mutex:
            held = self._adapt_connection.take_held()
            return await self._connection._execute(_execute, self._connection._conn, held, many, operation, parameters)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """Keeps the savepoint statements held back (`HELD_BACK`) until the next statement or the commit; a rollback
    drops them. A commit or rollback with no transaction open (the pool's rollback of each connection it takes
    back, a read-only session's end) makes no trip: SQLite says whether one is (`in_transaction`)."""

    __slots__ = ("held",)
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection) -> None:
        super().__init__(dbapi, connection)
        self.held: list[str] = []

    def take_held(self) -> list[str]:
        held, self.held = self.held, []
        return held

    def rollback(self) -> None:
        self.held.clear()  # what they would have done is undone
        if self._connection._connection is not None and self._connection.in_transaction:
            super().rollback()

    def commit(self) -> None:
        if self._connection._connection is not None and (self.held or self._connection.in_transaction):
            try:
                await_(self._connection._execute(_commit, self._connection._conn, self.take_held()))
            except Exception as error:
                self._handle_exception(error)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """Passed as `module=` to the engine: the aiosqlite dialect with OneTripCursor for its buffered cursors."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        connection = super().connect(*arg, **kw)
        return OneTripConnection(self, connection._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
