"""Upgrading a database made by an earlier ChatHub keeps what it holds meaning the same."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from chathub import db
from chathub.services import conversations
from tests.helpers import postgres
from tests.services.test_search import _alembic, search_index_problems, write_old_conversation


async def test_upgrading_counts_the_replies_that_had_failed_and_keeps_search(tmp_path: Path):
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    command.upgrade(_alembic(url), "0006")
    write_old_conversation(
        path,
        [
            ("inbound", "My umbrella broke", "received"),
            ("outbound", "Sorry", "failed"),
            ("outbound", "Sorry again", "delivered"),
        ],
        unread=0,
    )

    db.upgrade_schema(url)

    async with db.database_only(url):
        [conversation] = (await conversations.list_conversations(q="umbrella")).items
        assert conversation.failed_replies == 1
        assert conversation.search_match.snippet == "My umbrella broke"
        assert await search_index_problems() is None
    command.downgrade(_alembic(url), "0006")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    if not postgres.selected():
        pytest.skip(f"{postgres.SELECTOR}=postgresql runs it on PostgreSQL")
    url = request.getfixturevalue("postgres_cluster").next_database_url()
    postgres.create_from_template(url, "template0")
    yield url
    postgres.drop(url)


def test_the_schema_the_migrations_build_is_the_one_the_models_declare(empty_database_url: str):
    url = empty_database_url
    command.upgrade(_alembic(url), "head")

    engine = create_engine(db.sync_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                # the message search indexes (migrations 0004 and 0011) are no models, as in migrations/env.py
                opts={
                    "compare_type": True,
                    "include_name": lambda name, kind, _: (
                        not (kind == "table" and name.startswith("message_fts") or name == "ix_message_search")
                    ),
                },
            )
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()
