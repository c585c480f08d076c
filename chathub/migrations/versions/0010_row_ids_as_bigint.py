"""row ids as BIGINT on PostgreSQL

PostgreSQL's INTEGER stops at 2**31 - 1: a larger id in a URL failed the query (a 500, where SQLite answers
404), and a busy table would run out of ids. Every primary key and every key pointing at one becomes BIGINT,
with its sequence. SQLite's INTEGER PRIMARY KEY is already 64 bits: nothing changes there.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 17:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ROW_ID_COLUMNS = {
    "agent": ["id"],
    "api_token": ["id", "agent_id"],
    "browser_session": ["id", "agent_id"],
    "channel": ["id"],
    "customer": ["id"],
    "customer_identity": ["id", "customer_id", "channel_id"],
    "conversation": ["id", "customer_id", "channel_id", "identity_id", "assignee_id"],
    "message": ["id", "conversation_id", "channel_id", "agent_id"],
    "webhook_log": ["id", "channel_id", "message_id"],
}


def upgrade() -> None:
    _change_row_ids(sa.Integer(), sa.BigInteger(), "bigint")


def downgrade() -> None:
    _change_row_ids(sa.BigInteger(), sa.Integer(), "integer")


def _change_row_ids(old: sa.types.TypeEngine, new: sa.types.TypeEngine, sequence_type: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in ROW_ID_COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=new, existing_type=old)
        op.execute(f"ALTER SEQUENCE {table}_id_seq AS {sequence_type}")
