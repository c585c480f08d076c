from __future__ import annotations

from fastapi import APIRouter

from chathub import bus
from chathub.services import outbound, presence, runtime, webhooks

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict:
    depths = await webhooks.queue_depths()
    workers = {name: worker.running for name, worker in runtime.runtime.workers.items()}
    return {"status": "ok", **depths, "outbound_pending": await outbound.pending_count(), "workers": workers,
            "open_tabs": presence.tab_count(), "bus_subscribers": bus.subscriber_count()}
