"""The async engine, SQLite pragmas, sessions and schema upgrades.

Writes go through `write_session()`. On SQLite it serialises them in-process: SQLite has one writer anyway, and
queueing in asyncio keeps latency flat where many writers fighting over the file lock would not (see
STACK-NOTES); reads use `read_session()` and run beside writes thanks to WAL. On PostgreSQL writes run
concurrently, in this process and in every other instance on the same database: rows are claimed with
`FOR UPDATE SKIP LOCKED`, counters move with `SET n = n + k`, and a unit of work that may meet another in a
deadlock runs through `write_retrying()`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, nullcontext
from functools import cache
from pathlib import Path

from sqlalchemy import Table, bindparam, event, func, insert, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from chathub import process_state, relay
from chathub.settings import Settings
from chathub.sqlite_driver import one_trip_dbapi

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SYNC_DRIVERS = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg"}
# PostgreSQL's deadlock_detected and serialization_failure: the unit of work lost to another and can run again
RETRYABLE_SQLSTATES = {"40P01", "40001"}
WRITE_ATTEMPTS = 8  # with the backoff below, about 7 s for the other transaction to end


def _set_sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # busy_timeout first: switching to WAL takes a lock, and without the timeout a new connection opened
    # while another one writes fails at once with "database is locked".
    for pragma in ("busy_timeout=10000", "journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _replace_nul_characters(_connection, _cursor, statement, parameters, _context, executemany):
    """PostgreSQL's text cannot hold U+0000, which customers can send (a JSON "\\u0000"), and refuses the whole row
    (the customer's message with it): on PostgreSQL each NUL is stored as U+FFFD instead."""
    if not parameters or not _holds_nul(parameters):
        return statement, parameters
    rows = parameters if executemany else [parameters]
    cleaned = [_without_nul(row) for row in rows]
    return statement, cleaned if executemany else cleaned[0]


def _holds_nul(value) -> bool:
    """Whether any string in a statement's parameters (a row, rows, or a column's array) holds NUL. Checked before
    anything is copied: it runs for every statement, hundreds of values each."""
    for item in value.values() if isinstance(value, dict) else value:
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, list | tuple | dict) and _holds_nul(item):
            return True
    return False


def _without_nul(value):
    """A statement's parameters (a row of them, or one) with NUL replaced in every string."""
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_without_nul(item) for item in value)
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def _engine_options(sqlite: bool) -> dict:
    if sqlite:
        return {"module": one_trip_dbapi()}
    # Plans made for each execution, not cached: asyncpg prepares every statement, and PostgreSQL keeps the
    # generic plan it chose after five runs. Chosen on an empty table (a new database, or one a burst is filling),
    # a sequential scan stayed after the table grew: a batch's duplicate check read all 20,000 messages each time
    # (35 ms, against 2-5 ms), the worker fell behind and acks waited for it. Planning each time costs little here.
    return {"connect_args": {"server_settings": {"plan_cache_mode": "force_custom_plan"}}}


class Database:
    """This run's engine and sessions, and the lock that serialises writes on SQLite (see the module's docstring)."""

    def __init__(self, database_url: str) -> None:
        sqlite = make_url(database_url).get_backend_name() == "sqlite"
        self.engine = create_async_engine(database_url, **_engine_options(sqlite))
        if sqlite:
            event.listen(self.engine.sync_engine, "connect", _set_sqlite_pragmas)
        session_class = AsyncSession.sync_session_class
        if self.engine.dialect.name == "postgresql":
            event.listen(self.engine.sync_engine, "before_cursor_execute", _replace_nul_characters, retval=True)
            # Many rows inserted at once go as one multi-row INSERT per page, not one execution per row: a webhook
            # batch's messages cost PostgreSQL one statement instead of 200 (asyncpg's executemany runs each row).
            self.engine.dialect.use_insertmanyvalues_wo_returning = True
            session_class = relay.RelayedSession  # its commits tell the other instances (chathub.relay)
        self.sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False, sync_session_class=session_class
        )
        self.write_turns = WriteTurns() if self.engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def write_session(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed on success, rolled back on error; serialised on SQLite, where an `urgent`
        one goes before those waiting (see `WriteTurns`)."""
        turn = self.write_turns.take(urgent=urgent) if self.write_turns else nullcontext()
        # The turn ends with the transaction: closing the session only hands its connection back to the pool, and
        # costs a turn of the event loop (SQLAlchemy shields the close from cancellation) that no writer waits for.
        async with self.sessions() as session, turn, session.begin():
            yield session

    @asynccontextmanager
    async def write_connection(self, *, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
        """`write_session` for statements alone: a Core connection in a transaction, without the session's
        machinery (no unit of work, no relay: a write announces itself with `relay.announce_now`)."""
        turn = self.write_turns.take(urgent=urgent) if self.write_turns else nullcontext()
        async with self.engine.connect() as connection, turn, connection.begin():
            yield connection

    async def write_retrying(self, work: Callable[[AsyncSession], Awaitable]):
        """`work(session)` in one unit of work, run again from the start (short backoff) if it lost a deadlock or
        a serialization check to another transaction: what it read is stale, so none of it is kept."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                async with self.write_session() as session:
                    return await work(session)
            except DBAPIError as error:
                if attempt == WRITE_ATTEMPTS or not is_retryable(error):
                    raise
                log.info("a unit of work met another (%s); running it again", error.orig.sqlstate)
            await asyncio.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))


class WriteTurns:
    """SQLite's single writer, taken in turns within this process. Urgent work (the webhook log's group commit:
    a provider waits for its answer) goes before every waiting turn, the rest in arrival order; so an
    acknowledgement waits for at most the one transaction in progress, never for a queue of worker batches."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future] = deque()
        self._others: deque[asyncio.Future] = deque()

    @asynccontextmanager
    async def take(self, *, urgent: bool = False) -> AsyncIterator[None]:
        if self._held or self._urgent or self._others:
            await self._wait(self._urgent if urgent else self._others)
        self._held = True
        try:
            yield
        finally:
            self._pass_on()

    async def _wait(self, queue: deque[asyncio.Future]) -> None:
        turn = asyncio.get_running_loop().create_future()
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed over as the wait was cancelled: pass it on
                self._pass_on()
            elif turn in queue:
                queue.remove(turn)
            raise

    def _pass_on(self) -> None:
        for queue in (self._urgent, self._others):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # still held: the turn goes straight to the next
                    return
        self._held = False


def is_retryable(error: BaseException) -> bool:
    """A deadlock or serialization failure (asyncpg's DeadlockDetectedError, SerializationError)."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def database() -> Database:
    state = process_state.current()
    return state.part(Database, lambda: Database(state.settings.database_url))


async def dispose_engine() -> None:
    if process_state.is_started() and Database in process_state.current().parts:
        await database().engine.dispose()


@asynccontextmanager
async def database_only(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The database without the rest of the app, for scripts and tests that only read and write rows."""
    process_state.begin(Settings(database_url=database_url))
    try:
        yield engine()
    finally:
        await dispose_engine()
        process_state.end()


def engine() -> AsyncEngine:
    return database().engine


def is_sqlite() -> bool:
    return engine().dialect.name == "sqlite"


@asynccontextmanager
async def read_session() -> AsyncIterator[AsyncSession]:
    async with database().sessions() as session:
        yield session


@asynccontextmanager
async def write_session(*, urgent: bool = False) -> AsyncIterator[AsyncSession]:
    """See `Database.write_session`."""
    async with database().write_session(urgent=urgent) as session:
        yield session


@asynccontextmanager
async def write_connection(*, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
    """See `Database.write_connection`."""
    async with database().write_connection(urgent=urgent) as connection:
        yield connection


async def write_retrying(work: Callable[[AsyncSession], Awaitable]):
    """See `Database.write_retrying`."""
    return await database().write_retrying(work)


async def reserve_ids(connection: AsyncConnection, table: Table, count: int) -> range | None:
    """The primary keys SQLite would give the next `count` rows of `table` (the largest + 1 onwards: no table
    uses AUTOINCREMENT), for inserts written with their ids. Left to SQLite, SQLAlchemy inserts a batch one
    statement per row, because SQLite cannot say which RETURNING row answers which parameter set; with the
    ids given, a batch is one executemany. Only inside `write_session()` or `write_connection()`: writes are
    serialised, so nothing else takes these ids before the commit. None on other databases: their sequences must
    hand out ids."""
    if count == 0 or not is_sqlite():
        return None
    largest = (await connection.execute(_largest_id(table))).scalar_one()
    return range((largest or 0) + 1, (largest or 0) + 1 + count)


@cache
def _largest_id(table: Table):
    return select(func.max(table.c.id))


async def new_ids(session: AsyncSession, table: Table, count: int) -> list[int]:
    """Ids for `count` new rows of `table`, taken before they are written: SQLite's next ones (`reserve_ids`), or
    PostgreSQL's sequence (one round trip; what it hands out is never handed out again)."""
    if count == 0:
        return []
    connection = await session.connection()
    if is_sqlite():
        return list(await reserve_ids(connection, table, count))
    taken = await connection.execute(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
        {"table": table.name, "count": count},
    )
    return [row_id for (row_id,) in taken]


async def insert_rows(session: AsyncSession, rows: Sequence, *, attach: bool = False) -> None:
    """New rows of one table (made with `models.new_row`) written in one executemany, without the unit of work
    (which cost more than the statement). They get their ids first. With `attach` they then join the session
    as rows it has loaded, so what changes them later in the transaction is written at the flush; without, they
    stay out of it, as values for what follows (announcements): nothing may change them afterwards."""
    if not rows:
        return
    table = type(rows[0]).__table__
    missing = [row for row in rows if row.id is None]
    for row_id, row in zip(await new_ids(session, table, len(missing)), missing):
        row.__dict__["id"] = row_id  # as new_row puts every value (not yet in any session: nothing to track)
    keys = [column.key for column in table.columns]
    connection = await session.connection()
    values = [row.__dict__ for row in rows]
    if connection.dialect.name == "sqlite":
        await connection.execute(insert(table), [{key: value.get(key) for key in keys} for value in values])
    else:
        await connection.execute(_insert_from_arrays(table, tuple(keys)), _as_arrays(connection, table, keys, values))
    if attach:
        for row in rows:
            make_transient_to_detached(row)
        session.add_all(rows)


async def update_rows(session: AsyncSession, table: Table, rows: Sequence[dict], *, added: Sequence[str] = ()) -> None:
    """Many rows of `table` changed in one statement, without the unit of work: each a dict of its "id" and its new
    values, with the same keys in each; the columns in `added` are added to, not set. SQLite: an executemany.
    PostgreSQL: one UPDATE from arrays, a statement prepared once whatever the number of rows (asyncpg's
    executemany runs one UPDATE per row), with each value bound as its column binds it (naive UTC, enum values)."""
    if not rows:
        return
    keys = tuple(key for key in rows[0] if key != "id")
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        renamed = [{f"new_{key}": value for key, value in row.items()} for row in rows]
        await connection.execute(_update_by_id(table, keys, tuple(added)), renamed)
        return
    arrays = _as_arrays(connection, table, ("id", *keys), rows)
    await connection.execute(_update_from_arrays(table, keys, tuple(added)), arrays)


async def insert_returning_ids(connection: AsyncConnection, table: Table, rows: Sequence[dict]) -> list[int]:
    """New rows of `table` (dicts of every column but "id") in one statement; their ids, in the rows' order.
    SQLite: an executemany with the ids it would give (`reserve_ids`). PostgreSQL: the statement is the same
    whatever the number of rows (prepared once per connection: a multi-row VALUES is a new statement for each
    count, prepared again and again), and the sequence gives the ids."""
    reserved = await reserve_ids(connection, table, len(rows))
    if reserved is not None:
        numbered = [{"id": row_id, **row} for row_id, row in zip(reserved, rows)]
        await connection.execute(insert(table), numbered)
        return list(reserved)
    keys = tuple(key for key in rows[0] if key != "id")
    inserted = await connection.execute(_insert_from_arrays(table, keys), _as_arrays(connection, table, keys, rows))
    # each row's id is drawn from the sequence in the rows' order (see _insert_from_arrays): ascending
    return sorted(inserted.scalars())


def _as_arrays(connection, table: Table, keys: Sequence[str], rows: Sequence[dict]) -> dict[str, list]:
    """One list per column, each value as the column binds it (naive UTC, enum values, JSON text)."""
    arrays = {}
    for key in keys:
        to_database = table.c[key].type.bind_processor(connection.dialect)
        values = [row.get(key) for row in rows]
        arrays[key] = values if to_database is None else [to_database(value) for value in values]
    return arrays


@cache
def _update_by_id(table: Table, keys: tuple[str, ...], added: tuple[str, ...]):
    new = {key: bindparam(f"new_{key}") for key in keys}
    return (
        update(table)
        .where(table.c.id == bindparam("new_id"))
        .values({key: table.c[key] + value if key in added else value for key, value in new.items()})
    )


@cache
def _update_from_arrays(table: Table, keys: tuple[str, ...], added: tuple[str, ...]):
    dialect = postgresql.dialect()  # for the names of the columns' types, which every PostgreSQL driver shares
    quote = dialect.identifier_preparer.quote
    name = quote(table.name)
    sets = ", ".join(
        f"{quote(key)} = {name}.{quote(key)} + new.{quote(key)}" if key in added else f"{quote(key)} = new.{quote(key)}"
        for key in keys
    )
    arrays = ", ".join(f"CAST(:{key} AS {table.c[key].type.compile(dialect=dialect)}[])" for key in ("id", *keys))
    columns = ", ".join(quote(key) for key in ("id", *keys))
    return text(f"UPDATE {name} SET {sets} FROM unnest({arrays}) AS new({columns}) WHERE {name}.id = new.id")


@cache
def _insert_from_arrays(table: Table, keys: tuple[str, ...]):
    """Rows from one array per column. Without "id" in `keys`, ids come from the sequence, drawn row after row in
    the arrays' order (the ordinality's sort comes before the select list), and the statement returns them."""
    dialect = postgresql.dialect()
    quote = dialect.identifier_preparer.quote
    arrays = ", ".join(f"CAST(:{key} AS {table.c[key].type.compile(dialect=dialect)}[])" for key in keys)
    columns = ", ".join(quote(key) for key in keys)
    if "id" in keys:
        return text(f"INSERT INTO {quote(table.name)} ({columns}) SELECT * FROM unnest({arrays})")
    new = ", ".join(f"new.{quote(key)}" for key in keys)
    return text(
        f"INSERT INTO {quote(table.name)} (id, {columns}) "
        f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')), {new} "
        f"FROM unnest({arrays}) WITH ORDINALITY AS new({columns}, number) ORDER BY new.number RETURNING id"
    )


def upgrade_schema(database_url: str) -> None:
    """Bring the database to the newest schema with Alembic (synchronously, before serving)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))  # the config interpolates %
    command.upgrade(config, "head")


def sync_url(database_url: str) -> str:
    """The same database through a synchronous driver, for Alembic and start-up seeding (psycopg 3 on PostgreSQL)."""
    url = make_url(database_url)
    return url.set(drivername=SYNC_DRIVERS.get(url.drivername, url.drivername)).render_as_string(hide_password=False)


class GroupCommit:
    """Inserts rows handed in by many concurrent callers, many per transaction.

    Each caller awaits its own row's commit, so a webhook is acknowledged only once it is on disk; under
    load one commit carries hundreds of rows instead of one. `write_batch(connection, rows)` writes them, with
    statements (`write_connection`: the session's machinery cost a few percent of the server's CPU under a burst);
    `after_commit` runs with the committed rows (outside any request), e.g. to announce them on the bus.
    """

    def __init__(self, write_batch, after_commit=None, max_batch: int = 500, urgent: bool = False) -> None:
        self.after_commit = after_commit
        self.urgent = urgent
        self.write_batch = write_batch
        self.max_batch = max_batch
        self._pending: list[tuple[object, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    async def insert(self, row):
        future = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush_all())
        return await future

    async def _flush_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            rows = [row for row, _ in batch]
            try:
                async with write_connection(urgent=self.urgent) as connection:
                    await self.write_batch(connection, rows)
            except Exception as error:  # every caller of the failed batch hears of it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for row, future in batch:
                if not future.done():
                    future.set_result(row)
            if self.after_commit is not None:
                self.after_commit(rows)
