"""A consistent copy of the live SQLite database, taken while ChatHub runs.

SQLite's online backup API copies the database as one read transaction sees it: every committed row,
including those still in the write-ahead log, and nothing half-written. In WAL mode a reader blocks no
writer, so webhooks keep being acknowledged while the copy is taken.

The copy is written to a temporary file beside the target (owner-only, like the secret key: it holds every
customer's words), checked with `PRAGMA integrity_check`, switched to a self-contained single file
(journal_mode=DELETE) and only then renamed into place — an interrupted backup never leaves a file that
looks complete.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

BUSY_TIMEOUT_MS = 10_000


class BackupError(Exception):
    """A backup that was not made; the message is one sentence for the operator."""


@dataclass(frozen=True)
class BackupResult:
    source: Path
    target: Path
    size_bytes: int


def sqlite_path(database_url: str) -> Path:
    """The file behind a sqlite URL (sqlite+aiosqlite:///data/chathub.db -> data/chathub.db)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        raise BackupError(
            "this command copies SQLite databases; a PostgreSQL database is backed up with PostgreSQL's pg_dump, "
            f"e.g. `pg_dump --format=custom --file=chathub.dump {url.database}` (docs/operations.md#backups)"
        )
    if url.get_backend_name() != "sqlite":
        raise BackupError(f"only SQLite databases can be backed up this way, not {url.get_backend_name()}")
    if not url.database or url.database == ":memory:":
        raise BackupError("the database is in memory: there is no file to back up")
    return Path(url.database)


def backup_database(source: Path, target: Path, *, force: bool = False) -> BackupResult:
    """Copy the database at `source` to `target`; refuses to overwrite `target` unless `force`."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists (use --force to overwrite it)")
    if target.is_dir():
        raise BackupError(f"{target} is a folder: give a file name")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    if target.resolve() == source.resolve():
        raise BackupError("the backup cannot overwrite the database it copies")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        _create_private(partial)
        _copy(source, partial)
        os.replace(partial, target)
    except sqlite3.Error as error:
        raise BackupError(f"SQLite could not copy {source}: {error}") from None
    except OSError as error:
        raise BackupError(f"could not write {target}: {error.strerror or error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(source=source, target=target, size_bytes=target.stat().st_size)


def _create_private(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _copy(source: Path, target: Path) -> None:
    # Read-only URI: the backup never writes to the live database (no schema, no checkpoint of its own).
    live = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    copy = sqlite3.connect(target)
    try:
        live.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        live.backup(copy)  # all pages in one step: one consistent snapshot, even while the app writes
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file, no -wal beside it
        (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
        if verdict != "ok":
            raise BackupError(f"the copy failed SQLite's integrity check: {verdict}")
    finally:
        copy.close()
        live.close()
