"""send attempt marks

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 08:45:00

`message.send_started_at` is committed before a reply goes to the provider and cleared with the outcome, so a
send cut short by a crash is recognised after the restart; the reply is sent again and flagged
`possibly_sent_twice` for the agent. Only columns are added: on SQLite the batch adds them with ALTER TABLE,
without rebuilding `message` (its search triggers stay).
"""

import sqlalchemy as sa
from alembic import op

from chathub import models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_started_at", models.UTCDateTime(), nullable=True))
        # a plain '0' (false on both databases): an expression default would make SQLite rebuild the table
        batch_op.add_column(sa.Column("possibly_sent_twice", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch would rebuild `message` and lose its search triggers.
    op.drop_column("message", "possibly_sent_twice")
    op.drop_column("message", "send_started_at")
