"""A throwaway PostgreSQL cluster for the tests that touch the database, chosen with
CHATHUB_TEST_DATABASE=postgresql (unset: SQLite, as ever).

One cluster per test session (per xdist worker), on 127.0.0.1 at a free port in a temp folder, never a
system service; durability is off (fsync, full-page writes, synchronous commit), as nothing outlives the run.
Two template databases are migrated once, like the SQLite templates in `template_database.py`: the schema
alone, and the schema plus what a first start with the tests' default settings creates. A test's database is
copied from one of them on its first start (`CREATE DATABASE t_N TEMPLATE ...`, tens of milliseconds) and
dropped after the test."""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

SELECTOR = "CHATHUB_TEST_DATABASE"
SCHEMA_TEMPLATE = "chathub_template"
SEEDED_TEMPLATE = "chathub_template_seeded"
BIN = Path("/usr/lib/postgresql/15/bin")
SETTINGS = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off", "listen_addresses": "127.0.0.1"}


@functools.cache  # read before the first test: `chathub_env` removes every CHATHUB_ variable during a test
def selected() -> bool:
    """Whether this run's database-touching tests run on PostgreSQL."""
    choice = os.environ.get(SELECTOR, "sqlite").strip().lower()
    if choice not in ("sqlite", "postgresql"):
        raise ValueError(f"{SELECTOR} must be sqlite or postgresql, not {choice!r}")
    return choice == "postgresql"


def is_postgresql(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


class Cluster:
    """One PostgreSQL server of this test process, with its superuser `postgres` (trust authentication)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="chathub-postgres-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._numbers = itertools.count(1)

    def start(self) -> None:
        if _is_root():  # initdb refuses root: the server runs as the postgres user
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "-N")
        options = " ".join([f"-p {self.port}", f"-k {self.folder}", *(f"-c {k}={v}" for k, v in SETTINGS.items())])
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", self.folder / "server.log", "-w", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        return URL.create(
            "postgresql+asyncpg", username="postgres", host="127.0.0.1", port=self.port, database=database
        ).render_as_string(hide_password=False)

    def next_database_url(self) -> str:
        """The URL of a database for the next test, made on its first start (see `create_from_template`)."""
        return self.url(f"t_{next(self._numbers)}")

    def _run(self, program: str, *arguments) -> None:
        command = [str(BIN / program), *map(str, arguments)]
        as_postgres = ["runuser", "-u", "postgres", "--"] if _is_root() else []
        done = subprocess.run([*as_postgres, *command], capture_output=True, text=True, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")


@contextmanager
def running_cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def connect(database_url: str, database: str | None = None, autocommit: bool = False) -> psycopg.Connection:
    """A plain connection to the URL's database, or to another database of the same server."""
    url = make_url(database_url)
    return psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=database or url.database, autocommit=autocommit
    )


def execute(database_url: str, *statements: str) -> None:
    """Run statements outside a transaction (CREATE / DROP DATABASE), on the server's `postgres` database."""
    with connect(database_url, "postgres", autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def exists(database_url: str) -> bool:
    with connect(database_url, "postgres") as connection:
        query = "SELECT 1 FROM pg_database WHERE datname = %s"
        return connection.execute(query, (make_url(database_url).database,)).fetchone() is not None


def create_from_template(database_url: str, template: str) -> None:
    execute(database_url, f'CREATE DATABASE "{make_url(database_url).database}" TEMPLATE "{template}"')


def drop(database_url: str) -> None:
    execute(database_url, f'DROP DATABASE IF EXISTS "{make_url(database_url).database}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _is_root() -> bool:
    return os.geteuid() == 0
