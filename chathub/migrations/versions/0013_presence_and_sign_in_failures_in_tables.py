"""presence and sign-in failures in tables

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 18:05:00.000000

Several instances on one database share what was in each process's memory: `sign_in_failure` holds the failed
sign-ins the throttle counts (old rows are deleted as new ones come), `presence_tab` the agents' open tabs, each
row written again by its instance's heartbeat (chathub/services/presence.py).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from chathub import models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failure",
        sa.Column("id", models.ROW_ID, nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("failed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_failure_key_failed_at", "sign_in_failure", ["key", "failed_at"])
    op.create_index("ix_sign_in_failure_failed_at", "sign_in_failure", ["failed_at"])
    op.create_table(
        "presence_tab",
        sa.Column("tab_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("instance_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("agent_id", models.ROW_ID, nullable=False),
        sa.Column("agent_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("conversation_id", models.ROW_ID, nullable=True),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("seen_at", models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tab_id"),
    )
    op.create_index("ix_presence_tab_instance_id", "presence_tab", ["instance_id"])
    op.create_index("ix_presence_tab_seen_at", "presence_tab", ["seen_at"])


def downgrade() -> None:
    op.drop_table("presence_tab")
    op.drop_table("sign_in_failure")
