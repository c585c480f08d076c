"""The agent web UI: one module per page; `register()` adds them all (again, for each test app)."""
from __future__ import annotations

from nicegui import ui

from chathub.pages import (
    agents, channels, conversation, customer_detail, customers, inbox, profile, signin, simulator, webhook_logs,
)

PAGES = {
    "/signin": signin.signin_page,
    "/setup": signin.setup_page,
    "/": inbox.page,
    "/conversations/{conversation_id}": conversation.page,
    "/customers": customers.page,
    "/customers/{customer_id}": customer_detail.page,
    "/webhooks": webhook_logs.page,
    "/channels": channels.page,
    "/agents": agents.page,
    "/profile": profile.page,
    "/simulator": simulator.page,
}


def register() -> None:
    for path, build in PAGES.items():
        ui.page(path)(build)
