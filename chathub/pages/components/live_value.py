"""An element whose one changing value reaches the browser through a method call (live_value.js).

NiceGUI's browser side answers any element update by rendering the whole page again: each render gives every
element new event handlers, so every component renders again. For values that change in every open tab while
customers write (the inbox rows, the unread total) the new value goes to the element's component through its
`show` method instead; the props keep it, with updates suspended, for a page served again.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui


class LiveValueElement(ui.element, dependencies=["live_value.js"]):
    def _set_live_value(self, prop: str, value: Any, *, send: bool = True, method: str = "show") -> None:
        with self._props.suspend_updates():
            self._props[prop] = value
        if send:
            self.run_method(method, value)
