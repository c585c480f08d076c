"""messages in the customer's order

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 18:00:00
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index("ix_message_conversation_time", ["conversation_id", "created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_conversation_time")
