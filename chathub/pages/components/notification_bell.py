"""The header's bell: the agent's unread notifications counted live, a list of the latest that opens their
conversation, and (if the agent opted in) the browser's own notification while the tab is hidden.

Only the signed-in agent's tabs hear their notifications: the callbacks drop everyone else's at once, so a
notification costs other tabs nothing but that comparison."""

from __future__ import annotations

import json

from nicegui import background_tasks, ui

from chathub import bus
from chathub.models import Agent
from chathub.pages.components.widgets import relative_time
from chathub.schemas import NotificationOut, NotificationsRead
from chathub.services import agents, notifications
from chathub.services.errors import NotFound

LATEST = 10  # shown in the list; the API pages through all of them

# The text goes into the browser's Notification as text (its body is never read as HTML), with no icon: the
# browser fetches nothing a customer chose. A click brings the tab forward and opens the conversation.
BROWSER_NOTIFICATION_JS = """<script>
window.chathubNotify = (id, text) => {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
  const shown = new Notification('ChatHub', {body: text, tag: 'chathub-' + id});
  shown.onclick = () => { window.focus(); shown.close(); emitEvent('chathub_open_notification', id); };
};
</script>"""


class NotificationBell:
    def __init__(self, agent: Agent, unread: int, latest: list[NotificationOut]) -> None:
        self.agent_id = agent.id
        self.unread = unread
        self.latest = latest
        with (
            ui.button(icon="notifications")
            .props("flat round dense aria-label=Notifications")
            .classes("notification-bell")
            .mark("notification-bell") as self.button
        ):
            self.badge = ui.badge(color="red").props("floating rounded").classes("notification-count")
            self.badge.mark("notification-count")
            with ui.menu().props("anchor='bottom right' self='top right'").classes("w-[22rem]") as self.menu:
                self.list = ui.column().classes("w-full gap-0")
        self._draw()
        ui.add_head_html(BROWSER_NOTIFICATION_JS)
        ui.on("chathub_open_notification", lambda event: self.open(int(event.args)))
        bus.notification_created.subscribe(self.on_created)
        bus.notifications_read.subscribe(self.on_read)
        bus.resynced.subscribe(self.reload)

    @classmethod
    async def create(cls, agent: Agent) -> NotificationBell:
        unread = await notifications.unread_count(agent.id)
        return cls(agent, unread, (await notifications.list_for(agent.id, limit=LATEST)).items)

    def _draw(self) -> None:
        self.badge.set_text(str(self.unread) if self.unread < 100 else "99+")
        self.badge.set_visibility(self.unread > 0)
        self.list.clear()
        with self.list:
            with ui.row().classes("w-full items-center px-4 py-2 no-wrap"):
                ui.label("Notifications").classes("font-semibold")
                ui.space()
                if self.unread:
                    ui.button("Mark all read", on_click=self.mark_all_read).props("flat dense no-caps").mark(
                        "mark-all-read"
                    )
            ui.separator()
            if not self.latest:
                ui.label("Nothing yet.").classes("px-4 py-3 text-sm text-slate-500")
            for item in self.latest:
                self._row(item)

    def _row(self, item: NotificationOut) -> None:
        unread = item.read_at is None
        with (
            ui.item(on_click=lambda item=item: self.open(item.id))
            .classes("notification-item w-full" + (" unread bg-indigo-50 dark:bg-slate-700" if unread else ""))
            .mark(f"notification-{item.id}")
        ):
            with ui.item_section().props("side"):
                ui.icon("circle" if unread else "radio_button_unchecked", size="10px").classes(
                    "text-primary" if unread else "text-slate-300"
                )
            with ui.item_section():
                ui.label(item.text).classes("text-sm break-words" + (" font-medium" if unread else ""))
                ui.label(relative_time(item.created_at)).classes("text-xs text-slate-500")

    def on_created(self, item: NotificationOut) -> None:
        if item.agent_id != self.agent_id or self.button.is_deleted:
            return
        self.unread += 1
        self.latest = [item, *self.latest][:LATEST]
        with self.button:  # the tab's context, outside the request
            self._draw()
        background_tasks.create(self._tell_browser(item), name="browser notification")

    async def _tell_browser(self, item: NotificationOut) -> None:
        """If the agent opted in (now: they may have changed it in another tab), the browser shows it while the
        tab is hidden."""
        agent = await agents.get_agent(self.agent_id)
        if agent is not None and agent.browser_notifications and not self.button.is_deleted:
            self.button.client.run_javascript(f"chathubNotify({item.id}, {json.dumps(item.text)})")

    def on_read(self, change: NotificationsRead) -> None:
        if change.agent_id == self.agent_id:
            self.reload()

    def reload(self) -> None:
        if not self.button.is_deleted:
            background_tasks.create(self._reload(), name="notification bell")

    async def _reload(self) -> None:
        unread = await notifications.unread_count(self.agent_id)
        latest = (await notifications.list_for(self.agent_id, limit=LATEST)).items
        if not self.button.is_deleted:
            self.unread, self.latest = unread, latest
            with self.button:
                self._draw()

    async def open(self, notification_id: int) -> None:
        self.menu.close()
        try:
            item = await notifications.mark_read(self.agent_id, notification_id)
        except NotFound:  # not this agent's (the browser's event carries any id it is given)
            return
        ui.navigate.to(f"/conversations/{item.conversation_id}")

    async def mark_all_read(self) -> None:
        await notifications.mark_all_read(self.agent_id)
