"""Who is here: agents' open tabs, what each views, who is typing where; announced on the bus for the live UI.

An instance keeps its own tabs in memory. On PostgreSQL, where several instances may share the database, its
heartbeat (a worker) writes them to `presence_tab` every few seconds, and at once after a change, and reads the
other instances' rows: what an agent sees (viewers, the collision warning, presence) is every instance's tabs.
A row not written again within GONE_AFTER_SECONDS is an instance that stopped: its tabs drop out. On SQLite
there is one process, so memory is the whole picture and no heartbeat runs.

Presence: online (a connected tab the agent is looking at), away (tabs connected but all hidden),
offline (no tab). Typing signals expire by themselves; both sides are throttled.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, delete, select

from chathub import bus, db, process_state
from chathub.models import (
    Agent,
    Conversation,
    Customer,
    CustomerIdentity,
    Message,
    MessageDirection,
    PresenceTab,
    utcnow,
)
from chathub.schemas import PresenceChanged, TypingSignal, ViewersChanged
from chathub.services import channels

log = logging.getLogger(__name__)
TYPING_SECONDS = 6.0  # how long one signal shows
AGENT_SIGNAL_EVERY = 3.0  # at most one agent signal per conversation and agent this often
CUSTOMER_SIGNAL_EVERY = 5.0  # at most one typing action to the provider per conversation this often
WORKER = "presence"  # the heartbeat
HEARTBEAT_SECONDS = 2.0
GONE_AFTER_SECONDS = 10.0  # five heartbeats missed: the instance has stopped (or hangs)


@dataclass
class Tab:
    agent_id: int
    agent_name: str
    conversation_id: int | None = None
    connected: bool = True
    visible: bool = True


class Presence:
    """This run's open tabs, when each kind of typing signal last went out, and typing hints on their way to
    providers (held so they are not garbage-collected)."""

    def __init__(self) -> None:
        self.instance_id = uuid.uuid4().hex
        self.tabs: dict[str, Tab] = {}
        self.elsewhere: dict[str, Tab] = {}  # other instances' tabs, as the last heartbeat read them
        self.last_signal: dict[tuple, float] = {}
        self.provider_tasks: set[asyncio.Task] = set()


def here() -> Presence:
    return process_state.current().part(Presence)


def _tab(tab_id: str) -> Tab | None:
    """The tab's entry; none once the app has stopped (tabs go on disconnecting after it)."""
    return here().tabs.get(tab_id) if process_state.is_started() else None


def tab_count() -> int:
    return len(here().tabs)


def tab_opened(tab_id: str, agent: Agent, *, conversation_id: int | None = None) -> None:
    _change(tab_id, lambda: here().tabs.__setitem__(tab_id, Tab(agent.id, agent.name, conversation_id)), agent.id)


def tab_connected(tab_id: str, connected: bool) -> None:
    tab = _tab(tab_id)
    if tab is not None and tab.connected != connected:
        _change(tab_id, lambda: setattr(tab, "connected", connected), tab.agent_id)


def tab_visible(tab_id: str, visible: bool) -> None:
    tab = _tab(tab_id)
    if tab is not None and tab.visible != visible:
        _change(tab_id, lambda: setattr(tab, "visible", visible), tab.agent_id)


def tab_closed(tab_id: str) -> None:
    tab = _tab(tab_id)
    if tab is not None:
        _change(tab_id, lambda: here().tabs.pop(tab_id, None), tab.agent_id)


def _change(tab_id: str, mutate, agent_id: int) -> None:
    """Apply a change to the tabs and announce what it changed for others to see."""
    before_status = agent_status(agent_id)
    before_conversation = _viewed(tab_id)
    mutate()
    after_conversation = _viewed(tab_id)
    for conversation_id in {before_conversation, after_conversation} - {None}:
        bus.viewers_changed.emit(ViewersChanged(conversation_id=conversation_id, viewers=viewers(conversation_id)))
    if agent_status(agent_id) != before_status:
        bus.presence_changed.emit(PresenceChanged(agent_id=agent_id, status=agent_status(agent_id)))
    process_state.current().wake(WORKER)  # the other instances hear of it at their next heartbeat


def _viewed(tab_id: str) -> int | None:
    tab = _tab(tab_id)
    return tab.conversation_id if tab is not None and tab.connected else None


def _every_tab() -> Iterator[Tab]:
    """This instance's tabs and the other instances' ones."""
    return chain(here().tabs.values(), here().elsewhere.values())


def viewers(conversation_id: int) -> dict[int, str]:
    return {t.agent_id: t.agent_name for t in _every_tab() if t.conversation_id == conversation_id and t.connected}


def is_being_read(conversation_id: int) -> bool:
    """Whether an agent has the conversation open in a tab they are looking at."""
    return any(t.conversation_id == conversation_id and t.connected and t.visible for t in _every_tab())


def agent_status(agent_id: int) -> str:
    connected = [t for t in _every_tab() if t.agent_id == agent_id and t.connected]
    if not connected:
        return "offline"
    return "online" if any(t.visible for t in connected) else "away"


def _throttled(key: tuple, every: float) -> bool:
    now, last_signal = time.monotonic(), here().last_signal
    if now - last_signal.get(key, float("-inf")) < every:
        return True
    last_signal[key] = now
    return False


def agent_typing(conversation_id: int, agent: Agent) -> None:
    """An agent types in a thread: other agents there see it, and so does the customer where the
    channel can show it."""
    if _throttled(("agent", conversation_id, agent.id), AGENT_SIGNAL_EVERY):
        return
    bus.typing.emit(
        TypingSignal(conversation_id=conversation_id, name=agent.name, agent_id=agent.id, expires_at=_expiry())
    )
    if not _throttled(("provider", conversation_id), CUSTOMER_SIGNAL_EVERY):
        task = asyncio.create_task(_tell_customer(conversation_id))
        here().provider_tasks.add(task)
        task.add_done_callback(here().provider_tasks.discard)


def agent_sent(conversation_id: int, agent: Agent) -> None:
    """An agent's reply went out (the others stop showing them as typing when it arrives): their next
    keystroke is a new reply, signalled at once rather than held back by the last one's throttle."""
    here().last_signal.pop(("agent", conversation_id, agent.id), None)


async def customer_typing(*, channel_id: int, external_id: str) -> bool:
    """The customer types (the simulator pane): agents viewing their conversation see it."""
    if _throttled(("customer", channel_id, external_id), AGENT_SIGNAL_EVERY):
        return False
    async with db.read_session() as session:
        row = (
            await session.exec(
                select(Conversation.id, Customer.name)
                .join(CustomerIdentity, CustomerIdentity.id == Conversation.identity_id)
                .join(Customer, Customer.id == Conversation.customer_id)
                .where(CustomerIdentity.channel_id == channel_id, CustomerIdentity.external_id == external_id)
                .order_by(col(Conversation.id).desc())
                .limit(1)
            )
        ).first()
    if row is None:
        return False
    bus.typing.emit(TypingSignal(conversation_id=row[0], name=row[1], expires_at=_expiry()))
    return True


async def _tell_customer(conversation_id: int) -> None:
    async with db.read_session() as session:
        row = (
            await session.exec(
                select(Conversation.channel_id, CustomerIdentity.external_id)
                .join(CustomerIdentity, CustomerIdentity.id == Conversation.identity_id)
                .where(Conversation.id == conversation_id)
            )
        ).first()
    if row is None:
        return
    channel = await channels.get_channel(row[0])
    if not channel.enabled or not channels.driver_for(channel).capabilities.supports_typing:
        return
    try:
        await channels.driver_for(channel).send_typing(row[1], last_inbound_id=await _last_inbound_id(conversation_id))
    except Exception as error:  # a typing hint is never worth an error page
        log.info("typing signal to %s failed: %s", channel.name, error)


async def _last_inbound_id(conversation_id: int) -> str | None:
    async with db.read_session() as session:
        return (
            await session.exec(
                select(Message.external_id)
                .where(Message.conversation_id == conversation_id, Message.direction == MessageDirection.inbound)
                .order_by(col(Message.id).desc())
                .limit(1)
            )
        ).first()


def _expiry() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=TYPING_SECONDS)


def tab_views(tab_id: str, conversation_id: int | None) -> None:
    tab = _tab(tab_id)
    if tab is not None and tab.conversation_id != conversation_id:
        _change(tab_id, lambda: setattr(tab, "conversation_id", conversation_id), tab.agent_id)


async def heartbeat() -> float:
    """Write this instance's tabs, forget instances gone silent, read the others' tabs and announce what that
    changed. Returns the seconds until the next beat (a worker's step)."""
    try:
        await _share_tabs()
    except (SQLAlchemyError, OSError) as error:  # the database is away: the next beat tries again
        log.warning("presence heartbeat failed; other instances' agents are shown as last read: %s", error)
    return HEARTBEAT_SECONDS


async def _share_tabs() -> None:
    state, now = here(), utcnow()
    rows = [
        PresenceTab(
            tab_id=tab_id,
            instance_id=state.instance_id,
            agent_id=tab.agent_id,
            agent_name=tab.agent_name,
            conversation_id=tab.conversation_id,
            connected=tab.connected,
            visible=tab.visible,
            seen_at=now,
        )
        for tab_id, tab in state.tabs.items()
    ]
    async with db.write_session() as session:
        await session.exec(delete(PresenceTab).where(col(PresenceTab.instance_id) == state.instance_id))
        session.add_all(rows)
    cutoff = now - timedelta(seconds=GONE_AFTER_SECONDS)
    async with db.write_session() as session:
        await session.exec(delete(PresenceTab).where(col(PresenceTab.seen_at) < cutoff))
    async with db.read_session() as session:
        found = (
            await session.exec(
                select(PresenceTab).where(PresenceTab.instance_id != state.instance_id, PresenceTab.seen_at >= cutoff)
            )
        ).all()
    _see_elsewhere({row.tab_id: _tab_of(row) for row in found})


def _tab_of(row: PresenceTab) -> Tab:
    return Tab(row.agent_id, row.agent_name, row.conversation_id, row.connected, row.visible)


def _see_elsewhere(tabs: dict[str, Tab]) -> None:
    """Take the other instances' tabs as read, and announce the viewers and statuses that changed."""
    state = here()
    both = [*state.elsewhere.values(), *tabs.values()]
    conversation_ids = {t.conversation_id for t in both} - {None}
    agent_ids = {t.agent_id for t in both}
    viewers_before = {conversation_id: viewers(conversation_id) for conversation_id in conversation_ids}
    status_before = {agent_id: agent_status(agent_id) for agent_id in agent_ids}
    state.elsewhere = tabs
    for conversation_id, before in viewers_before.items():
        if (now_viewing := viewers(conversation_id)) != before:
            bus.viewers_changed.emit(ViewersChanged(conversation_id=conversation_id, viewers=now_viewing))
    for agent_id, before in status_before.items():
        if (status := agent_status(agent_id)) != before:
            bus.presence_changed.emit(PresenceChanged(agent_id=agent_id, status=status))


async def leave() -> None:
    """At stop: this instance's tabs leave the table at once rather than when their rows expire."""
    if db.is_sqlite():
        return
    try:
        async with db.write_session() as session:
            await session.exec(delete(PresenceTab).where(col(PresenceTab.instance_id) == here().instance_id))
    except (SQLAlchemyError, OSError) as error:  # the database may be gone: the rows expire by themselves
        log.warning("could not remove this instance's tabs from presence_tab: %s", error)
