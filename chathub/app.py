"""The one place that wires ChatHub together: routes, pages, workers, start-up and shut-down."""
from __future__ import annotations

import logging
import sys

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import Request
from fastapi.responses import JSONResponse
from nicegui import app, ui

from chathub import bootstrap, bus, db, pages
from chathub.routes import api, health, webhooks as webhook_routes
from chathub.services import channels, conversations, outbound, presence, runtime, webhooks
from chathub.services.errors import ServiceError
from chathub.settings import Settings, SettingsError, load_settings
from chathub.worker import Worker

log = logging.getLogger("chathub")
_scheduler: AsyncIOScheduler | None = None


def create_app(settings: Settings, start_notes: list[str] | None = None) -> None:
    # include_router also wraps the app's lifespan in the router's (ours have none). NiceGUI's app object
    # outlives its test resets, so without restoring it every test app added 3 wrappers, and start-up hit
    # RecursionError after ~150 tests in one run.
    lifespan = app.router.lifespan_context
    app.include_router(webhook_routes.router)
    app.include_router(api.router)
    app.include_router(health.router)
    app.router.lifespan_context = lifespan
    app.add_exception_handler(ServiceError, _service_error_response)
    ui.button.default_props("no-caps")
    pages.register(settings.reconnect_seconds)
    app.on_startup(lambda: start(settings, start_notes or []))
    app.on_shutdown(stop)


def start(settings: Settings, notes: list[str]) -> None:
    """Runs before the first request is served (a sync start-up handler, so NiceGUI waits for it)."""
    for note in notes:
        log.warning(note) if note.startswith("No agent") else log.info(note)
    db.init_engine(settings.database_url)
    channels.clear_cache()
    bus.reset()
    presence.reset()
    bus.conversation_updated.subscribe(conversations.forget_unread_total)  # first, before any tab's
    runtime.start(settings, [
        Worker(webhooks.WORKER, webhooks.process_due_webhooks),
        Worker(outbound.WORKER, outbound.deliver_due_messages),
    ], app)
    _start_timed_jobs()


def _start_timed_jobs() -> None:
    global _scheduler
    _scheduler = AsyncIOScheduler(timezone="UTC")
    _scheduler.add_job(conversations.wake_snoozed_conversations, "interval", seconds=30, id="wake-snoozed",
                       coalesce=True, max_instances=1)
    _scheduler.start()


async def stop() -> None:
    if _scheduler is not None and _scheduler.running:
        _scheduler.shutdown(wait=False)
    await outbound.stop_sending()  # before the HTTP clients and the database go
    await runtime.stop()
    await db.dispose_engine()


async def _service_error_response(_: Request, error: ServiceError) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=error.status_code)


def run() -> None:
    """`python main.py`: read the settings, refuse bad ones in one line, serve."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"ChatHub cannot start: {error}", file=sys.stderr)
        sys.exit(2)
    try:  # the schema and the first admin, before serving: a failure stops here, in one line
        notes = bootstrap.prepare_database(settings)
    except Exception as error:
        print(f"ChatHub cannot start: the database at {settings.database_url} could not be prepared: "
              f"{type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(2)
    create_app(settings, notes)
    ui.run(host=settings.host, port=settings.port, title="ChatHub", reload=False, show=False,
           storage_secret=settings.secret_key, show_welcome_message=False, favicon="💬",
           fastapi_docs={"title": "ChatHub API", "version": "0.1.0"})  # /docs, /redoc, /openapi.json
