"""The @mention list of the note composer: `@` and the letters after it, at the end of the text, list the agents
whose names hold them (names beginning with them first). ↑/↓ move, Enter or Tab pick, Esc closes, a click picks;
picking puts "@Name " in the text and remembers the agent, whose id goes with the note while "@Name" stays in it.

The thread's composer forwards those keys here only while the list is open (`KEY_HANDLER`, in the browser), so
a closed list leaves Enter to send and the arrows to the text."""

from __future__ import annotations

import re

from nicegui import ui

TYPED_MENTION = re.compile(r"(?:^|\s)@([^\s@]*)$")  # "@" and what follows it, at the end of the text
MAX_SHOWN = 8
HIGHLIGHTED = "mention-highlighted bg-amber-100 dark:bg-amber-900"
KEYS = ("ArrowDown", "ArrowUp", "Enter", "Tab", "Escape")


def key_handler(list_element: ui.element) -> str:
    """The composer's keydown, in the browser: the list's keys go to it while it shows; a plain Enter sends."""
    return f"""(event) => {{
        if (event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
        const list = document.getElementById("c{list_element.id}");
        const listOpen = list && !list.classList.contains("hidden");
        if (listOpen && {list(KEYS)}.includes(event.key) && !event.shiftKey) {{
            event.preventDefault();
            emit(event.key);
        }} else if (event.key === "Enter" && !event.shiftKey) {{
            event.preventDefault();
            emit("send");
        }}
    }}"""


class MentionList:
    def __init__(self, text: ui.textarea, agents: dict[int, str]) -> None:
        self.text = text
        self.agents = agents  # id -> name, of the agents one may mention
        self.matches: list[tuple[int, str]] = []
        self.highlighted = 0
        self.picked: dict[int, str] = {}
        self.element = (
            ui.column()
            .classes(
                "mention-list w-full gap-0 py-1 rounded border border-slate-200 dark:border-slate-600 "
                "bg-[#fff] dark:bg-slate-800 shadow-md max-h-60 overflow-y-auto"
            )
            .props('role="listbox" aria-label="Agents to mention"')
            .mark("mention-list")
        )
        self.element.set_visibility(False)

    @property
    def is_open(self) -> bool:
        return bool(self.matches)

    def follow(self, text: str) -> None:
        """The text changed: list the agents matching the mention being typed, or close."""
        typed = TYPED_MENTION.search(text)
        self.matches = [] if typed is None else _matching(self.agents, typed.group(1))
        self.highlighted = 0
        self._draw()

    def close(self) -> None:
        self.matches = []
        self._draw()

    def on_key(self, key: str) -> None:
        if key == "Escape":
            self.close()
        elif key in ("ArrowDown", "ArrowUp") and self.matches:
            self.highlighted = (self.highlighted + (1 if key == "ArrowDown" else -1)) % len(self.matches)
            self._draw()
        elif key in ("Enter", "Tab") and self.matches:
            self.pick(self.highlighted)

    def pick(self, index: int) -> None:
        agent_id, name = self.matches[index]
        typed = TYPED_MENTION.search(self.text.value or "")
        if typed is None:
            return self.close()
        at = typed.start(1) - 1  # the "@"
        self.picked[agent_id] = name
        self.matches = []
        self.text.value = f"{self.text.value[:at]}@{name} "
        self._draw()
        self.text.run_method("focus")

    def mentions_in(self, text: str) -> list[int]:
        """The picked agents whose "@Name" the text still holds."""
        return [agent_id for agent_id, name in self.picked.items() if f"@{name}" in text]

    def forget(self) -> None:
        self.picked.clear()
        self.close()

    def _draw(self) -> None:
        self.element.clear()
        with self.element:
            for index, (agent_id, name) in enumerate(self.matches):
                highlighted = index == self.highlighted
                ui.item(name, on_click=lambda index=index: self.pick(index)).props(
                    f'dense clickable role="option" aria-selected="{str(highlighted).lower()}"'
                ).classes("mention-option w-full" + (f" {HIGHLIGHTED}" if highlighted else "")).mark(
                    f"mention-{agent_id}"
                )
        self.element.set_visibility(self.is_open)


def _matching(agents: dict[int, str], typed: str) -> list[tuple[int, str]]:
    typed = typed.casefold()
    found = [(agent_id, name) for agent_id, name in agents.items() if typed in name.casefold()]
    found.sort(key=lambda agent: (not agent[1].casefold().startswith(typed), agent[1].casefold()))
    return found[:MAX_SHOWN]
