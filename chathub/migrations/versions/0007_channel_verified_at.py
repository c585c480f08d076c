"""channel verified_at

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:45:00

`channel.verified_at` is when the provider last confirmed the channel works (its webhook registration was
accepted or a connection check passed); a recorded problem or new settings clear it. The Channels page calls a
channel verified only then. Only a nullable column is added: on SQLite the batch adds it with ALTER TABLE.
"""

import sqlalchemy as sa
from alembic import op

from chathub import models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_at", models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("channel", "verified_at")
