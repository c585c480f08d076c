"""`ui.upload` that lets its tab be freed once the tab is gone.

Each `ui.upload` registers its own POST route, whose endpoint closes over the element. FastAPI remembers
every endpoint it has classified in a module-level cache of 4096 entries (`fastapi.dependencies.models`),
so after the route is removed the cache still held the element, its handlers and, through them, the whole
closed thread view: about 50 KB for every thread an agent had opened. On delete this element drops its
handlers and empties the endpoint's reference to itself, so the cache keeps only a bare function.
"""

from __future__ import annotations

from nicegui import app, ui


class AttachmentUpload(ui.upload):
    def _handle_delete(self) -> None:
        self._begin_upload_handlers.clear()
        self._upload_handlers.clear()
        self._multi_upload_handlers.clear()
        for route in app.routes:
            if getattr(route, "path", None) == self._registered_url:
                for cell in route.endpoint.__closure__ or ():
                    if cell.cell_contents is self:
                        cell.cell_contents = None
        super()._handle_delete()
