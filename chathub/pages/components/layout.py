"""The frame every signed-in page shares: navigation, unread total, notifications, the agent, dark mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from nicegui import app, background_tasks, ui

from chathub import bus
from chathub.models import Agent, AgentRole
from chathub.pages import session
from chathub.pages.components.agent_zone import reload_once_zone_is_known
from chathub.pages.components.live_pace import LivePace
from chathub.pages.components.navigation import Navigation
from chathub.pages.components.notification_bell import NotificationBell
from chathub.pages.components.widgets import notice
from chathub.schemas import AccessChanged
from chathub.services import conversations, presence, visibility

EVERY_AGENT, SEES_ALL, ADMINS = "every agent", "agents who see all", "admins"
NAVIGATION = [
    ("Inbox", "/", "inbox", EVERY_AGENT),
    ("Customers", "/customers", "people", EVERY_AGENT),
    ("Canned replies", "/canned-responses", "quickreply", EVERY_AGENT),
    ("Webhook logs", "/webhooks", "webhook", SEES_ALL),
    ("Simulator", "/simulator", "smartphone", SEES_ALL),
    ("Channels", "/channels", "hub", ADMINS),
    ("Agents", "/agents", "support_agent", ADMINS),
    ("Labels", "/labels", "label", ADMINS),
]
BRAND = "#4f46e5"


def initials(name: str) -> str:
    parts = [p for p in name.replace("+", " ").split() if p]
    letters = "".join(p[0] for p in parts[:2]).upper()
    return letters or "?"


def avatar_hue(name: str) -> int:
    return sum(map(ord, name)) % 360


def avatar(name: str, size: str = "md") -> ui.avatar:
    """Initials on a colour derived from the name. The initials go in as text: Quasar would read the
    avatar's icon argument as an icon name or an "img:" URL, which a customer's name must never become."""
    hue = avatar_hue(name)
    with ui.avatar(color=None, text_color="white", size=size).style(f"background: hsl({hue} 55% 45%)") as element:
        ui.label(initials(name)).classes("font-semibold leading-none")
    return element


@asynccontextmanager
async def frame(
    title: str, agent: Agent, *, full_height: bool = False, admin_only: bool = False, sees_all_only: bool = False
) -> AsyncIterator[None]:
    """`async with frame("Inbox", agent): ...` builds the shared frame and yields inside its body. The tab
    follows its agent's access: once it ends it leaves for sign-in; an `admin_only` page leaves for the inbox
    once the agent is no longer an admin, a `sees_all_only` page once they are limited to their own
    conversations."""
    unread_total = await conversations.shared_unread_total(agent)
    _track_presence(agent)  # first: the page body may say which conversation this tab views
    reload_once_zone_is_known()
    ui.colors(primary=BRAND)
    _show_unread_total(unread_total)
    dark = ui.dark_mode(app.storage.user.get("dark_mode", False))
    ui.query("body").classes("bg-slate-50 dark:bg-slate-900")
    with _navigation_drawer() as drawer:
        navigation = _navigation(agent, unread_total)
    sign_out = _follow_access(agent, admin_only=admin_only, sees_all_only=sees_all_only)
    with ui.header(elevated=False).classes(
        "bg-[#fff] dark:bg-slate-800 text-slate-800 dark:text-slate-100 "
        "border-b border-slate-200 dark:border-slate-700 items-center px-3 py-2"
    ):
        ui.button(icon="menu", on_click=drawer.toggle).props("flat round dense").classes("lg:hidden")
        ui.label(title).classes("text-lg font-semibold")
        ui.space()
        await NotificationBell.create(agent)
        ui.button(icon="dark_mode", on_click=lambda: _toggle_dark(dark)).props("flat round dense").tooltip("Dark mode")
        _agent_menu(agent, sign_out)
    if full_height:  # the inbox fills the window below the header; its panes scroll on their own
        ui.query(".nicegui-content").classes("p-0")
    classes = "w-full p-0 gap-0" + (" h-[calc(100vh-57px)] overflow-hidden" if full_height else "")
    with ui.column().classes(classes):
        yield
    _follow_unread_total(navigation, agent)
    _sound_on_new_messages(agent)


def _navigation_drawer() -> ui.left_drawer:
    """Open on a wide window, closed on a phone, as Quasar's show-if-above decides in the browser and reports back.
    Left without a value, NiceGUI's drawer asks the browser on connect instead, and logs an ERROR with a traceback
    when the tab leaves before the answer (a sign-in that ends within the second)."""
    drawer = ui.left_drawer(value=False, bordered=True).classes("bg-[#fff] dark:bg-slate-800 p-0")
    return drawer.props("width=220 show-if-above")


VISIBILITY_JS = """<script>
document.addEventListener('visibilitychange', () => emitEvent('chathub_visibility', document.visibilityState));
</script>"""


def _track_presence(agent: Agent) -> None:
    client = ui.context.client
    presence.tab_opened(client.id, agent)
    client.on_connect(lambda: presence.tab_connected(client.id, True))
    client.on_disconnect(lambda: presence.tab_connected(client.id, False))
    client.on_delete(lambda: presence.tab_closed(client.id))
    ui.add_head_html(VISIBILITY_JS)
    ui.on("chathub_visibility", lambda event: presence.tab_visible(client.id, event.args == "visible"))


def _show_unread_total(total: int, navigation: Navigation | None = None) -> None:
    ui.page_title(f"({total}) ChatHub" if total else "ChatHub")
    if navigation is not None:
        navigation.show(total)


def _follow_unread_total(navigation: Navigation, agent: Agent) -> None:
    """After changes the tab asks for the (shared) total of what its agent sees again, paced like the inbox list
    (see live_pace): a stream of messages costs each open tab a refresh now and then, not a task per message
    (with 20 tabs open that was ~3 ms of server CPU per webhook). An agent limited to their own conversations
    hears the chime when their total rises (customers' messages elsewhere are not theirs to hear)."""
    preferences = app.storage.user

    async def refresh() -> None:
        total = await conversations.shared_unread_total(agent)
        if navigation.count != total and not navigation.is_deleted:  # most changes leave the total as it was
            with navigation:  # the tab's context, for its title
                if total > navigation.count and not visibility.sees_all(agent):
                    _chime(preferences)
                _show_unread_total(total, navigation)

    def start_refresh() -> None:
        if not navigation.is_deleted:
            background_tasks.create(refresh(), name="unread total")

    pace = LivePace(start_refresh)
    ui.context.client.on_delete(pace.stop)
    bus.conversation_updated.subscribe(lambda _: pace.changed())
    bus.resynced.subscribe(pace.changed)

    async def follow_agent(change: AccessChanged) -> None:  # their role or which conversations they see changed
        if change.agent_id == agent.id and await session.follow_changes_of(agent) and not navigation.is_deleted:
            pace.changed()
            navigation.set_links(_links_for(agent))

    bus.access_changed.subscribe(follow_agent)


def _follow_access(agent: Agent, *, admin_only: bool, sees_all_only: bool) -> Callable[[], Awaitable[None]]:
    """Only this agent's tabs check again (a query each) when an admin or another tab changed their access.
    Returns the tab's own sign-out, which leaves without following the change it makes."""

    async def check(change: AccessChanged) -> None:
        if change.agent_id != agent.id:
            return
        if not await session.may_read(admin=admin_only, sees_all=sees_all_only):
            bus.access_changed.unsubscribe(check)  # it left: once

    async def sign_out() -> None:
        bus.access_changed.unsubscribe(check)
        await session.sign_out()
        ui.navigate.to("/signin")

    bus.access_changed.subscribe(check)
    return sign_out


def _sound_on_new_messages(agent: Agent) -> None:
    """A soft two-note chime when a customer writes, if the agent switched it on (off by default)."""
    preferences = app.storage.user  # this browser's storage, read later outside the request

    def chime() -> None:  # once for a batch of new messages, not a chord of fifty
        if visibility.sees_all(agent):
            _chime(preferences)

    bus.customers_wrote.subscribe(chime)


def _chime(preferences: dict) -> None:
    if preferences.get("sound_on_new_messages"):
        ui.run_javascript(CHIME_JS)


CHIME_JS = """
const ctx = new (window.AudioContext || window.webkitAudioContext)();
[660, 880].forEach((freq, i) => {
  const osc = ctx.createOscillator(), gain = ctx.createGain();
  osc.frequency.value = freq; gain.gain.value = 0.04;
  osc.connect(gain); gain.connect(ctx.destination);
  osc.start(ctx.currentTime + i * 0.12); osc.stop(ctx.currentTime + i * 0.12 + 0.1);
});
"""


def _navigation(agent: Agent, unread_total: int) -> Navigation:
    return Navigation(_links_for(agent), unread_total).mark("navigation")


def _links_for(agent: Agent) -> list[tuple[str, str, str]]:
    allowed = {EVERY_AGENT} | ({SEES_ALL} if visibility.sees_all(agent) else set())
    allowed |= {ADMINS} if agent.role == AgentRole.admin else set()
    return [(label, path, icon) for label, path, icon, who in NAVIGATION if who in allowed]


def _agent_menu(agent: Agent, sign_out: Callable[[], Awaitable[None]]) -> None:
    with ui.button().props("flat round dense no-caps"):
        avatar(agent.name, size="sm")
        with ui.menu():
            with ui.column().classes("px-4 py-2 gap-0"):
                ui.label(agent.name).classes("font-medium")
                ui.label(agent.email).classes("text-xs text-slate-500")
            ui.separator()
            ui.menu_item("Profile and API tokens", lambda: ui.navigate.to("/profile"))
            with ui.menu_item():
                ui.switch(
                    "Sound on new messages",
                    value=app.storage.user.get("sound_on_new_messages", False),
                    on_change=lambda e: app.storage.user.update(sound_on_new_messages=e.value),
                ).props("dense").mark("sound-toggle")
            ui.menu_item("Sign out", sign_out).mark("sign-out")


def _toggle_dark(dark: ui.dark_mode) -> None:
    dark.toggle()
    app.storage.user["dark_mode"] = dark.value


def admin_only_notice() -> None:
    notice("lock", "Only admins can open this page.", "", "Back to the inbox", "/")


def sees_all_only_notice() -> None:
    notice(
        "lock",
        "Only agents who see every conversation can open this page.",
        "It shows every customer's messages; an admin decides who sees what.",
        "Back to the inbox",
        "/",
    )
