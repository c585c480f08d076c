"""media, edits and channel problems

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:21:35.891931
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from chathub import models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


MEDIA_STATUS = sa.Enum("pending", "stored", "failed", name="mediastatus")


def upgrade() -> None:
    # PostgreSQL: ADD COLUMN does not create the column's enum type (CREATE TABLE does); SQLite has none
    MEDIA_STATUS.create(op.get_bind(), checkfirst=True)
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.add_column(sa.Column("problem", sqlmodel.sql.sqltypes.AutoString(), nullable=True))

    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("media_status", MEDIA_STATUS, nullable=True))
        batch_op.add_column(sa.Column("media_path", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("media_size", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("edited_at", models.UTCDateTime(), nullable=True))
        batch_op.create_index(
            "ix_message_media_pending",
            ["media_status"],
            unique=False,
            sqlite_where=sa.text("media_status = 'pending'"),
            postgresql_where=sa.text("media_status = 'pending'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_media_pending", sqlite_where=sa.text("media_status = 'pending'"))
        batch_op.drop_column("edited_at")
        batch_op.drop_column("media_size")
        batch_op.drop_column("media_path")
        batch_op.drop_column("media_status")
        batch_op.drop_column("media_ref")

    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_column("problem")

    MEDIA_STATUS.drop(op.get_bind(), checkfirst=True)
