"""Live visitor connections: where channels whose replies go to an open browser (a website chat widget) deliver.

A route holding a visitor's connection (a WebSocket, a server-sent event stream) calls `connect` and forwards
what arrives in the returned queue; the channel's driver reaches it through `DriverContext.deliver_live`, which
`channels.driver_for` points at `deliver` for drivers whose capabilities say `live_delivery`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from chathub import process_state


class VisitorConnections:
    """(channel id, visitor id) -> the queues of the visitor's open connections."""

    def __init__(self) -> None:
        self.queues: dict[tuple[int, str], set[asyncio.Queue[dict[str, Any]]]] = {}


def _connections() -> dict[tuple[int, str], set[asyncio.Queue[dict[str, Any]]]]:
    return process_state.current().part(VisitorConnections).queues


def connect(channel_id: int, visitor_id: str) -> asyncio.Queue[dict[str, Any]]:
    """A new connection of the visitor (one per open tab); `disconnect` it when the connection closes."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    _connections().setdefault((channel_id, visitor_id), set()).add(queue)
    return queue


def disconnect(channel_id: int, visitor_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
    queues = _connections().get((channel_id, visitor_id), set())
    queues.discard(queue)
    if not queues:
        _connections().pop((channel_id, visitor_id), None)


async def deliver(channel_id: int, visitor_id: str, event: dict[str, Any]) -> bool:
    """Hand the event to every open connection of the visitor; False when there is none (the driver then
    decides: retry later, or fail the message)."""
    queues = _connections().get((channel_id, visitor_id))
    for queue in queues or ():
        queue.put_nowait(event)
    return bool(queues)
