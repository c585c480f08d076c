"""received times and failed replies

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:40:00

`message.received_at` is when an inbound message reached ChatHub, beside its provider time (`created_at`): the
inbox orders by arrival, and a bubble whose provider time is far from it shows both. `conversation.failed_replies`
counts the replies in a conversation that failed to send, so its row in the inbox can say so. Only columns are
added: on SQLite the batch adds them with ALTER TABLE, without rebuilding `message` (its search triggers stay).
Messages stored earlier have no received time (their bubble shows the one time it knows).
"""

import sqlalchemy as sa
from alembic import op

from chathub import models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_at", models.UTCDateTime(), nullable=True))
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_replies", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE conversation SET failed_replies = (SELECT count(*) FROM message "
        "WHERE message.conversation_id = conversation.id AND message.direction = 'outbound' "
        "AND message.status = 'failed')"
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch would rebuild `message` and lose its search triggers.
    op.drop_column("conversation", "failed_replies")
    op.drop_column("message", "received_at")
