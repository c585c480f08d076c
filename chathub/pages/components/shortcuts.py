"""The inbox's keyboard shortcuts: shortcuts.js listens in the browser and names the action; the inbox acts.

The keys a shortcut needs never reach the server one by one: only an action name does, once per shortcut.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

HELP = [  # (keys, what they do), as the `?` panel lists them
    ("j  or  Alt+↓", "Next conversation in the list"),
    ("k  or  Alt+↑", "Previous conversation in the list"),
    ("/", "Search the list"),
    ("r", "Reply: focus the reply box"),
    ("n", "Note: write a private note, which only agents see (@ mentions an agent)"),
    ("Enter", "Send the reply (Shift+Enter adds a line)"),
    ("/ref  in the reply box", "List the canned replies that match; ↑/↓, Enter or Tab insert one"),
    ("e", "Resolve the conversation"),
    ("s", "Snooze the conversation"),
    ("a", "Assign the conversation"),
    ("Esc", "Leave the field you are typing in"),
    ("?", "Show these shortcuts"),
]


class Shortcuts(ui.element, component="shortcuts.js"):
    def __init__(self, on_action: Callable[[str], Awaitable[None]]) -> None:
        super().__init__()
        self.on("shortcut", lambda event: on_action(str(event.args)))
        with ui.dialog() as self.help, ui.card().classes("gap-2").mark("shortcut-help"):
            ui.label("Keyboard shortcuts").classes("text-lg font-semibold")
            ui.label("They work while you are not typing in a field; Alt+↓/↑ work while typing too.").classes(
                "text-sm text-slate-500"
            )
            with ui.grid(columns="auto 1fr").classes("items-center gap-x-4 gap-y-1"):
                for keys, action in HELP:
                    ui.label(keys).classes(
                        "font-mono text-sm bg-slate-100 dark:bg-slate-700 rounded px-2 whitespace-pre"
                    )
                    ui.label(action).classes("text-sm")

    def show_help(self) -> None:
        self.help.open()
