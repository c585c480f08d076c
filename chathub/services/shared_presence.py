"""Presence shared by the instances on one PostgreSQL database, through the `presence_tab` table.

Each instance's heartbeat (a worker) writes its open tabs every HEARTBEAT_SECONDS, and at once after a change
(presence wakes it), then reads the other instances' rows and announces on the local bus what that changed for
the agents here: so an agent on B sees an agent on A viewing the same conversation within a heartbeat or two. A
row not written again within GONE_AFTER_SECONDS belongs to an instance that stopped without a word (killed):
its tabs drop out. SQLite is one process: no heartbeat runs there, and the table stays empty.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, delete, select

from chathub import bus, db
from chathub.models import PresenceTab, utcnow
from chathub.schemas import PresenceChanged, ViewersChanged
from chathub.services.presence import Tab, agent_status, here, viewers

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 2.0
GONE_AFTER_SECONDS = 10.0  # five heartbeats missed: the instance has stopped (or hangs)


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
