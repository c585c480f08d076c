"""team workflow: notes and activity lines, mentions, notifications, canned replies, labels, priority, who sees
what, automatic assignment

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 21:19:23.851438

Existing rows keep their meaning: every message is a message to or from a customer, every conversation has no
priority, every agent sees all conversations, no channel assigns automatically (the server defaults below, which
also cost SQLite no copy of its tables).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from chathub import models

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _id(name: str, **kwargs) -> sa.Column:
    return sa.Column(name, models.ROW_ID, **kwargs)


def _text(name: str, **kwargs) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(), **kwargs)


def _time(name: str, **kwargs) -> sa.Column:
    return sa.Column(name, models.UTCDateTime(), **kwargs)


def _partial(condition: str) -> dict:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.create_table(
        "label",
        _id("id", nullable=False),
        _text("name", nullable=False),
        _text("name_key", nullable=False),
        _text("color", nullable=False),
        _text("description", nullable=False),
        _time("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_key"),
    )
    op.create_table(
        "canned_response",
        _id("id", nullable=False),
        _text("short_code", nullable=False),
        _text("content", nullable=False),
        sa.Column("scope", models.EnumText(models.CannedScope), nullable=False),
        _id("owner_id", nullable=True),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_canned_response_owner_id", "canned_response", ["owner_id"])
    op.create_index("uq_canned_team_code", "canned_response", ["short_code"], unique=True, **_partial("scope = 'team'"))
    op.create_index(
        "uq_canned_personal_code",
        "canned_response",
        ["owner_id", "short_code"],
        unique=True,
        **_partial("scope = 'personal'"),
    )
    op.create_table(
        "conversation_follower",
        _id("conversation_id", nullable=False),
        _id("agent_id", nullable=False),
        _time("created_at", nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.PrimaryKeyConstraint("conversation_id", "agent_id"),
    )
    op.create_index("ix_conversation_follower_agent_id", "conversation_follower", ["agent_id"])
    op.create_table(
        "conversation_label",
        _id("conversation_id", nullable=False),
        _id("label_id", nullable=False),
        _time("created_at", nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.ForeignKeyConstraint(["label_id"], ["label.id"]),
        sa.PrimaryKeyConstraint("conversation_id", "label_id"),
    )
    op.create_index("ix_conversation_label_label_id", "conversation_label", ["label_id"])
    op.create_table(
        "notification",
        _id("id", nullable=False),
        _id("agent_id", nullable=False),
        sa.Column("type", models.EnumText(models.NotificationType), nullable=False),
        _id("conversation_id", nullable=False),
        _id("message_id", nullable=True),
        _id("actor_id", nullable=True),
        _text("text", nullable=False),
        _time("read_at", nullable=True),
        _time("created_at", nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_agent", "notification", ["agent_id", "id"])

    with op.batch_alter_table("agent") as batch_op:
        batch_op.add_column(sa.Column("sees", models.EnumText(models.Visibility), nullable=False, server_default="all"))
        batch_op.add_column(sa.Column("browser_notifications", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(_time("last_assigned_at", nullable=True))
    with op.batch_alter_table("channel") as batch_op:
        batch_op.add_column(sa.Column("auto_assign", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("max_open_per_agent", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("conversation") as batch_op:
        batch_op.add_column(
            sa.Column("priority", models.EnumText(models.Priority), nullable=False, server_default="none")
        )
    with op.batch_alter_table("message") as batch_op:
        batch_op.add_column(
            sa.Column("kind", models.EnumText(models.MessageKind), nullable=False, server_default="message")
        )
        batch_op.add_column(sa.Column("mentions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch_op:
        batch_op.drop_column("mentions")
        batch_op.drop_column("kind")
    with op.batch_alter_table("conversation") as batch_op:
        batch_op.drop_column("priority")
    with op.batch_alter_table("channel") as batch_op:
        batch_op.drop_column("max_open_per_agent")
        batch_op.drop_column("auto_assign")
    with op.batch_alter_table("agent") as batch_op:
        batch_op.drop_column("last_assigned_at")
        batch_op.drop_column("browser_notifications")
        batch_op.drop_column("sees")
    for table in ("notification", "conversation_label", "conversation_follower", "canned_response", "label"):
        op.drop_table(table)
