"""browser sessions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 08:45:00

A signed-in browser is a row: sign-out, a password change and a deactivation end rows, so a copied session
cookie stops working (before, the sign-in lived only in NiceGUI's per-browser storage).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from chathub import models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "browser_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", models.UTCDateTime(), nullable=False),
        sa.Column("ended_at", models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("browser_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_browser_session_agent_id"), ["agent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("browser_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_browser_session_agent_id"))
    op.drop_table("browser_session")
