"""/healthz for load balancers and monitoring.

200 with `status: ok`, or `status: degraded` and the `reasons`. Degraded answers 503 when the database
cannot be written (this node cannot take webhooks: a balancer should send them elsewhere) and 200
when only free space runs low (it still works: monitoring should warn someone before writes fail).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from chathub import bus, process_state
from chathub.services import health, outbound, presence, webhooks

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "Degraded: the database cannot be written"}})
async def healthz() -> JSONResponse:
    write_problem = await health.database_write_problem()
    # skipped while writes fail: with SQLite's write lock held elsewhere, opening a connection for the reads
    # waits for that lock too (its WAL pragma), and /healthz would hang for as long as the lock is held
    depths = (
        {} if write_problem else {**await webhooks.queue_depths(), "outbound_pending": await outbound.pending_count()}
    )
    reasons = [problem for problem in (write_problem, health.disk_space_problem()) if problem]
    workers = {name: worker.running for name, worker in process_state.current().workers.items()}
    body = {
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        **depths,
        "workers": workers,
        "open_tabs": presence.tab_count(),
        "bus_subscribers": bus.subscriber_count(),
    }
    return JSONResponse(body, status_code=503 if write_problem else 200)
