"""Migrating an empty SQLite file to the newest schema is most of what an app start costs. The session does it
once, into template files, and each test's first start copies one into its fresh data folder: start-up then
finds the schema at head, as at any restart, and does only the version check.

Two templates: the schema alone, and the schema plus what a first start with the tests' default settings
creates (the simulator channel and the first admin, whose password hash alone takes a good part of a second).
A start whose settings differ from those defaults gets the schema alone, so its own first start creates
exactly what it would have. A data folder that already has a database (a restart, a restored backup) and a
database that is not an SQLite file are left alone.

On PostgreSQL (tests/helpers/postgres.py) the same two templates are databases of the test cluster, built
when the cluster starts, and a first start gets its database made from one of them."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from chathub import bootstrap, db
from chathub.settings import Settings
from tests.helpers import postgres

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "Admin-pass-1"


def copy_for_first_start() -> None:
    """Before an in-process start: give a first start the template its settings would have produced."""
    try:
        settings = Settings()
    except Exception:  # start-up refuses these settings itself, in its own words
        return
    if postgres.is_postgresql(settings.database_url):
        _create_postgres_database(settings)
        return
    target = settings.sqlite_file if settings.is_sqlite else None
    if target is None or target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_templates()[_seeded_by_default(settings)], target)


def _create_postgres_database(settings: Settings) -> None:
    if not postgres.exists(settings.database_url):
        template = postgres.SEEDED_TEMPLATE if _seeded_by_default(settings) else postgres.SCHEMA_TEMPLATE
        postgres.create_from_template(settings.database_url, template)


def build_postgres_templates(cluster: postgres.Cluster) -> None:
    """The schema, and the schema plus a default first start's rows, as template databases of the cluster."""
    schema, seeded = cluster.url(postgres.SCHEMA_TEMPLATE), cluster.url(postgres.SEEDED_TEMPLATE)
    postgres.execute(schema, f"CREATE DATABASE {postgres.SCHEMA_TEMPLATE}")
    db.upgrade_schema(schema)
    postgres.create_from_template(seeded, postgres.SCHEMA_TEMPLATE)
    _seed(seeded, data_dir=Path(cluster.folder))


def _seeded_by_default(settings: Settings) -> bool:
    return (
        settings.admin_email.strip().lower() == ADMIN_EMAIL
        and settings.admin_password == ADMIN_PASSWORD
        and not settings.public_url.startswith("https://")
    )


@cache
def _templates() -> dict[bool, Path]:
    """{seeded: file}: built on the first start that needs them, removed when the test process ends."""
    folder = Path(tempfile.mkdtemp(prefix="chathub-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    schema, seeded = folder / "schema.db", folder / "seeded.db"
    db.upgrade_schema(_url(schema))
    shutil.copyfile(schema, seeded)
    _seed(_url(seeded), data_dir=folder)
    for built in (schema, seeded):
        assert not built.with_name(built.name + "-wal").exists(), "a template must be complete in its one file"
    return {False: schema, True: seeded}


def _seed(database_url: str, data_dir: Path) -> None:
    """What a first start with the tests' default settings writes."""
    bootstrap.prepare_database(
        Settings.model_construct(
            data_dir=data_dir,
            database_url=database_url,
            public_url="http://127.0.0.1:8080",
            admin_email=ADMIN_EMAIL,
            admin_password=ADMIN_PASSWORD,
        )
    )


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"
