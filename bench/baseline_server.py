"""The ingest baseline: the stack's own limit for a durable acknowledgement, started like ChatHub.

    CHATHUB_DATA_DIR=/tmp/x CHATHUB_PORT=8099 python bench/baseline_server.py   # bench/ingest.py starts it

One bare route, `POST /webhooks/simulator`, served the way ChatHub serves its webhooks (chathub/app.py): on a
plain FastAPI app with NiceGUI's app mounted under it by `ui.run_with` (same arguments), one uvicorn process
started with ChatHub's `uvicorn.run` settings; and ChatHub's engine (`db.Database`: aiosqlite, WAL,
synchronous=NORMAL, the same pragmas). Each request inserts its body as one row and commits it,
alone, before answering; requests take turns for the write, as ChatHub's writes do. Nothing else: no parsing,
no checks, no worker, no pages. `GET /healthz` says nothing is waiting, so the bench's "all processed" is the
last acknowledgement. Only listens on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvicorn  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from nicegui import app, ui  # noqa: E402
from sqlalchemy import text  # noqa: E402

from chathub import db, process_state  # noqa: E402
from chathub.settings import Settings  # noqa: E402

INSERT = text("INSERT INTO hook (body, received_at) VALUES (:body, :received_at)")
_write_turn = asyncio.Lock()
http_app = FastAPI()


@http_app.post("/webhooks/simulator")
async def receive(request: Request) -> dict:
    body = (await request.body()).decode("utf-8", errors="replace")
    async with _write_turn, db.engine().begin() as connection:  # one row, one commit, then the answer
        result = await connection.execute(INSERT, {"body": body, "received_at": datetime.now(UTC)})
    return {"status": "accepted", "webhook_log_id": result.lastrowid}


@http_app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok", "webhooks_waiting": 0}


def main() -> None:
    data_dir = Path(os.environ.get("CHATHUB_DATA_DIR", "./data"))
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "baseline.db"
    with sqlite3.connect(path) as connection:  # the table, before serving (like ChatHub's schema upgrade)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS hook (id INTEGER PRIMARY KEY, body TEXT NOT NULL, "
            "received_at TIMESTAMP NOT NULL)"
        )
    app.on_startup(lambda: process_state.begin(Settings(database_url=f"sqlite+aiosqlite:///{path}")))
    app.on_shutdown(db.dispose_engine)
    ui.run_with(
        http_app,
        title="Baseline",
        storage_secret="baseline-" + os.urandom(16).hex(),
        show_welcome_message=False,
        favicon="💬",
        reconnect_timeout=30.0,
        session_middleware_kwargs={"same_site": "lax", "https_only": False},
    )
    uvicorn.run(
        http_app,
        host="127.0.0.1",
        port=int(os.environ.get("CHATHUB_PORT", "8080")),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=25,
    )


if __name__ == "__main__":
    main()
