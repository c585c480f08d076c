"""The agent web UI: one module per page; `register()` adds them all (again, for each test app)."""
from __future__ import annotations

from nicegui import ui

from chathub.pages import home


def register() -> None:
    ui.page("/")(home.page)
