"""The sending half of the live relay between instances on one PostgreSQL database (the whole picture, and the
listening half, are in `chathub.services.live_relay`).

A service whose write changes what open tabs show calls `announce(session, "message_created", message.id)` inside
that write (`announce_now` in a write without a session), then emits on its local bus after the commit as always.
The commit carries one NOTIFY for the whole transaction, sent on the same connection just before COMMIT, so other
instances hear of a change only once it is committed (a rolled back write sends nothing). The NOTIFY holds ids,
never rows: its payload is capped at 8,000 bytes; a transaction that announced more than fits asks the others to
resync instead.

On SQLite there is one instance: `announce` does nothing and the local bus is all there is.
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import event, text
from sqlmodel import Session

CHANNEL = "chathub_bus"
PAYLOAD_LIMIT = 7900  # bytes; PostgreSQL refuses a NOTIFY payload of 8,000
COUNTS = frozenset({"customers_wrote"})  # events that carry a number, not ids: summed, never de-duplicated
_PENDING = "relay_pending"


# This process's name among the instances: each skips the notifications it sent itself (its tabs heard them).
# One per process, not per run, so a run's commits and its listener always agree on it.
INSTANCE_ID = uuid.uuid4().hex[:16]


def instance_id() -> str:
    return INSTANCE_ID


class RelayedSession(Session):
    """The sessions of a PostgreSQL database: their commit tells the other instances what they announced."""


def announce(session, event_name: str, *ids: int) -> None:
    """Inside a write: once committed, the other instances reload these rows and emit `event_name` for them."""
    sync_session = getattr(session, "sync_session", session)
    if isinstance(sync_session, RelayedSession):
        sync_session.info.setdefault(_PENDING, {}).setdefault(event_name, []).extend(ids)


async def announce_now(connection, event_name: str, *ids: int) -> None:
    """`announce` for a write made with statements alone (a Core connection, no session): its NOTIFY is sent at
    once, inside its transaction, so it is still heard only once committed."""
    if connection.dialect.name == "postgresql":
        await connection.execute(notify_statement(notification({event_name: list(ids)})))


def notification(events: dict[str, list]) -> str:
    """The NOTIFY payload for these events: their ids, or a request to resync when they do not fit."""
    body = {name: [sum(values)] if name in COUNTS else list(dict.fromkeys(values)) for name, values in events.items()}
    payload = json.dumps({"from": instance_id(), "events": body}, separators=(",", ":"))
    if len(payload.encode()) > PAYLOAD_LIMIT:
        payload = json.dumps({"from": instance_id(), "resync": True})
    return payload


async def notify_at_once(engine, **body) -> bool:
    """A notice outside any transaction, heard by the other instances now (what `body` says, with this instance's
    name). False when it does not fit one NOTIFY: nothing is sent."""
    payload = json.dumps({"from": instance_id(), **body}, separators=(",", ":"))
    if len(payload.encode()) > PAYLOAD_LIMIT:
        return False
    async with engine.begin() as connection:
        await connection.execute(notify_statement(payload))
    return True


def notify_statement(payload: str):
    return text("SELECT pg_notify(:channel, :payload)").bindparams(channel=CHANNEL, payload=payload)


@event.listens_for(RelayedSession, "before_commit")
def _notify_announced(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint's release: the transaction's own commit notifies
        return
    session.flush()  # a change still pending may announce more; the commit's own flush would come too late
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.connection().execute(notify_statement(notification(pending)))


@event.listens_for(RelayedSession, "after_transaction_end")
def _forget_rolled_back(session: Session, transaction) -> None:
    if transaction.parent is None:  # the whole transaction ended (committed or rolled back), not a savepoint
        session.info.pop(_PENDING, None)
