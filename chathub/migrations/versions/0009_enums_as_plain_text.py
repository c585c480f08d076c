"""enums as plain text

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 12:30:00

Enum columns (and the channel type) hold their values as plain VARCHAR, with no database enum type and no CHECK
constraint: a new member (a message kind, a channel) needs no migration, and the channel type is whatever the
driver registry knows. SQLite stored them as VARCHAR without CHECK all along (its lengths are not enforced), so
only PostgreSQL changes: each native enum column becomes VARCHAR and the enum types are dropped.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# (table, column, PostgreSQL enum type, its values as the earlier migrations created them, plus `reaction`)
ENUM_COLUMNS = [
    ("agent", "role", "agentrole", ("admin", "agent")),
    ("channel", "type", "channeltype", ("simulator", "telegram", "whatsapp", "twilio")),
    ("conversation", "status", "conversationstatus", ("open", "pending", "resolved", "snoozed")),
    ("message", "direction", "messagedirection", ("inbound", "outbound")),
    (
        "message",
        "content_type",
        "contenttype",
        ("text", "image", "audio", "video", "file", "location", "contact", "sticker", "reaction", "unsupported"),
    ),
    ("message", "media_status", "mediastatus", ("pending", "stored", "failed")),
    ("message", "status", "messagestatus", ("received", "pending", "sent", "delivered", "read", "failed")),
    ("webhook_log", "status", "webhookstatus", ("received", "processing", "processed", "failed", "rejected")),
]
# Partial indexes whose condition compares an enum column: PostgreSQL cannot carry the condition over to the
# new column type (`varchar = mediastatus`), so they are made again around the change.
PARTIAL_INDEXES = [
    ("message", "ix_message_outbox", ["status", "next_attempt_at"], "status = 'pending'"),
    ("message", "ix_message_media_pending", ["media_status"], "media_status = 'pending'"),
    ("webhook_log", "ix_webhook_log_queue", ["status", "next_attempt_at"], "status IN ('received', 'processing')"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _drop_partial_indexes()
    for table, column, _, _ in ENUM_COLUMNS:
        op.alter_column(table, column, type_=sa.String(), postgresql_using=f"{column}::text")
    for type_name in {type_name for _, _, type_name, _ in ENUM_COLUMNS}:
        op.execute(f"DROP TYPE IF EXISTS {type_name}")
    _create_partial_indexes()


def _drop_partial_indexes() -> None:
    for table, name, _, _ in PARTIAL_INDEXES:
        op.drop_index(name, table_name=table)


def _create_partial_indexes() -> None:
    for table, name, columns, condition in PARTIAL_INDEXES:
        op.create_index(name, table, columns, postgresql_where=sa.text(condition))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _drop_partial_indexes()
    for table, column, type_name, values in ENUM_COLUMNS:
        sa.Enum(*values, name=type_name).create(op.get_bind(), checkfirst=True)
        op.alter_column(
            table, column, type_=sa.Enum(*values, name=type_name), postgresql_using=f"{column}::{type_name}"
        )
    _create_partial_indexes()
