"""The agent's own time zone: every time a page shows, and every snooze an agent picks, is in the zone of the
agent's browser, not the server's (a team on a UTC server with agents in Berlin and Auckland).

The browser says its IANA zone in a cookie, set by ZONE_SCRIPT in the head of every page; the sign-in page comes
first, so every signed-in page is asked for with it. The cookie is the browser's word: a value that is not a
zone name zoneinfo knows means the server's own zone, and it is never put into a page.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nicegui import Client, ui
from nicegui.slot import Slot

ZONE_COOKIE = "chathub_zone"
ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")
ZONE_SCRIPT = f"""<script>{{
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
document.cookie = `{ZONE_COOKIE}=${{zone.replace(/[^\\w+\\/-]/g, "")}}; path=/; max-age=31536000; SameSite=Lax`;
}}</script>"""
# A signed-in page asked for without the cookie (a session older than it, a cleared cookie) was drawn in the
# server's zone: once the script above has set it, the tab loads the page again, once.
RELOAD_SCRIPT = f"""<script>
if (document.cookie.split("; ").some(c => c.startsWith("{ZONE_COOKIE}=")) && !sessionStorage.chathubZoneReload) {{
  sessionStorage.chathubZoneReload = "1";
  location.reload();
}}
</script>"""


def zone_named(name: str | None) -> ZoneInfo | None:
    """The zone of this IANA name, or None when it is none zoneinfo knows."""
    if not name or len(name) > 64 or not ZONE_NAME.fullmatch(name):
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, ZoneInfoNotFoundError):
        return None


def agent_zone() -> ZoneInfo | None:
    """The zone of the browser showing the current tab; None for the server's own (also outside any tab)."""
    if not Slot.get_stack():  # asking NiceGUI's context here would start its script mode
        return None
    try:
        cookies = ui.context.client.request.cookies
    except RuntimeError:  # a tab made without a request
        return None
    return zone_named(cookies.get(ZONE_COOKIE))


def local(moment: datetime) -> datetime:
    """A moment as the agent's clock shows it."""
    return moment.astimezone(agent_zone())


def from_agent_clock(wall_time: datetime) -> datetime:
    """A date and time the agent picked (without a zone) as the moment it means in their zone."""
    zone = agent_zone()
    return wall_time.replace(tzinfo=zone) if zone else wall_time.astimezone()


def ask_browser_for_zone() -> None:
    """Put ZONE_SCRIPT in the head of every page, once per app."""
    if ZONE_SCRIPT not in Client.shared_head_html:
        ui.add_head_html(ZONE_SCRIPT, shared=True)


def reload_once_zone_is_known() -> None:
    """On a signed-in page drawn without the browser's zone, load it again once the browser has said it."""
    if ZONE_COOKIE not in ui.context.client.request.cookies:
        ui.add_head_html(RELOAD_SCRIPT)
