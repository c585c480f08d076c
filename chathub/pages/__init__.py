"""The agent web UI: one module per page; `register()` adds them all (again, for each test app).

Every route is registered here, so no page module imports another. What pages share (the frame, the
conversation list and thread, the browser-drawn elements with their .js beside them) lives in `components/`.
"""

from __future__ import annotations

from nicegui import app, ui

from chathub.pages import (
    agents,
    canned_responses,
    channels,
    customer_detail,
    customers,
    inbox,
    labels,
    profile,
    session,
    signin,
    simulator,
    webhook_logs,
)
from chathub.pages.components import agent_zone

PAGES = {
    "/signin": signin.signin_page,
    "/setup": signin.setup_page,
    "/": inbox.page,
    "/conversations/{conversation_id}": inbox.conversation_page,
    "/customers": customers.page,
    "/customers/{customer_id}": customer_detail.page,
    "/webhooks": webhook_logs.page,
    "/channels": channels.page,
    "/agents": agents.page,
    "/labels": labels.page,
    "/canned-responses": canned_responses.page,
    "/profile": profile.page,
    "/simulator": simulator.page,
}


PUBLIC = {"/signin", "/setup"}


def register(reconnect_seconds: float) -> None:
    """A signed-in tab survives a dropped connection for `reconnect_seconds` (laptop sleep, Wi-Fi): on
    reconnect NiceGUI replays what changed meanwhile. After that the tab is gone, subscriptions with it."""
    agent_zone.ask_browser_for_zone()
    for path, build in PAGES.items():
        ui.page(path, reconnect_timeout=None if path in PUBLIC else reconnect_seconds)(build)
    app.add_api_route(session.COMPLETE_PATH, session.renew_session, methods=["GET"], include_in_schema=False)
