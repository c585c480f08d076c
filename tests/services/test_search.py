"""Inbox search over message text (SQLite FTS5, PostgreSQL text search): a word from any message finds its
conversation, what an agent types is taken literally (quotes, stars, OR, NEAR), an edited message is found by
its new words, and upgrading a database makes the messages it already holds searchable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from chathub import db
from chathub.drivers.base import InboundMessage
from chathub.models import ContentType
from chathub.services import channels, conversations, search
from chathub.services.inbound import apply_inbound_events
from tests.helpers.api import customer_writes, new_sender

API = "/api/v1/conversations"


async def found(client, auth, q: str) -> list[int]:
    response = await client.get(API, params={"q": q}, headers=auth)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


@pytest.fixture
async def three(client, auth) -> dict[str, int]:
    ann = await customer_writes(client, auth, sender=new_sender(), name="Ann Lee", text="My parcel is late")
    bob = await customer_writes(
        client, auth, sender=new_sender(), name="Bob Ray", text='Use "quotes", * stars OR NEAR(this) please'
    )
    cy = await customer_writes(client, auth, sender=new_sender(), name="Cy Moss", text="Crème brûlée at the café")
    return {"ann": ann["id"], "bob": bob["id"], "cy": cy["id"]}


@pytest.mark.parametrize(
    "q, who",
    [
        ("late", "ann"),
        ("PARCEL", "ann"),
        ("parcel is", "ann"),
        ("parc", "ann"),  # the last word also as a beginning, as the agent types
        ("creme brulee", "cy"),
        ("CAFE", "cy"),  # case and accents do not matter
        ("late parcel", None),
        ("arcel", None),  # a phrase in its order; words, not parts of words
    ],
)
async def test_search_finds_words_of_message_text(client, auth, three, q, who):
    assert await found(client, auth, q) == ([three[who]] if who else [])


@pytest.mark.parametrize(
    "q, who",
    [
        ('"quotes"', "bob"),
        ('"', "bob"),
        ("*", "bob"),
        ("NEAR(", "bob"),
        ("NEAR(this)", "bob"),
        ("stars OR", "bob"),
        ("OR", "bob"),
        ('"* NEAR( OR', None),
        ("parcel OR café", None),
        ("NOT late", None),
        ("AND", None),
        ("parcel AND", None),
        ("content:parcel", None),
        ("{content}", None),
        ("\\", None),
        ("'", None),
        ("\x00", None),
        # punctuation around words is no operator either: the words are searched
        ("parcel*", "ann"),
        ("-parcel", "ann"),
        ("^My", "ann"),
        ("(parcel", "ann"),
        ("late)", "ann"),
    ],
)
async def test_search_takes_quotes_stars_and_operators_literally(client, auth, three, q, who):
    assert await found(client, auth, q) == ([three[who]] if who else [])


async def test_both_search_plans_find_the_same(client, auth, three, monkeypatch):
    """Few matches: look each one up; many: walk the inbox. The answer must not depend on which ran."""
    queries = ["late", "parc", "Ann", "the", "quotes", "nothing like this", "%", "+1555"]
    monkeypatch.setattr(search, "LOOKUP_LIMIT", 10**9)
    looked_up = [await found(client, auth, q) for q in queries]
    monkeypatch.setattr(search, "LOOKUP_LIMIT", 0)
    walked = [await found(client, auth, q) for q in queries]
    assert walked == looked_up
    assert looked_up[0] == [three["ann"]] and looked_up[3] == [three["cy"]]


async def test_search_keeps_filters_and_paging(client, auth):
    sender = new_sender()
    for n in range(3):
        await customer_writes(client, auth, sender=new_sender(), text=f"refund please, order {n}")
    await customer_writes(client, auth, sender=sender, text="no words in common")
    first = (await client.get(API, params={"q": "refund", "limit": 2}, headers=auth)).json()
    second = (
        await client.get(API, params={"q": "refund", "limit": 2, "cursor": first["next_cursor"]}, headers=auth)
    ).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert [c["last_message_preview"] for c in first["items"] + second["items"]] == [
        "refund please, order 2",
        "refund please, order 1",
        "refund please, order 0",
    ]
    assert await found(client, auth, "refund") == [c["id"] for c in first["items"] + second["items"]]
    assert (await client.get(API, params={"q": "refund", "status": "resolved"}, headers=auth)).json()["items"] == []


async def test_an_edited_message_is_found_by_its_new_words_only(client, auth):
    channel = await channels.default_simulator_channel()
    sender = new_sender()

    async def customer_sends(text: str, edited: bool = False) -> None:
        async with db.write_session() as session:
            await apply_inbound_events(
                session,
                channel,
                [
                    InboundMessage(
                        external_id="edit-1",
                        sender_id=sender,
                        content_type=ContentType.text,
                        content=text,
                        edited=edited,
                    )
                ],
            )

    await customer_sends("see you at the harbour")
    [conversation] = await found(client, auth, "harbour")

    await customer_sends("see you at the station", edited=True)

    assert await found(client, auth, "harbour") == []
    assert await found(client, auth, "station") == [conversation]
    assert await search_index_problems() is None


async def test_search_index_and_its_triggers_exist_at_the_newest_revision(client, auth, three):
    """A later migration that rebuilds the message table drops its triggers (SQLite), or one that changes the
    column drops its index (PostgreSQL): this says so."""
    expected = (
        {"message_fts_insert", "message_fts_update", "message_fts_delete"} if db.is_sqlite() else {"ix_message_search"}
    )
    assert expected <= set(await _rows(SEARCH_PARTS_SQLITE if db.is_sqlite() else SEARCH_PARTS_POSTGRESQL))
    assert await search_index_problems() is None


SEARCH_PARTS_SQLITE = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'message'"
SEARCH_PARTS_POSTGRESQL = "SELECT indexname FROM pg_indexes WHERE tablename = 'message'"


async def _rows(query: str) -> list:
    async with db.read_session() as session:
        connection = await session.connection()
        return (await connection.exec_driver_sql(query)).scalars().all()


async def search_index_problems() -> str | None:
    """FTS5's own check that the index holds exactly the words of every message. PostgreSQL's index is over
    an expression of the column itself, kept by the database with every write: there is nothing to drift."""
    if not db.is_sqlite():
        return None
    try:
        async with db.write_session() as session:
            connection = await session.connection()
            await connection.exec_driver_sql("INSERT INTO message_fts(message_fts) VALUES ('integrity-check')")
    except Exception as error:  # noqa: BLE001 - the message is the finding
        return str(error)
    return None


def _alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", db.sync_url(url))
    return config


def write_old_conversation(path: Path, messages: list[tuple[str, str, str]], *, unread: int) -> None:
    """Dora's conversation with these (direction, content, status) messages, written as an older ChatHub would."""
    now = "2024-02-14 10:00:00.000000"
    old = sqlite3.connect(path)
    with old:
        old.execute(
            "INSERT INTO channel (id, type, name, enabled, config, created_at) "
            "VALUES (1, 'simulator', 'Simulator', 1, '{}', ?)",
            (now,),
        )
        old.execute(
            "INSERT INTO customer (id, name, phone, notes, created_at, updated_at) "
            "VALUES (1, 'Dora', '+15550000001', '', ?, ?)",
            (now, now),
        )
        old.execute(
            "INSERT INTO customer_identity (id, customer_id, channel_id, external_id, created_at) "
            "VALUES (1, 1, 1, '+15550000001', ?)",
            (now,),
        )
        old.execute(
            "INSERT INTO conversation (id, customer_id, channel_id, identity_id, status, unread_count, "
            "last_message_at, last_message_preview, created_at) "
            "VALUES (1, 1, 1, 1, 'open', ?, ?, ?, ?)",
            (unread, now, messages[-1][1], now),
        )
        old.executemany(
            "INSERT INTO message (conversation_id, channel_id, direction, content_type, content, "
            "status, attempts, created_at) VALUES (1, 1, ?, 'text', ?, ?, 0, ?)",
            [(*message, now) for message in messages],
        )
    old.close()


async def test_upgrading_a_database_makes_its_existing_messages_searchable(tmp_path: Path):
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    command.upgrade(_alembic(url), "0003")  # a ChatHub from before message search, holding messages
    write_old_conversation(
        path, [("inbound", "The umbrella arrived broken", "received"), ("inbound", "Thanks!", "received")], unread=1
    )

    db.upgrade_schema(url)

    async with db.database_only(url):
        assert [c.id for c in (await conversations.list_conversations(q="umbrella")).items] == [1]
        assert (await conversations.list_conversations(q="parcel")).items == []
        assert (await conversations.list_conversations(unread=True)).items[0].id == 1  # the new unread index
        assert await conversations.unread_conversation_count() == 1
        assert await search_index_problems() is None
