"""Upgrading a database made by an earlier ChatHub keeps what it holds meaning the same."""

from pathlib import Path

from alembic import command

from chathub import db
from chathub.services import conversations
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
