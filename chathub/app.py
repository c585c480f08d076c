"""The one place that wires ChatHub together: routes, pages, workers, start-up and shut-down.

Two ASGI apps, one process: `http_app` (FastAPI) serves webhooks, the REST API and /healthz, and has NiceGUI's
app mounted at / for the pages. Webhooks and API calls so skip NiceGUI's per-request middleware (sessions, request
tracking, gzip), which cost more than the intake itself; a webhook's POST also skips this app's own middleware
(see `ServedApp`).
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
import sys

import httpx
import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from nicegui import app, ui
from nicegui.storage import Storage
from sqlalchemy.exc import DBAPIError
from starlette.types import Receive, Scope, Send

from chathub import bootstrap, bus, db, memory, pages, private_files, process_state
from chathub.routes import api, canned_responses, health
from chathub.routes import media as media_routes
from chathub.routes import webhooks as webhook_routes
from chathub.routes.body_deadline import BodyDeadline
from chathub.routes.errors import database_conflict_response, validation_error_response
from chathub.security_headers import SecurityHeaders
from chathub.services import (
    assignment,
    auto_resolve,
    channel_jobs,
    conversations,
    live_relay,
    media,
    outbound,
    presence,
    shared_presence,
    webhook_retention,
    webhooks,
)
from chathub.services.errors import ServiceError
from chathub.settings import Settings, SettingsError, load_settings, unknown_variables
from chathub.worker import Worker

log = logging.getLogger("chathub")
http_app: FastAPI | None = None  # the app uvicorn serves (see the module's docstring): made here, holds no state


class ServedApp(FastAPI):
    """The API app, with a webhook's POST sent straight to its route (only the body's deadline kept): the
    middleware stack around every route (error pages, body limits, security headers, exception handlers, route
    matching through all routes) cost about a tenth of the server's CPU per webhook under load. The intake
    answers every outcome itself, a lost database race included (503)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(title="ChatHub API", version="0.1.0")
        self.webhook_lane = BodyDeadline(webhook_routes.WebhookIntake(), seconds=settings.body_timeout_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if webhook_routes.is_intake(scope):
            await self.webhook_lane(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(settings: Settings, start_notes: list[str] | None = None) -> FastAPI:
    global http_app
    http_app = ServedApp(settings)
    http_app.add_middleware(BodyDeadline, seconds=settings.body_timeout_seconds)
    http_app.include_router(webhook_routes.router)
    http_app.include_router(api.router)
    http_app.include_router(canned_responses.router)
    http_app.include_router(health.router)
    http_app.add_exception_handler(ServiceError, _service_error_response)
    http_app.add_exception_handler(DBAPIError, database_conflict_response)
    http_app.add_middleware(SecurityHeaders)
    http_app.add_exception_handler(RequestValidationError, validation_error_response)
    # include_router also wraps the app's lifespan in the router's (ours have none). NiceGUI's app object
    # outlives its test resets, so without restoring it every test app added 3 wrappers, and start-up hit
    # RecursionError after ~150 tests in one run.
    lifespan = app.router.lifespan_context
    app.include_router(media_routes.router)  # files are for signed-in browsers: it needs NiceGUI's session
    app.router.lifespan_context = lifespan
    app.add_exception_handler(ServiceError, _service_error_response)
    ui.button.default_props("no-caps")
    Storage.path = (settings.data_dir / "browser-sessions").resolve()  # who is signed in: kept with the data
    pages.register(settings.reconnect_seconds)
    app.on_startup(lambda: start(settings, start_notes or []))
    app.on_shutdown(stop)
    app.on_delete(memory.release_soon)  # a closed tab's memory goes back to the system
    ui.run_with(
        http_app,
        title="ChatHub",
        storage_secret=settings.secret_key,
        show_welcome_message=False,
        favicon="💬",
        # NiceGUI derives the socket heartbeat from this (ping every 0.8x, answer within 0.4x; by default
        # 4 s and 2 s): on a busy server every tab missed its pong and reconnected, again and again.
        reconnect_timeout=min(30.0, settings.reconnect_seconds),
        # The session cookie: HttpOnly always (Starlette), SameSite=Lax pinned, Secure behind https.
        session_middleware_kwargs={"same_site": "lax", "https_only": _secure_cookies(settings)},
    )
    return http_app


def start(settings: Settings, notes: list[str]) -> None:
    """Runs before the first request is served (a sync start-up handler, so NiceGUI waits for it)."""
    for note in notes:
        log.warning(note) if note.startswith("No agent") else log.info(note)
    state = process_state.begin(settings)  # everything this run keeps in memory, fresh
    bus.conversation_updated.on_change(conversations.forget_unread_total)  # before any tab hears it
    bus.resynced.subscribe(conversations.forget_unread_total)
    bus.presence_changed.subscribe(lambda _: assignment.wake())  # an agent came online: something may wait
    state.http = httpx.AsyncClient(
        timeout=httpx.Timeout(15.0, connect=5.0), headers={"User-Agent": "ChatHub"}, verify=_trust_store()
    )
    state.loopback = httpx.AsyncClient(transport=httpx.ASGITransport(http_app), base_url="http://chathub.internal")
    # On PostgreSQL other instances queue work too (or die holding some): look for it every few seconds.
    poll = None if db.is_sqlite() else settings.work_poll_seconds
    for worker in (
        Worker(webhooks.WORKER, webhooks.process_due_webhooks),
        Worker(outbound.WORKER, outbound.deliver_due_messages, poll_seconds=poll),
        Worker(media.WORKER, media.fetch_pending_media, poll_seconds=poll),
        Worker(channel_jobs.WORKER, channel_jobs.run_due_jobs),
        Worker(assignment.WORKER, assignment.assign_waiting_conversations),
    ):
        state.workers[worker.name] = worker
        worker.start()
    if not db.is_sqlite():  # instances share presence through the database; one SQLite process has it in memory
        state.workers[presence.WORKER] = Worker(presence.WORKER, shared_presence.heartbeat)
        state.workers[presence.WORKER].start()
    state.scheduler = _timed_jobs(settings)
    state.scheduler.start()
    live_relay.start()
    memory.collect_less_often()
    memory.freeze_start_up_objects()


@functools.cache
def _trust_store() -> ssl.SSLContext:
    """The CA bundle for calls to providers, loaded once per process: loading it took 0.1 s, at every start of
    an app that tests start hundreds of times in one process."""
    return httpx.create_ssl_context()


def _timed_jobs(settings: Settings) -> AsyncIOScheduler:
    """Every instance runs these; each job takes its rows so that two instances never act on one row."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        conversations.wake_snoozed_conversations,
        "interval",
        seconds=settings.snooze_check_seconds,
        id="wake-snoozed",
        coalesce=True,
        max_instances=1,
    )
    if settings.auto_resolve_hours:
        scheduler.add_job(
            auto_resolve.resolve_idle_conversations,
            "interval",
            seconds=auto_resolve.check_seconds(settings.auto_resolve_hours),
            id="auto-resolve",
            coalesce=True,
            max_instances=1,
        )
    scheduler.add_job(
        webhook_retention.delete_old_webhook_logs,
        "interval",
        hours=1,
        id="delete-old-webhook-logs",
        coalesce=True,
        max_instances=1,
    )
    return scheduler


async def stop() -> None:
    if not process_state.is_started():
        return  # start-up failed before the state was made
    state = process_state.current()
    if state.scheduler is not None and state.scheduler.running:
        state.scheduler.shutdown(wait=False)
    await outbound.stop_sending()  # before the HTTP clients and the database go
    await live_relay.stop()
    for worker in state.workers.values():
        await worker.stop()
    await shared_presence.leave()
    for client in (state.http, state.loopback):
        if client is not None:
            await client.aclose()
    await db.dispose_engine()
    process_state.end()
    log.info("Stopped: replies under way were saved; queued webhooks and replies resume at the next start.")


async def _service_error_response(_: Request, error: ServiceError) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=error.status_code)


def _secure_cookies(settings: Settings) -> bool:
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    return settings.public_url.startswith("https://")


def run() -> None:
    """`python main.py`: read the settings, refuse bad ones in one line, serve."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(
        logging.WARNING
    )  # its INFO lines carry request URLs: Telegram's hold the bot token
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # else two INFO lines every 30 s for the snooze job
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # seven "setup plugin" lines per start
    private_files.keep_owner_only()  # before the first file is written
    for line in unknown_variables():
        log.warning(line)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"ChatHub cannot start: {error}", file=sys.stderr)
        sys.exit(2)
    private_files.tighten(settings.data_dir, settings.sqlite_file)
    try:  # the schema and the first admin, before serving: a failure stops here, in one line
        notes = bootstrap.prepare_database(settings)
    except Exception as error:
        print(
            f"ChatHub cannot start: the database at {settings.database_url_shown} could not be prepared: "
            f"{type(error).__name__}: {error}",
            file=sys.stderr,
        )
        sys.exit(2)
    served = create_app(settings, notes)
    if os.environ.get("NICEGUI_USER_SIMULATION"):
        return  # NiceGUI's test harness drives the app in-process
    log.info("ChatHub serves http://%s:%s (public address %s)", settings.host, settings.port, settings.public_url)
    uvicorn.run(
        served,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=25,
    )  # the outbound worker gets 20 s to finish sends under way
