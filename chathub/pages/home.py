"""The start page until the agent inbox lands: what is running and where the API lives."""
from __future__ import annotations

from nicegui import ui


def page() -> None:
    with ui.column().classes("max-w-xl mx-auto mt-16 gap-2"):
        ui.label("ChatHub").classes("text-3xl font-bold")
        ui.label("The inbox engine is running. Webhooks arrive at /webhooks/…; the REST API is described at /docs.")
        ui.link("Open the API documentation", "/docs")
