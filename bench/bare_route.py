"""The ingest baseline: the stack's own limit for a durable acknowledgement, with nothing of ChatHub in it.

    CHATHUB_DATA_DIR=/tmp/x CHATHUB_PORT=8099 python bench/bare_route.py          # SQLite (bench/ingest.py starts it)
    CHATHUB_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/db CHATHUB_PORT=8099 python bench/bare_route.py

A bare FastAPI app (no NiceGUI mounted) with one route, `POST /webhooks/simulator`: it reads the body, commits
it as one row and only then answers. `GET /healthz` says nothing is waiting (there is no processing), so the
bench's "all processed" is the last acknowledgement. Served by uvicorn with chathub/app.py's `uvicorn.run`
settings (uvicorn's default loop and HTTP parser, which pick uvloop and httptools when installed; log level
warning, no access log), on 127.0.0.1 and CHATHUB_PORT.

- SQLite (`CHATHUB_DATA_DIR/bare_route.db`): one shared aiosqlite connection with ChatHub's pragmas (WAL,
  synchronous=NORMAL, busy_timeout); each request's INSERT and COMMIT under one asyncio.Lock: one row, one
  commit, then the answer. No group commit: that is ChatHub's own doing and part of what the ratio measures.
- PostgreSQL (`CHATHUB_DATABASE_URL=postgresql+asyncpg://...`): an asyncpg pool of 10, one autocommitted
  INSERT per request.

Only listens on 127.0.0.1. If ChatHub's serving changes (chathub/app.py's `uvicorn.run`), change this with it,
or the ratio compares different stacks.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request

POOL_SIZE = 10


class SQLiteHooks:
    """One raw aiosqlite connection; writes take turns, each its own transaction."""

    CREATE = "CREATE TABLE IF NOT EXISTS hook (id INTEGER PRIMARY KEY, body TEXT NOT NULL, received_at TEXT NOT NULL)"
    INSERT = "INSERT INTO hook (body, received_at) VALUES (?, ?)"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.turn = asyncio.Lock()

    async def open(self) -> None:
        import aiosqlite

        self.connection = await aiosqlite.connect(self.path)
        for pragma in ("busy_timeout=10000", "journal_mode=WAL", "synchronous=NORMAL"):  # ChatHub's (chathub/db.py)
            await self.connection.execute(f"PRAGMA {pragma}")
        await self.connection.execute(self.CREATE)
        await self.connection.commit()

    async def add(self, body: str) -> int:
        async with self.turn:  # one row, one commit
            cursor = await self.connection.execute(self.INSERT, (body, datetime.now(UTC).isoformat()))
            await self.connection.commit()
        return cursor.lastrowid

    async def close(self) -> None:
        await self.connection.close()


class PostgresHooks:
    """An asyncpg pool; each INSERT commits on its own (asyncpg autocommits outside a transaction)."""

    CREATE = (
        "CREATE TABLE IF NOT EXISTS hook (id bigserial PRIMARY KEY, body text NOT NULL, "
        "received_at timestamptz NOT NULL)"
    )
    INSERT = "INSERT INTO hook (body, received_at) VALUES ($1, $2) RETURNING id"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def open(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.dsn, min_size=POOL_SIZE, max_size=POOL_SIZE)
        await self.pool.execute(self.CREATE)

    async def add(self, body: str) -> int:
        return await self.pool.fetchval(self.INSERT, body, datetime.now(UTC))

    async def close(self) -> None:
        await self.pool.close()


def hooks_from_environment() -> SQLiteHooks | PostgresHooks:
    database_url = os.environ.get("CHATHUB_DATABASE_URL", "")
    if database_url.startswith("postgresql"):
        return PostgresHooks(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    if database_url:
        raise SystemExit("bench/bare_route.py: CHATHUB_DATABASE_URL must be postgresql+asyncpg://... (or unset)")
    data_dir = Path(os.environ.get("CHATHUB_DATA_DIR", "./data"))
    data_dir.mkdir(parents=True, exist_ok=True)
    return SQLiteHooks(data_dir / "bare_route.db")


def create_app(hooks: SQLiteHooks | PostgresHooks) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await hooks.open()
        try:
            yield
        finally:
            await hooks.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/webhooks/simulator")
    async def receive(request: Request) -> dict:
        body = (await request.body()).decode("utf-8", errors="replace")
        return {"status": "accepted", "webhook_log_id": await hooks.add(body)}

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "webhooks_waiting": 0}

    return app


def main() -> None:
    uvicorn.run(  # chathub/app.py's settings
        create_app(hooks_from_environment()),
        host="127.0.0.1",
        port=int(os.environ.get("CHATHUB_PORT", "8080")),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=25,
    )


if __name__ == "__main__":
    main()
