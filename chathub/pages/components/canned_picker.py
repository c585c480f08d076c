"""The canned replies list of the reply box: `/ref` typed at the start of the box or after a space lists the
replies whose short code (or content) holds "ref"; ↑/↓ move, Enter or Tab (or a click) put the reply in place of
`/ref`, with its variables filled in, and Esc closes the list. canned_picker.js takes those keys in the browser
while the list is open, so the box's Enter does not send and the page's shortcuts stay quiet.

The replies are read when the agent first types a `/` in this thread, and again after any change to them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from nicegui import ui

from chathub.models import Agent, CannedResponse
from chathub.schemas import CannedResponsesChanged
from chathub.services import canned_responses

SLASH_WORD = re.compile(r"(?:^|(?<=\s))/([\w-]+)$")  # a `/word` the draft ends with, at its start or after a space
SHOWN = 6
PREVIEW = 90  # characters of a reply's content shown in the list


@dataclass(frozen=True)
class SlashWord:
    start: int  # where its `/` is in the draft
    query: str


def slash_word(draft: str) -> SlashWord | None:
    found = SLASH_WORD.search(draft)
    return SlashWord(found.start(), found.group(1).lower()) if found else None


def matching(replies: list[CannedResponse], query: str) -> list[CannedResponse]:
    """Short codes that begin with the query first, then those that hold it, then replies whose content does."""
    ranked = [(rank, reply) for reply in replies if (rank := _rank(reply, query)) is not None]
    return [reply for _, reply in sorted(ranked, key=lambda pair: pair[0])][:SHOWN]


def _rank(reply: CannedResponse, query: str) -> int | None:
    if reply.short_code.startswith(query):
        return 0
    if query in reply.short_code:
        return 1
    return 2 if query in reply.content.lower() else None


class CannedPicker(ui.element, component="canned_picker.js"):
    def __init__(self, box: ui.textarea, agent: Agent, customer_name: Callable[[], str]) -> None:
        super().__init__()
        self.box = box
        self.agent = agent
        self.customer_name = customer_name
        self.replies: list[CannedResponse] | None = None  # read at the first `/`
        self.matches: list[CannedResponse] = []
        self.word: SlashWord | None = None
        self.highlighted = 0
        self.dismissed_at: int | None = None  # Esc closed the list for the `/` at this place in the draft
        self._props["box_id"] = f"c{box.id}"
        self._props["open"] = False
        self.visible = False
        self.classes(
            "canned-picker absolute bottom-full left-0 right-0 mb-1 z-10 max-h-72 overflow-y-auto rounded-md border "
            "border-slate-200 dark:border-slate-600 bg-[#fff] dark:bg-slate-800 shadow-lg py-1"
        ).mark("canned-picker")
        self.on("key", lambda event: self._on_key(str(event.args)))

    @property
    def is_open(self) -> bool:
        return bool(self._props["open"])

    async def follow(self) -> None:
        """The draft changed: show the replies its `/word` matches, or close the list."""
        word = slash_word(self.box.value or "")
        if word is None or word.start != self.dismissed_at:
            self.dismissed_at = None
        if word is None or self.dismissed_at is not None:
            self._show(None, [])
            return
        if self.replies is None:
            self.replies = await canned_responses.list_canned_responses(self.agent)
        self._show(word, matching(self.replies, word.query))

    async def take_enter(self) -> bool:
        """Enter in the reply box: with the list open it inserts the highlighted reply (True), and sends nothing."""
        await self.follow()
        if not self.is_open:
            return False
        self.insert(self.highlighted)
        return True

    def insert(self, index: int) -> None:
        if self.word is None or not 0 <= index < len(self.matches):
            return
        draft = self.box.value or ""
        self.box.value = draft[: self.word.start] + self._filled(self.matches[index])
        self._show(None, [])
        self.box.run_method("focus")

    def _filled(self, reply: CannedResponse) -> str:
        return canned_responses.fill_variables(
            reply.content, customer_name=self.customer_name(), agent_name=self.agent.name
        )

    def _on_key(self, key: str) -> None:
        if key == "pick":
            self.insert(self.highlighted)
        elif key == "close" and self.word is not None:
            self.dismissed_at = self.word.start
            self._show(None, [])
        elif key in ("up", "down") and self.matches:
            self.highlighted = (self.highlighted + (1 if key == "down" else -1)) % len(self.matches)
            self._draw()

    def on_replies_changed(self, change: CannedResponsesChanged) -> None:
        if change.owner_id in (None, self.agent.id):
            self.replies = None  # read again at the next `/`
            if self.is_open:
                self._show(None, [])

    def _show(self, word: SlashWord | None, matches: list[CannedResponse]) -> None:
        if word == self.word and [m.id for m in matches] == [m.id for m in self.matches]:
            return
        self.word, self.matches, self.highlighted = word, matches, 0
        self._props["open"] = bool(matches)
        self.visible = bool(matches)
        self._draw()

    def _draw(self) -> None:
        self.clear()
        with self:
            for index, reply in enumerate(self.matches):
                chosen = " bg-indigo-50 dark:bg-slate-700" if index == self.highlighted else ""
                with (
                    ui.row()
                    .classes("w-full items-baseline gap-2 px-3 py-1.5 no-wrap cursor-pointer canned-option" + chosen)
                    .props(f"role=option aria-selected={'true' if chosen else 'false'}")
                    .mark(f"canned-option-{reply.short_code}")
                    .on("click", lambda _, i=index: self.insert(i))
                    .on("mousedown", js_handler="(event) => event.preventDefault()")  # the box keeps the focus
                ):
                    ui.label(f"/{reply.short_code}").classes("font-mono text-sm text-indigo-700 shrink-0")
                    preview = " ".join(self._filled(reply).split())[:PREVIEW]
                    ui.label(preview).classes("text-sm text-slate-600 dark:text-slate-300 truncate min-w-0")
        self.update()
