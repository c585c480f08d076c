"""`python main.py backup PATH` while ChatHub runs: SQLite's online backup copies every committed row, those
still in the write-ahead log included, into one self-contained file that passes `PRAGMA integrity_check`;
restoring it as docs/operations.md (Backups) says brings exactly that state back. It refuses to overwrite
without --force."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from bench.crash import EMAIL, PASSWORD, ROOT, ChatHubProcess, post_webhooks, query, wait_drained
from chathub import cli


def webhook(run: str, i: int) -> bytes:
    return json.dumps(
        {"from": f"+1555{i % 20:04d}", "message": f"backup {run} {i}", "message_id": f"backup-{run}-{i}"}
    ).encode()


def run_backup(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATHUB_") and k != "PYTEST_CURRENT_TEST"}
    env["CHATHUB_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "backup", *args],
        cwd=data_dir.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def message_ids(database: Path, run: str) -> set[str]:
    return {
        row[0] for row in query(database, "SELECT external_id FROM message WHERE external_id LIKE ?", f"backup-{run}-%")
    }


def integrity(database: Path) -> str:
    return query(database, "PRAGMA integrity_check")[0][0]


@pytest.fixture
def server(tmp_path: Path):
    live = ChatHubProcess(tmp_path / "data")
    live.data_dir.mkdir()
    live.start()
    yield live
    live.stop()


async def test_a_backup_of_the_running_app_has_every_message_and_restores(server: ChatHubProcess, tmp_path: Path):
    run = uuid.uuid4().hex[:8]
    acknowledged, _ = await post_webhooks(server.url, {i: webhook(run, i) for i in range(200)}, 20)
    assert len(acknowledged) == 200
    assert await wait_drained(server.url, 60) is not None
    wal = server.database.with_name("chathub.db-wal")
    assert wal.exists() and wal.stat().st_size > 0  # committed rows live in the WAL, not yet in chathub.db
    naive = tmp_path / "naive-copy.db"
    shutil.copyfile(server.database, naive)  # what `cp chathub.db` would have kept

    target = tmp_path / "backups" / "chathub-backup.db"
    target.parent.mkdir()
    done = run_backup(server.data_dir, str(target))

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Backed up {server.database}") and done.stdout.count("\n") == 1
    assert message_ids(target, run) == {f"backup-{run}-{i}" for i in range(200)}
    assert len(message_ids(naive, run)) < 200  # the WAL mattered: a plain copy misses rows
    assert integrity(target) == "ok"
    assert query(target, "PRAGMA journal_mode")[0][0] == "delete"  # one self-contained file
    assert not target.with_name("chathub-backup.db-wal").exists()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # every customer's words: owner only

    later = {i: webhook(run, i) for i in range(200, 210)}  # written after the backup: gone after a restore
    assert len((await post_webhooks(server.url, later, 5))[0]) == 10
    assert await wait_drained(server.url, 60) is not None
    server.stop()
    # docs/operations.md's restore: stop, copy the backup over chathub.db, remove stale -wal/-shm, start.
    shutil.copyfile(target, server.database)
    for stale in ("chathub.db-wal", "chathub.db-shm"):
        server.database.with_name(stale).unlink(missing_ok=True)
    server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        token = (await http.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        shown = set()
        for conversation in (await http.get("/api/v1/conversations", params={"limit": 100}, headers=headers)).json()[
            "items"
        ]:
            messages = (
                await http.get(
                    f"/api/v1/conversations/{conversation['id']}/messages", params={"limit": 100}, headers=headers
                )
            ).json()["items"]
            shown |= {m["external_id"] for m in messages}
    assert shown == {f"backup-{run}-{i}" for i in range(200)}


async def test_a_backup_during_a_flood_is_consistent_and_holds_every_acknowledged_webhook(server, tmp_path):
    run = uuid.uuid4().hex[:8]
    started = asyncio.Event()

    def note(count: int) -> None:
        if count >= 100:
            started.set()

    bodies = {i: webhook(run, i) for i in range(800)}
    flood = asyncio.create_task(post_webhooks(server.url, bodies, 20, note))
    await started.wait()
    acknowledged_so_far = set(query(server.database, "SELECT body FROM webhook_log"))  # committed before backup
    acknowledged_before_backup = {json.loads(body)["message_id"] for (body,) in acknowledged_so_far}
    target = tmp_path / "mid-flood.db"
    done = await asyncio.to_thread(run_backup, server.data_dir, str(target))
    acknowledged, _ = await flood

    assert done.returncode == 0, done.stderr
    assert len(acknowledged) == 800
    assert integrity(target) == "ok"
    in_copy = {json.loads(body)["message_id"] for (body,) in query(target, "SELECT body FROM webhook_log")}
    assert len(acknowledged_before_backup) >= 100
    assert acknowledged_before_backup <= in_copy  # nothing committed before the copy began is missing


def test_refuses_to_overwrite_an_existing_file_without_force(chathub_env: Path, tmp_path: Path, capsys):
    _a_database(chathub_env)
    target = tmp_path / "existing.db"
    target.write_text("keep me")

    assert cli.main(["backup", str(target)]) == 1
    assert capsys.readouterr().err == f"ChatHub backup failed: {target} already exists (use --force to overwrite it)\n"
    assert target.read_text() == "keep me"

    assert cli.main(["backup", str(target), "--force"]) == 0
    assert integrity(target) == "ok" and query(target, "SELECT note FROM probe") == [("hello",)]


@pytest.mark.parametrize(
    "make_target, problem",
    [
        (lambda tmp: tmp / "missing-folder" / "b.db", "the folder {parent} does not exist"),
        (lambda tmp: tmp, "{target} already exists (use --force to overwrite it)"),
    ],
    ids=["folder missing", "a folder"],
)
def test_refusals_are_one_line_with_exit_code_1(chathub_env, tmp_path, capsys, make_target, problem):
    _a_database(chathub_env)
    target = make_target(tmp_path)

    assert cli.main(["backup", str(target)]) == 1
    assert (
        capsys.readouterr().err
        == "ChatHub backup failed: " + problem.format(parent=target.parent, target=target) + "\n"
    )


def test_without_a_database_there_is_nothing_to_back_up(chathub_env, tmp_path, capsys):
    assert cli.main(["backup", str(tmp_path / "b.db")]) == 1
    assert capsys.readouterr().err == f"ChatHub backup failed: there is no database at {chathub_env / 'chathub.db'}\n"
    assert not (tmp_path / "b.db").exists()


def test_without_a_path_it_prints_usage_and_exits_2(chathub_env):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["backup"])
    assert exit_.value.code == 2


def _a_database(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(data_dir / "chathub.db") as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE probe (note TEXT)")
        connection.execute("INSERT INTO probe VALUES ('hello')")
