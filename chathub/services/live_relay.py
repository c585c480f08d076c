"""Live across instances on one PostgreSQL database: the open tabs of every instance hear what any instance commits.

- Sending (`chathub.relay`): a service announces the ids its write changed, inside the write; the commit carries
  one NOTIFY on the channel `chathub_bus`, `{"from": <instance id>, "events": {"message_created": [ids], ...}}`.
  The service still emits on its own local bus after the commit, exactly as on SQLite.
- Listening (`Listener`, here): each instance LISTENs on one dedicated asyncpg connection (not the pool's), skips
  the notifications it sent itself (its own tabs heard those from the local bus), reloads the rows by id and
  emits them on its local bus (`chathub.bus`), one notification after the other in the order they came. Pages
  subscribe to the local bus as always: none knows whether an event began here or on another instance.
- Typing has no row: `emit_typing` puts the small signal itself in its NOTIFY.
- A webhook worker's claim is told at once, outside its transaction (`{"claimed_webhooks": [[first, last], ...]}`):
  webhooks this instance acknowledged and another's worker took give their place in the backlog to waiting ones.
- A channel changed elsewhere leaves this instance's channel cache before its event is emitted, so webhooks
  here see the change as soon as the notification arrives.
- When the connection drops, what was sent meanwhile is lost: once listening again, the listener emits
  `bus.resynced` and open pages reload what they show (the inbox list, the open thread).

Waiting for relayed events, in a page or a test: subscribe to the local bus (`bus.message_created.subscribe`),
as for local ones. `Listener.listening` is set while the connection listens (a test acting on another
instance waits for it first); the log says "Listening to the other instances" each time it (re)connects.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.engine import make_url
from sqlmodel import col, select

from chathub import db, process_state, relay
from chathub.bus import Bus
from chathub.models import ApiToken, Message, Notification, WebhookLog
from chathub.schemas import (
    AccessChanged,
    ApiTokenUsed,
    CannedResponsesChanged,
    MessageOut,
    NotificationOut,
    NotificationsRead,
    TypingSignal,
    WebhookLogOut,
)
from chathub.services import channels, conversations, webhook_backlog

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0
PING_SECONDS = 10.0  # a connection lost without a word (a cable, a firewall) is noticed within this


class Listener:
    """One instance's LISTEN connection, and the re-emitting of what the other instances announce on its bus."""

    def __init__(self, database_url: str, instance_id: str, bus: Bus) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self.dsn = url.render_as_string(hide_password=False)
        self.instance_id = instance_id
        self.bus = bus
        self.listening = asyncio.Event()
        self.heard: asyncio.Queue[dict] = asyncio.Queue()
        self.tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._deliver())]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _listen(self) -> None:
        connected_before = False
        while True:
            try:
                connection = await self._connect()
            except Exception as error:  # unreachable, or refused (starting up, too many clients): try again
                log.warning("Cannot listen to the other instances yet (%s); trying again", error)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            if connected_before:
                log.info("Listening to the other instances again: open pages resync")
                self.heard.put_nowait({"resync": True})
            else:
                log.info("Listening to the other instances")
            connected_before = True
            self.listening.set()
            try:
                await _until_lost(connection)
            finally:
                self.listening.clear()
                connection.terminate()
            log.warning("The connection listening to the other instances was lost; reconnecting")

    async def _connect(self):
        import asyncpg

        connection = await asyncpg.connect(
            self.dsn, timeout=10, server_settings={"application_name": f"chathub-relay {self.instance_id}"}
        )
        await connection.add_listener(relay.CHANNEL, self._on_notification)
        return connection

    def _on_notification(self, _connection, _pid: int, _channel: str, payload: str) -> None:
        try:
            body = json.loads(payload)
        except ValueError:
            log.warning("An unreadable notification on %s was ignored", relay.CHANNEL)
            return
        if body.get("from") != self.instance_id:
            self.heard.put_nowait(body)

    async def _deliver(self) -> None:
        while True:
            body = await self.heard.get()
            try:
                await self._emit(body)
            except Exception:  # one notification that cannot be reloaded must not end the relay
                log.exception("A change announced by another instance could not be shown here")

    async def _emit(self, body: dict) -> None:
        if body.get("resync"):
            self.bus.resynced.emit()
            return
        if "claimed_webhooks" in body:
            webhook_backlog.claimed_elsewhere(body["claimed_webhooks"])
            return
        if "typing" in body:
            self.bus.typing.emit(TypingSignal.model_validate(body["typing"]))
        events = body.get("events", {})
        for name, emit in EMITTERS.items():
            if events.get(name):
                await emit(self.bus, events[name])


async def _until_lost(connection) -> None:
    lost = asyncio.Event()
    connection.add_termination_listener(lambda _connection: lost.set())
    while not lost.is_set():
        try:
            await asyncio.wait_for(lost.wait(), PING_SECONDS)
        except TimeoutError:
            try:
                await connection.fetchval("SELECT 1", timeout=PING_SECONDS)
            except Exception:
                return


async def _customers_wrote(bus: Bus, counts: list[int]) -> None:
    bus.customers_wrote.emit(sum(counts))


async def _messages(bus: Bus, event_name: str, ids: list[int]) -> None:
    event = getattr(bus, event_name)
    if not event.callbacks:
        return
    async with db.read_session() as session:
        rows = (await session.exec(select(Message).where(col(Message.id).in_(ids)).order_by(Message.id))).all()
    for message in rows:
        event.emit(MessageOut.model_validate(message))


async def _webhook_logged(bus: Bus, ids: list[int]) -> None:
    if not bus.webhook_logged.callbacks:
        return
    async with db.read_session() as session:
        rows = (await session.exec(select(WebhookLog).where(col(WebhookLog.id).in_(ids)).order_by(WebhookLog.id))).all()
    for entry in rows:
        bus.webhook_logged.emit(WebhookLogOut.model_validate(entry))


async def _conversations_updated(bus: Bus, ids: list[int]) -> None:
    """As the worker does for its own batch (services/webhooks): rows are read only where a tab would hear them."""
    if not any(bus.conversation_updated.listened(conversation_id) for conversation_id in ids):
        bus.conversation_updated.changed()
        return
    for conversation in await conversations.conversations_by_id(ids):
        bus.conversation_updated.emit(conversation)


async def _channels_changed(bus: Bus, ids: list[int]) -> None:
    channels.forget_cached(ids)
    if bus.channel_changed.callbacks:
        for channel_id in ids:
            bus.channel_changed.emit(channels.channel_out(await channels.get_channel(channel_id)))


async def _notifications_created(bus: Bus, ids: list[int]) -> None:
    if not bus.notification_created.callbacks:
        return
    async with db.read_session() as session:
        rows = (await session.exec(select(Notification).where(col(Notification.id).in_(ids)))).all()
    for row in sorted(rows, key=lambda row: row.id):
        bus.notification_created.emit(NotificationOut.model_validate(row))


async def _notifications_read(bus: Bus, agent_ids: list[int]) -> None:
    for agent_id in agent_ids:
        bus.notifications_read.emit(NotificationsRead(agent_id=agent_id))


async def _labels_changed(bus: Bus, ids: list[int]) -> None:
    for label_id in ids:
        bus.label_changed.emit(label_id)


async def _access_changed(bus: Bus, agent_ids: list[int]) -> None:
    for agent_id in agent_ids:
        bus.access_changed.emit(AccessChanged(agent_id=agent_id))


async def _api_tokens_used(bus: Bus, ids: list[int]) -> None:
    if not bus.api_token_used.callbacks:
        return
    async with db.read_session() as session:
        tokens = (await session.exec(select(ApiToken).where(col(ApiToken.id).in_(ids)))).all()
    for token in tokens:
        bus.api_token_used.emit(
            ApiTokenUsed(agent_id=token.agent_id, token_id=token.id, last_used_at=token.last_used_at)
        )


async def _canned_responses_changed(bus: Bus, owner_ids: list[int]) -> None:
    for owner_id in owner_ids:  # 0: the team's replies (services.canned_responses.TEAM)
        bus.canned_responses_changed.emit(CannedResponsesChanged(owner_id=owner_id or None))


# In the order a local change emits them: the messages before the conversations they change.
EMITTERS: dict[str, Callable[[Bus, list], Awaitable[None]]] = {
    "customers_wrote": _customers_wrote,
    "message_created": lambda bus, ids: _messages(bus, "message_created", ids),
    "message_status_changed": lambda bus, ids: _messages(bus, "message_status_changed", ids),
    "webhook_logged": _webhook_logged,
    "conversation_updated": _conversations_updated,
    "channel_changed": _channels_changed,
    "label_changed": _labels_changed,
    "notification_created": _notifications_created,
    "notifications_read": _notifications_read,
    "access_changed": _access_changed,
    "api_token_used": _api_tokens_used,
    "canned_responses_changed": _canned_responses_changed,
}


def start() -> None:
    """On PostgreSQL: listen to the other instances for as long as this run lasts (app start-up)."""
    if db.is_sqlite():
        return
    state = process_state.current()
    listener = state.part(Listener, lambda: Listener(state.settings.database_url, relay.instance_id(), state.part(Bus)))
    listener.start()


async def stop() -> None:
    listener = process_state.current().parts.get(Listener)
    if listener is not None:
        await listener.stop()


def emit_typing(signal: TypingSignal) -> None:
    """Someone types: tabs here hear it at once, and the other instances' tabs through a NOTIFY of its own."""
    bus = process_state.current().part(Bus)
    bus.typing.emit(signal)
    if not db.is_sqlite():
        _in_background(_notify_typing(signal))


async def _notify_typing(signal: TypingSignal) -> None:
    try:
        await relay.notify_at_once(db.engine(), typing=signal.model_dump(mode="json"))
    except Exception as error:  # a typing signal is not worth more: the next keystroke sends another
        log.warning("A typing signal did not reach the other instances: %r", error)


class TypingNotices:
    """Typing notifications under way (kept so none is collected before it is sent)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()


def _in_background(coroutine) -> None:
    tasks = process_state.current().part(TypingNotices).tasks
    task = asyncio.create_task(coroutine)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
