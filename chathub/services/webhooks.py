"""Durable webhook intake and processing.

Every request is written to the webhook log before it is answered. Bad requests are logged `rejected`
with the reason and change nothing else. Accepted ones are processed by the webhook worker: parse, then
apply in one transaction together with the log's own `processed` mark — so a crash either leaves the log
`received` (processed again at start-up) or finished, and message de-duplication by external id makes a
second run harmless. Failures retry with backoff, then end `failed` and can be replayed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, func, or_
from sqlmodel import col, select

from chathub import bus, db, process_state, relay
from chathub.drivers import DRIVERS
from chathub.drivers.base import InboundMessage, InvalidPayload, SignatureError
from chathub.models import Channel, MediaStatus, Message, Notification, WebhookLog, WebhookStatus, utcnow
from chathub.schemas import MessageOut, Page, WebhookLogDetail, WebhookLogOut
from chathub.services import assignment, channels, notifications
from chathub.services.conversations import outs_with_labels
from chathub.services.errors import Conflict, NotFound
from chathub.services.inbound import Announcements, apply_inbound_batch, apply_inbound_events
from chathub.services.paging import clamp_limit, decode_cursor, encode_cursor
from chathub.services.webhook_backlog import Backlog
from chathub.worker import backoff_seconds

log = logging.getLogger(__name__)
WORKER = "webhooks"
# How many logs the worker takes at once. On SQLite a batch holds the one writer while it is processed, and an ack
# may wait for it (db.WriteTurns); on PostgreSQL none does, and at 200 the worker fell behind at 50 connections.
BATCH_SIZES = {"sqlite": 200, "postgresql": 400}
# A batch has a cost whatever its size (a dozen statements, each a trip to the database's thread). Under load the
# worker keeps up by taking many at a time: after a batch of GATHER_FROM or more that took all that was due, it waits
# GATHER_SECONDS for the next to fill. Longer (50 ms) made batches that held the writer long enough to put the
# acks' p99 past 60 ms at 50 connections. A quiet inbox is processed at once.
GATHER_FROM = 20
GATHER_SECONDS = 0.02
OTHER_INSTANCES_POLL_SECONDS = 5.0
CLAIMED_ELSEWHERE_RETRY_SECONDS = 0.5
CHANNEL_BATCH_LOCK = 0x43686174 << 32  # plus a channel's id: its advisory lock on PostgreSQL ("Chat" in ASCII)
KEPT_BODY_OF_REFUSED = 4096  # bytes: a refused request is kept as an excerpt, whoever sent it
KEPT_HEADERS_OF_REFUSED = 4096  # characters of header names and values, likewise
SECRET_HEADER_PARTS = ("authorization", "cookie", "token", "secret", "signature", "api-key", "apikey")


@dataclass(frozen=True)
class IntakeResult:
    http_status: int
    detail: str
    log_id: int
    acknowledgement: tuple[str, str] | None = None  # the provider's own format for a 200 (Twilio's TwiML)

    def response_body(self) -> dict:
        if self.http_status == 200:
            return {"status": "accepted", "webhook_log_id": self.log_id}
        return {"detail": self.detail, "webhook_log_id": self.log_id}


@dataclass
class LogRow:
    """A webhook log row on its way to the database. A plain object: on the busiest path the ORM model
    cost more than the insert itself."""

    channel_type: str
    headers: dict
    body: str
    channel_id: int | None = None
    status: WebhookStatus = WebhookStatus.received
    http_status: int = 200
    attempts: int = 0
    error: str | None = None
    received_at: datetime = field(default_factory=utcnow)
    processed_at: datetime | None = None
    message_id: int | None = None
    id: int | None = None
    events: list | None = field(default=None, repr=False)  # what the driver read: handed to the worker


_LOG_COLUMNS = [f.name for f in fields(LogRow) if f.name not in ("id", "events")]
_LOGS = WebhookLog.__table__


async def _insert_logs(connection, rows: list[LogRow]) -> None:
    """All of them in one statement (`db.insert_returning_ids`); they learn their ids."""
    values = [{name: getattr(row, name) for name in _LOG_COLUMNS} for row in rows]
    ids = await db.insert_returning_ids(connection, _LOGS, values)
    for row, row_id in zip(rows, ids):
        row.id = row_id
    await relay.announce_now(connection, "webhook_logged", *ids)


def _announce_logged(rows: list[LogRow]) -> None:
    backlog = _backlog()
    for row in rows:
        if row.events is not None:
            backlog.hand_over(row.id, row.events)
    for row in rows if bus.webhook_logged.callbacks else ():
        bus.webhook_logged.emit(WebhookLogOut.model_validate(row))
    if any(row.status == WebhookStatus.received for row in rows):
        process_state.current().wake(WORKER)


def _backlog() -> Backlog:
    state = process_state.current()
    return state.part(Backlog, lambda: Backlog(state.settings, keep_events=max(BATCH_SIZES.values())))


class WebhookLogWriter(db.GroupCommit):
    """Webhook log rows, many per commit (see `db.GroupCommit`): this run's one writer."""

    def __init__(self) -> None:
        super().__init__(_insert_logs, after_commit=_announce_logged, urgent=True)


def _log_writer() -> WebhookLogWriter:
    return process_state.current().part(WebhookLogWriter)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name: "[redacted]" if any(part in name.lower() for part in SECRET_HEADER_PARTS) else value
        for name, value in headers.items()
    }


async def receive_webhook(
    *,
    channel_type: str,
    channel_id: int | None,
    body: bytes,
    headers: Mapping[str, str],
    too_large: bool = False,
    timed_out: bool = False,
    query: str = "",
) -> IntakeResult:
    """Check one request, log it durably, and say what to answer. Never raises for bad input.
    `timed_out`: the body did not arrive in time, and `body` is the part that did."""
    headers = {k.lower(): v for k, v in headers.items()}
    row = LogRow(
        channel_type=channel_type, headers=redact_headers(headers), body=body.decode("utf-8", errors="replace")
    )
    status, reason = await _check_request(row, channel_type, channel_id, body, headers, too_large, timed_out, query)
    if status != 200:
        row.status, row.http_status, row.error = WebhookStatus.rejected, status, reason
        row.processed_at = row.received_at
        row.body, row.headers = refused_body_excerpt(body), refused_headers_excerpt(row.headers)
    async with _backlog().place() if status == 200 else nullcontext():
        await _log_writer().insert(row)
    ack = DRIVERS[channel_type].acknowledgement if status == 200 else None
    return IntakeResult(status, reason, row.id, ack)


def refused_body_excerpt(body: bytes) -> str:
    """What a refused request's log keeps of its body: anyone may send one, so never more than a few KiB."""
    text = body[:KEPT_BODY_OF_REFUSED].decode("utf-8", errors="replace")
    return text.encode()[:KEPT_BODY_OF_REFUSED].decode("utf-8", errors="ignore")  # replacements take 3 bytes


def refused_headers_excerpt(headers: dict[str, str]) -> dict[str, str]:
    """The headers, in the order they came, until KEPT_HEADERS_OF_REFUSED characters of names and values."""
    kept, room = {}, KEPT_HEADERS_OF_REFUSED
    for name, value in headers.items():
        if room <= 0:
            break
        name = name[:room]
        kept[name] = value[: room - len(name)]
        room -= len(name) + len(kept[name])
    return kept


async def _check_request(
    row: LogRow,
    channel_type: str,
    channel_id: int | None,
    body: bytes,
    headers: dict[str, str],
    too_large: bool,
    timed_out: bool,
    query: str,
) -> tuple[int, str]:
    channel = await _find_channel(channel_type, channel_id)
    if channel is None or not channel.enabled:
        what = f"{channel_type} channel {channel_id}" if channel_id is not None else f"default {channel_type} channel"
        return 404, f"{what} {'is disabled' if channel else 'does not exist'}"
    row.channel_id = channel.id
    if too_large:
        limit = process_state.current().settings.max_webhook_bytes
        return 413, f"the body is larger than {limit} bytes (first {KEPT_BODY_OF_REFUSED} bytes kept)"
    if timed_out:
        return 408, f"the body did not arrive in time ({len(body)} bytes came, first {KEPT_BODY_OF_REFUSED} bytes kept)"
    driver = channels.driver_for(channel)
    try:
        driver.verify(body, headers, query=query)
        events = driver.parse(body, headers)
        if row.body.encode() != body:  # not UTF-8 (e.g. UTF-16 JSON): the worker parses the logged text, so
            events = driver.parse(row.body.encode(), headers)  # accept only what it reads, or it is lost after a 200
    except SignatureError as error:
        return 401, f"signature rejected: {error}"
    except InvalidPayload as error:
        return 400, f"invalid payload: {error}"
    except Exception as error:  # e.g. RecursionError on JSON nested 100,000 deep: bad input, never a 500
        log.warning("webhook for channel %s: the driver could not read the body: %r", channel.id, error)
        return 400, f"invalid payload: the {channel.type} driver could not read it ({type(error).__name__})"
    row.events = events
    return 200, "accepted"


async def _find_channel(channel_type: str, channel_id: int | None) -> Channel | None:
    if channel_type not in DRIVERS:
        return None
    try:
        if channel_id is None:
            return await channels.default_simulator_channel() if channel_type == "simulator" else None
        if not 0 < channel_id < 2**63:  # beyond what the database can hold: no such channel
            return None
        channel = await channels.get_channel(channel_id)
    except NotFound:
        return None
    return channel if channel.type == channel_type else None


async def answer_handshake(*, channel_type: str, channel_id: int, params: Mapping[str, str]) -> IntakeResult:
    """A provider's GET check of the webhook URL (WhatsApp's hub.challenge). Failures are logged like any
    rejected webhook; a success is answered and logged as processed (it carries no message)."""
    row = LogRow(channel_type=channel_type, headers={}, body=json.dumps(redact_headers(dict(params))))
    channel = await _find_channel(channel_type, channel_id)
    status, detail = 200, ""
    if channel is None or not channel.enabled:
        status, detail = 404, f"{channel_type} channel {channel_id} {'is disabled' if channel else 'does not exist'}"
    else:
        row.channel_id = channel.id
        try:
            detail = channels.driver_for(channel).answer_handshake(params)
        except SignatureError as error:
            status, detail = 403, f"webhook verification refused: {error}"
    row.status = WebhookStatus.processed if status == 200 else WebhookStatus.rejected
    row.http_status, row.error = status, None if status == 200 else detail
    if status != 200:
        row.body = refused_body_excerpt(row.body.encode())
    row.processed_at = row.received_at
    await _log_writer().insert(row)
    return IntakeResult(status, detail, row.id)


async def process_due_webhooks() -> float | None:
    """Worker step: claim a batch of due logs and process them in one transaction (see `_process_batch`)."""
    now = utcnow()
    logs, announcements, told = await db.write_retrying(lambda session: _claim_and_process(session, now))
    notifications.emit(told)
    if not logs:
        return await _until_due(now)
    await _announce_batch(logs, announcements)
    if GATHER_FROM <= len(logs) < _batch_size():
        await asyncio.sleep(GATHER_SECONDS)
    return 0


def _batch_size() -> int:
    return BATCH_SIZES["sqlite" if db.is_sqlite() else "postgresql"]


async def _until_due(now: datetime) -> float | None:
    """Nothing was claimed: when to look again."""
    async with db.read_session() as session:
        if (await session.exec(_due_logs(WebhookLog.id, limit=1), params={"now": now})).first() is not None:
            return CLAIMED_ELSEWHERE_RETRY_SECONDS  # another instance's batch: it ends processed, or unlocked for us
        later = (
            await session.exec(
                select(func.min(WebhookLog.next_attempt_at)).where(
                    col(WebhookLog.status).in_([WebhookStatus.received, WebhookStatus.processing])
                )
            )
        ).one()
    _backlog().empty()
    return max(0.05, (later - now).total_seconds()) if later else _poll_seconds()


async def _announce_batch(logs: list, announcements: list[Announcements | None]) -> None:
    """Tell this process's open tabs; nothing is built for the bus where no tab listens."""
    conversations: dict[int, tuple] = {}  # each once, as the batch left it: every open tab hears it
    new_messages = sum(len(announcement.created) for announcement in announcements if announcement)
    if new_messages:
        bus.customers_wrote.emit(new_messages)
    logged = await _logs_as_processed([entry.id for entry in logs]) if bus.webhook_logged.callbacks else {}
    for entry, announcement in zip(logs, announcements):
        heard = _announce(announcement, conversations)
        if entry.id in logged:
            bus.webhook_logged.emit(logged[entry.id])
            heard = True
        if heard:
            # Every open tab is updated right here, in this task: between two webhooks, let requests and the
            # tabs' heartbeats in (a batch drawn in one go held the loop long enough for tabs to drop).
            await asyncio.sleep(0)
    if any(bus.conversation_updated.listened(conversation_id) for conversation_id in conversations):
        for conversation in await outs_with_labels(conversations.values()):
            bus.conversation_updated.emit(conversation)
    elif conversations:
        bus.conversation_updated.changed()


async def _logs_as_processed(log_ids: list[int]) -> dict[int, WebhookLogOut]:
    """The batch's logs as its commit left them, for the webhook logs page (the worker read only a few columns)."""
    async with db.read_session() as session:
        found = (await session.exec(select(WebhookLog).where(col(WebhookLog.id).in_(log_ids)))).all()
    return {entry.id: WebhookLogOut.model_validate(entry) for entry in found}


async def _claim_and_process(
    session, now: datetime
) -> tuple[list[WebhookLog], list[Announcements | None], list[Notification]]:
    """On PostgreSQL the batch is claimed with `FOR UPDATE SKIP LOCKED`: instances on one database never take the
    same log, and the claim ends with the transaction that marks the logs processed. The agents following the
    conversations customers wrote to are told in the same transaction."""
    claim = _due_logs(*(_LOGS.c[key] for key in _CLAIMED), limit=_batch_size(), claimed=not db.is_sqlite())
    logs = list((await (await session.connection()).execute(claim, {"now": now})).all())
    if not logs:
        return [], [], []
    # Room opens as soon as they are claimed, not once stored: with two instances a batch waits about as long for the
    # other's to end (`_take_channels`) as it takes, and acks waiting for room waited all of that too.
    ids = [entry.id for entry in logs]
    handed = _backlog().take(ids)
    if not db.is_sqlite():
        await _tell_other_instances_claimed(ids)
        await _take_channels(session, logs)
    announcements = await _process_batch(session, logs, handed)
    _relay_batch(session, logs, announcements)
    told = await notifications.add_customer_replies(
        session, [refs for announcement in announcements if announcement for refs in announcement.created]
    )
    return logs, announcements, told


async def _tell_other_instances_claimed(log_ids: list[int]) -> None:
    """At once, not with the batch's commit: the webhooks they acknowledged may take those logs' places now."""
    runs: list[list[int]] = []  # [first, last] ids: a batch's ids are mostly consecutive
    for log_id in log_ids:
        if runs and runs[-1][1] + 1 == log_id:
            runs[-1][1] = log_id
        else:
            runs.append([log_id, log_id])
    # Untold (too many runs for one NOTIFY, or a failure), an instance gives its places back later: at its own
    # worker's next claim, or once nothing is due there.
    try:
        await relay.notify_at_once(db.engine(), claimed_webhooks=runs)
    except Exception as error:
        log.warning("Could not tell the other instances which webhooks were claimed: %r", error)


async def _take_channels(session, logs: list) -> None:
    """On PostgreSQL, one batch at a time per channel across instances, until its transaction ends. Two batches of
    one channel at once met on the same senders (a customer's messages arrive at both instances) and deadlocked:
    one made a sender's identity while the other, holding that sender's conversation, waited for it. PostgreSQL
    finds such a cycle only after its deadlock_timeout (1 s); ack p99 went past 2 s with two instances."""
    connection = await session.connection()
    for channel_id in sorted({entry.channel_id for entry in logs if entry.channel_id is not None}):
        await connection.execute(_channel_lock(), {"key": CHANNEL_BATCH_LOCK + channel_id})


@cache
def _channel_lock():
    return select(func.pg_advisory_xact_lock(bindparam("key")))


def _poll_seconds() -> float | None:
    """Nothing waits: on SQLite sleep until this process's intake wakes the worker. On PostgreSQL another instance
    may accept webhooks (and usually processes them itself): look again soon, in case it stopped first."""
    return None if db.is_sqlite() else OTHER_INSTANCES_POLL_SECONDS


async def _process_batch(session, logs: list[WebhookLog], handed: dict[int, list]) -> list[Announcements | None]:
    """The whole batch in one savepoint, with shared lookups and one flush. If anything in it fails, the
    batch is done again one log at a time, each in its own savepoint, so one bad webhook holds up no other."""
    ids = [entry.id for entry in logs]
    try:
        async with session.begin_nested():
            return await _process_together(session, logs, handed)
    except Exception as error:
        if db.is_retryable(error):  # met another instance's transaction: the whole unit of work runs again
            raise
        log.info("webhook batch of %d: %r; processing them one by one", len(logs), error)
        # The rows the batch wrote with Core and attached (db.insert_rows) are gone with its savepoint, but the
        # session still holds them as loaded: start the one-by-one pass from an empty identity map.
        session.expunge_all()
        entries = {
            entry.id: entry
            for entry in (await session.exec(select(WebhookLog).where(col(WebhookLog.id).in_(ids)))).all()
        }
        return [await _process_one(session, entries[log_id]) for log_id in ids]


async def _process_together(session, logs: list, handed: dict[int, list]) -> list[Announcements | None]:
    """`handed`: the events intake read, by log id (`Backlog.take`); the other logs are read and parsed here."""
    texts = await _bodies(session, [entry.id for entry in logs if entry.id not in handed])
    parsed = [await _parse(entry, handed.get(entry.id), *texts.get(entry.id, ("", {}))) for entry in logs]
    results = await apply_inbound_batch(session, [None if isinstance(item, str) else item for item in parsed])
    outcomes = [
        _outcome(entry, result if result is not None else item) for entry, item, result in zip(logs, parsed, results)
    ]
    await _write_outcomes(session, logs, outcomes)
    return results


async def _bodies(session, log_ids: list[int]) -> dict[int, tuple[str, dict]]:
    """The body and headers of logs whose events intake did not hand over."""
    connection = await session.connection()
    found = {}
    for start in range(0, len(log_ids), 500):
        chunk = log_ids[start : start + 500]
        query = select(_LOGS.c.id, _LOGS.c.body, _LOGS.c.headers).where(_LOGS.c.id.in_(chunk))
        found.update({log_id: (body, headers) for log_id, body, headers in await connection.execute(query)})
    return found


async def _write_outcomes(session, logs: list, outcomes: list[dict]) -> None:
    """The batch's log rows marked in one statement (`db.update_rows`), not through the unit of work."""
    await db.update_rows(session, _LOGS, [{"id": entry.id, **outcome} for entry, outcome in zip(logs, outcomes)])


_OUTCOME_KEYS = ("attempts", "status", "error", "processed_at", "next_attempt_at", "message_id")


async def _parse(entry, events: list | None, body: str, headers: dict) -> tuple[Channel, list] | str:
    """The log's channel and events (those intake read, or read now from `body`), or why they cannot be read."""
    try:
        channel = await channels.get_channel(entry.channel_id)
        if events is not None:
            return channel, events
        return channel, channels.driver_for(channel).parse(body.encode(), headers)
    except Exception as error:
        return f"{type(error).__name__}: {error}"


# What the worker reads of a log it claims: not its body, which intake handed over already (`Backlog.hand_over`).
_CLAIMED = ("id", "channel_id", "attempts", "status", "message_id", "processed_at")


@cache
def _due_logs(*what, limit: int, claimed: bool = False):
    """The first `limit` logs due at the bound `now` (built once: SQLModel's select costs more than its run)."""
    query = (
        select(*what)
        .where(col(WebhookLog.status).in_([WebhookStatus.received, WebhookStatus.processing]))
        .where(or_(col(WebhookLog.next_attempt_at).is_(None), col(WebhookLog.next_attempt_at) <= bindparam("now")))
        .order_by(WebhookLog.id)
        .limit(limit)
    )
    return query.with_for_update(skip_locked=True) if claimed else query


async def _process_one(session, entry: WebhookLog) -> Announcements | None:
    parsed = await _parse(entry, None, entry.body, entry.headers)
    result: Announcements | str = parsed if isinstance(parsed, str) else "not processed"
    try:
        if not isinstance(parsed, str):
            async with session.begin_nested():
                result = await apply_inbound_events(session, *parsed)
    except Exception as error:  # recorded on the log row; the worker goes on with the next
        if db.is_retryable(error):
            raise
        result = f"{type(error).__name__}: {error}"
    for key, value in _outcome(entry, result).items():
        setattr(entry, key, value)
    session.add(entry)
    return None if isinstance(result, str) else result


def _outcome(entry: WebhookLog, result: Announcements | str) -> dict:
    """The log's new values after this attempt: processed, or (`result` says why not) due again or failed."""
    attempts = entry.attempts + 1
    if isinstance(result, Announcements):
        message_id = result.first_message_id
        if result.unknown_receipt is None:
            return _values(attempts, WebhookStatus.processed, None, utcnow(), None, message_id)
        result = f"UnknownMessage: {result.unknown_receipt}"  # the messages it carried stay stored; it is retried
    else:
        message_id = entry.message_id
    settings = process_state.current().settings
    if attempts >= settings.max_attempts:
        return _values(attempts, WebhookStatus.failed, result, utcnow(), None, message_id)
    due = utcnow() + timedelta(seconds=backoff_seconds(attempts, settings.retry_base_seconds))
    return _values(attempts, entry.status, result, entry.processed_at, due, message_id)


def _values(*values) -> dict:
    return dict(zip(_OUTCOME_KEYS, values))


def _relay_batch(session, logs: list[WebhookLog], announcements: list[Announcements | None]) -> None:
    """What the batch changed, for the other instances (`chathub.relay`): the ids of what `_announce` emits here."""
    done = [announcement for announcement in announcements if announcement]
    if new_messages := sum(len(announcement.created) for announcement in done):
        relay.announce(session, "customers_wrote", new_messages)
    for announcement in done:
        relay.announce(session, "message_created", *(message.id for message in announcement.created_messages()))
        relay.announce(session, "message_status_changed", *(message.id for message in announcement.messages_changed))
        relay.announce(
            session,
            "conversation_updated",
            *(refs[1].id for refs in announcement.created),
            *(refs[0].id for refs in announcement.conversations_changed),
        )
    relay.announce(session, "webhook_logged", *(entry.id for entry in logs))


def _announce(result: Announcements | None, conversations: dict[int, tuple]) -> bool:
    """Whether a tab heard of it."""
    if result is None:
        return False
    heard = bool(result.messages_changed)
    for message in result.created_messages():
        if bus.message_created.listened(message.conversation_id):  # no model to build when no tab listens
            bus.message_created.emit(MessageOut.model_validate(message))
            heard = True
    for message in result.messages_changed:
        bus.message_status_changed.emit(message)
    if result.media_pending:
        process_state.current().wake("media")
    if result.assignment_due:
        assignment.wake()
    for conversation, customer, channel in [refs for _, *refs in result.created] + result.conversations_changed:
        conversations.pop(conversation.id, None)  # keeps the order of the latest change
        conversations[conversation.id] = (conversation, customer, channel)
    return heard


async def replay_webhook(log_id: int) -> WebhookLogOut:
    """Queue a failed (or processed) log for processing again; rejected ones were never accepted. Files of
    its messages that ended failed are fetched again."""
    async with db.write_session() as session:
        entry = await session.get(WebhookLog, log_id)
        if entry is None:
            raise NotFound(f"webhook log {log_id} does not exist")
        if entry.status not in (WebhookStatus.failed, WebhookStatus.processed):
            raise Conflict(f"a {entry.status.value} webhook cannot be replayed")
        entry.status, entry.attempts, entry.error = WebhookStatus.received, 0, None
        entry.next_attempt_at = entry.processed_at = None
        session.add(entry)
        refetched = await _fetch_failed_media_again(session, entry)
        relay.announce(session, "webhook_logged", entry.id)
        relay.announce(session, "message_status_changed", *(message.id for message in refetched))
    out = WebhookLogOut.model_validate(entry)
    bus.webhook_logged.emit(out)
    for message in refetched:
        bus.message_status_changed.emit(MessageOut.model_validate(message))
    process_state.current().wake(WORKER)
    if refetched:
        process_state.current().wake("media")
    return out


async def _fetch_failed_media_again(session, entry: WebhookLog) -> list[Message]:
    """Processing again leaves a stored message as it is, so a file whose fetch ended failed (an outage or a
    full disk that outlasted the retries) is put back in the media worker's queue here."""
    parsed = await _parse(entry, None, entry.body, entry.headers)
    if isinstance(parsed, str):
        return []
    external_ids = [event.external_id for event in parsed[1] if isinstance(event, InboundMessage)]
    if not external_ids:
        return []
    messages = list(
        (
            await session.exec(
                select(Message).where(
                    Message.channel_id == entry.channel_id,
                    col(Message.external_id).in_(external_ids),
                    Message.media_status == MediaStatus.failed,
                    col(Message.media_ref).is_not(None),
                )
            )
        ).all()
    )
    for message in messages:
        message.media_status, message.error, message.attempts = MediaStatus.pending, None, 0
        session.add(message)
    return messages


async def list_webhook_logs(
    *,
    status: WebhookStatus | None = None,
    channel_type: str | None = None,
    channel_id: int | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[WebhookLogOut]:
    limit = clamp_limit(limit)
    query = select(WebhookLog).order_by(col(WebhookLog.id).desc()).limit(limit + 1)
    if status is not None:
        query = query.where(WebhookLog.status == status)
    if channel_type:
        query = query.where(WebhookLog.channel_type == channel_type)
    if channel_id is not None:
        query = query.where(WebhookLog.channel_id == channel_id)
    if since is not None:
        query = query.where(WebhookLog.received_at >= since)
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        query = query.where(WebhookLog.id < int(last_id))
    async with db.read_session() as session:
        rows = list((await session.exec(query)).all())
    page = rows[:limit]
    return Page(
        items=[WebhookLogOut.model_validate(r) for r in page],
        next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None,
    )


async def get_webhook_log(log_id: int) -> WebhookLogDetail:
    async with db.read_session() as session:
        entry = await session.get(WebhookLog, log_id)
    if entry is None:
        raise NotFound(f"webhook log {log_id} does not exist")
    return WebhookLogDetail.model_validate(entry)


def pretty_body(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


async def queue_depths() -> dict[str, int]:
    async with db.read_session() as session:
        waiting = (
            await session.exec(
                select(func.count()).where(
                    col(WebhookLog.status).in_([WebhookStatus.received, WebhookStatus.processing])
                )
            )
        ).one()
        failed_24h = (
            await session.exec(
                select(func.count()).where(
                    WebhookLog.status == WebhookStatus.failed,
                    col(WebhookLog.received_at) >= utcnow() - timedelta(hours=24),
                )
            )
        ).one()
    return {"webhooks_waiting": waiting, "webhooks_failed_24h": failed_24h}


async def conversation_id_of_message(*, message_id: int) -> int | None:
    """The conversation a logged webhook's message belongs to (None when the message is gone)."""
    async with db.read_session() as session:
        return (await session.exec(select(Message.conversation_id).where(Message.id == message_id))).first()
