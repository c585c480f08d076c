"""work leases and job turns

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 18:10:00

`message.claimed_until`: the lease an instance takes on a reply it sends or a customer's file it fetches. It
is committed before the provider is called; while it runs no other instance takes the row, and once it has
passed (the instance died mid-call) any instance may. Only a column is added: on SQLite the batch adds it with
ALTER TABLE, without rebuilding `message` (its search triggers stay).

`job_turn`: when each channel's background job is due next, moved forward by the instance that runs it, so a
job runs once per turn however many instances there are.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from chathub import models

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", models.UTCDateTime(), nullable=True))
    op.create_table(
        "job_turn",
        sa.Column("channel_id", models.ROW_ID, nullable=False),
        sa.Column("job_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("next_run_at", models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "job_name"),
    )


def downgrade() -> None:
    op.drop_table("job_turn")
    op.drop_column("message", "claimed_until")  # plain DROP COLUMN: a batch would rebuild `message`
