"""message search on PostgreSQL

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 17:10:00.000000

What migration 0004's FTS5 index is on SQLite: a GIN index over the words of `message.content`, cut by the
`chathub_search` text search configuration (PostgreSQL's `simple` one, each word first stripped of its accents
by `unaccent`: "Crème" is indexed as "creme"). chathub/services/search.py queries the same expression, so the
index serves it. Nothing changes on SQLite.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEX = "ix_message_search"
CONFIGURATION = "chathub_search"  # chathub/services/search.py names it too


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")  # a trusted extension: the database's owner may
    op.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIGURATION} (COPY = simple)")
    op.execute(
        f"ALTER TEXT SEARCH CONFIGURATION {CONFIGURATION} ALTER MAPPING FOR hword, hword_part, word "
        "WITH unaccent, simple"
    )
    op.execute(f"CREATE INDEX {INDEX} ON message USING gin (to_tsvector('{CONFIGURATION}'::regconfig, content))")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIGURATION}")
