"""Who is here: agents' open tabs, what each views, who is typing where; announced on the bus for the live UI.

An instance keeps its own tabs in memory, and, on PostgreSQL, the other instances' ones as its heartbeat last read
them (chathub/services/shared_presence.py): viewers, the collision warning and presence count both. On SQLite
there is one process, so its own tabs are the whole picture.

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

from sqlmodel import col, select

from chathub import bus, db, process_state
from chathub.models import Agent, Conversation, Customer, CustomerIdentity, Message, MessageDirection
from chathub.schemas import PresenceChanged, TypingSignal, ViewersChanged
from chathub.services import channels, live_relay

log = logging.getLogger(__name__)
TYPING_SECONDS = 6.0  # how long one signal shows
AGENT_SIGNAL_EVERY = 3.0  # at most one agent signal per conversation and agent this often
CUSTOMER_SIGNAL_EVERY = 5.0  # at most one typing action to the provider per conversation this often
WORKER = "presence"  # the heartbeat that shares tabs with the other instances (shared_presence.py)


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
    live_relay.emit_typing(
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
    live_relay.emit_typing(TypingSignal(conversation_id=row[0], name=row[1], expires_at=_expiry()))
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
