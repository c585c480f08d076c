"""inbox indexes and message search

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 18:10:00

Two partial indexes let the "Unread only" inbox walk in activity order (the old
`(unread_count, last_message_at, id)` index could not give that order: at 100k conversations SQLite sorted
every unread one for each page); they also count the unread total.

`message_fts` is an SQLite FTS5 index of message text (external content: it stores the words, not a copy of
the text; its rowid is `message.id`). Three triggers keep it in step with `message` inside the same
transaction, so no code has to remember it. Existing messages are indexed here (about 4 s per million).

**Keep the triggers.** A later migration that rebuilds `message` (`batch_alter_table("message")` copies the
table and drops the old one on SQLite) drops them with it: that migration must create them again (copy
TRIGGERS below) and run `INSERT INTO message_fts(message_fts) VALUES ('rebuild')`.
tests/services/test_search.py checks that they exist at the newest revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TOKENIZER = "unicode61 remove_diacritics 2"  # words of any script; "creme" finds "crème"
TRIGGERS = {
    "message_fts_insert": "AFTER INSERT ON message BEGIN "
    "INSERT INTO message_fts(rowid, content) VALUES (new.id, new.content); END",
    "message_fts_delete": "AFTER DELETE ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content); END",
    "message_fts_update": "AFTER UPDATE OF content ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content); "
    "INSERT INTO message_fts(rowid, content) VALUES (new.id, new.content); END",
}


def upgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_unread", sqlite_where=sa.text("unread_count > 0"))
        batch_op.create_index(
            "ix_conversation_unread_activity",
            ["last_message_at", "id"],
            unique=False,
            sqlite_where=sa.text("unread_count > 0"),
            postgresql_where=sa.text("unread_count > 0"),
        )
        batch_op.create_index(
            "ix_conversation_unread_status_activity",
            ["status", "last_message_at", "id"],
            unique=False,
            sqlite_where=sa.text("unread_count > 0"),
            postgresql_where=sa.text("unread_count > 0"),
        )
    if op.get_bind().dialect.name != "sqlite":
        return  # other databases search with LIKE (chathub/services/search.py)
    op.execute(
        f"CREATE VIRTUAL TABLE message_fts USING fts5(content, content='message', content_rowid='id', "
        f"tokenize='{TOKENIZER}')"
    )
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS message_fts")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_unread_status_activity", sqlite_where=sa.text("unread_count > 0"))
        batch_op.drop_index("ix_conversation_unread_activity", sqlite_where=sa.text("unread_count > 0"))
        batch_op.create_index(
            "ix_conversation_unread",
            ["unread_count", "last_message_at", "id"],
            unique=False,
            sqlite_where=sa.text("unread_count > 0"),
            postgresql_where=sa.text("unread_count > 0"),
        )
