"""`new_row`, the quick constructor of the busiest inserts, makes the same rows as the model's constructor."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine
from sqlmodel import Session, SQLModel, select

from chathub.models import ContentType, Message, MessageDirection, MessageStatus, new_row

COLUMNS = [column.name for column in Message.__table__.columns if column.name not in ("id", "created_at")]


def test_a_message_from_new_row_is_stored_and_read_back_like_one_from_the_constructor():
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    sent = datetime(2024, 2, 14, 10, 0, tzinfo=UTC)
    with Session(engine) as session:  # no parent rows: plain SQLite leaves foreign keys unchecked
        values = dict(
            conversation_id=7,
            channel_id=3,
            direction=MessageDirection.inbound,
            content_type=ContentType.image,
            content="a photo",
            payload={"caption": "<b>hi</b>"},
            status=MessageStatus.received,
            sent_at=sent,
        )
        made = [Message(external_id="by-constructor", **values), new_row(Message, external_id="by-new-row", **values)]
        assert made[1].attempts == 0 and made[1].media_url is None and made[1].created_at is not None
        session.add_all(made)
        session.commit()
        assert made[1].id == made[0].id + 1

    with Session(engine) as session:
        stored = session.exec(select(Message).order_by(Message.id)).all()
    by_constructor, by_new_row = ({name: getattr(row, name) for name in COLUMNS} for row in stored)
    assert by_new_row.pop("external_id") == "by-new-row"
    by_constructor.pop("external_id")
    assert by_new_row == by_constructor
    assert by_new_row["payload"] == {"caption": "<b>hi</b>"} and by_new_row["sent_at"] == sent
    assert stored[1].created_at >= stored[0].created_at
