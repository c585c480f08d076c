"""Who is signed in in this browser, and whether a tab may still act for them.

A signed-in browser carries a browser session token in its signed session cookie (the table holds its hash:
sign-out, a password change or a deactivation end it). The cookie can only change in an HTTP response, and
signing in happens in a socket event, so the sign-in tab hands over through a one-time ticket to
`/signin/complete`, a plain request that gives the browser a new session: a new NiceGUI browser id (so
nothing kept before sign-in carries over) and the new token. A cookie planted before sign-in stays signed out.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import Client, background_tasks, ui

from chathub import process_state
from chathub.auth import BROWSER_SESSION_KEY
from chathub.models import Agent
from chathub.services import agents, visibility

log = logging.getLogger(__name__)
TICKET_SECONDS = 60.0
COMPLETE_PATH = "/signin/complete"


def session_token() -> str | None:
    """The session token of the request that built this tab (in its page function and its event handlers)."""
    token = _tab_cookie().get(BROWSER_SESSION_KEY)
    return token if isinstance(token, str) else None


def _tab_cookie() -> dict:
    return ui.context.client.request.session


async def signed_in_agent() -> Agent | None:
    token = session_token()
    return await agents.agent_for_browser_session(token) if token else None


async def sign_out() -> None:
    if token := session_token():
        await agents.end_browser_session(token)


async def require_agent(request: Request) -> Agent | RedirectResponse:
    """The signed-in agent, or where to send the browser instead (set-up on first run, else sign-in,
    remembering where it was going)."""
    agent = await signed_in_agent()
    if agent is not None:
        return agent
    if await agents.agent_count() == 0:
        return RedirectResponse("/setup")
    return RedirectResponse(f"/signin?next={quote(_path_of(request), safe='')}")


def _path_of(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


@dataclass(frozen=True)
class Refusal:
    """Why a tab may no longer act for its agent. An action says it where it was refused; a tab sent to sign-in
    says it there (`/signin?ended=KEY`: the link names a fixed sentence, it carries no text)."""

    key: str
    reason: str
    sign_in_again: bool

    def for_action(self) -> str:
        return f"{self.reason}: nothing was changed." + (" Sign in again." if self.sign_in_again else "")

    def for_sign_in(self) -> str:
        return f"{self.reason}." + (" Sign in again." if self.sign_in_again else "")


SIGNED_OUT = Refusal("signed-out", "You are signed out", sign_in_again=True)
DEACTIVATED = Refusal("deactivated", "Your account was deactivated", sign_in_again=False)
SESSION_ENDED = Refusal("session-ended", "You were signed out (a sign-out or a password change)", sign_in_again=True)
NOT_ADMIN = Refusal("not-admin", "Only admins can do this", sign_in_again=False)
LIMITED = Refusal("limited", "Only agents who see every conversation can do this", sign_in_again=False)
ENDED = {refusal.key: refusal for refusal in (SIGNED_OUT, DEACTIVATED, SESSION_ENDED)}
LEAVE_SECONDS = 2.0  # a tab sent away that is still connected after this ignored the navigation


async def may_act(*, admin: bool = False) -> bool:
    """Every UI action that changes something asks this first, as the API checks every request: the agent this
    tab was opened for may since have been deactivated, demoted or signed out (a password change ends their
    other sessions). On refusal the tab says why and the action changes nothing."""
    refusal = await _refusal(admin=admin)
    if refusal is None:
        return True
    log.info("Refused a page action: %s", refusal.reason)
    ui.notify(refusal.for_action(), type="negative", multi_line=True)
    return False


async def may_read(*, admin: bool = False, sees_all: bool = False) -> bool:
    """Every UI action that shows more (a search, a filter, another page, a detail) asks this first, and so
    does an open tab when its agent's access changed (`bus.access_changed`). On refusal the tab shows nothing
    more: it leaves for sign-in, which says why (or, only no longer an admin or no longer seeing every
    conversation (`sees_all`), for the inbox), and is closed."""
    refusal = await _refusal(admin=admin, sees_all=sees_all)
    if refusal is None:
        return True
    log.info("A tab left: %s", refusal.reason)
    client = ui.context.client
    if refusal in (NOT_ADMIN, LIMITED):
        ui.navigate.to("/")
    else:
        ui.navigate.to(f"/signin?ended={refusal.key}&next={quote(_path_of(client.request), safe='')}")
    background_tasks.create(_close_once_left(client), name="close a tab sent away")
    return False


async def _close_once_left(client: Client) -> None:
    """A browser that follows the navigation has disconnected by now (NiceGUI closes such a tab after the
    reconnect window, sending it nothing meanwhile); a tab still connected ignored it and is closed now."""
    await asyncio.sleep(LEAVE_SECONDS)
    if client.has_socket_connection and not client.is_deleted:
        client.delete()


async def _refusal(*, admin: bool, sees_all: bool = False) -> Refusal | None:
    token = session_token()
    found = await agents.find_browser_session(token) if token else None
    if found is None:
        return SIGNED_OUT
    browser_session, agent = found
    if not agent.is_active:
        return DEACTIVATED
    if browser_session.ended_at is not None:
        return SESSION_ENDED
    if admin and not agents.is_admin(agent):
        return NOT_ADMIN
    if sees_all and not visibility.sees_all(agent):
        return LIMITED
    return None


async def follow_changes_of(agent: Agent) -> bool:
    """The tab's agent as stored now: who they are may have changed since the tab opened (`bus.access_changed`),
    and what the tab shows follows their role and which conversations they see. False when the tab may no longer
    read at all (the frame sends it away: `may_read`)."""
    if await _refusal(admin=False) is not None:
        return False
    stored = await agents.get_agent(agent.id)
    if stored is not None:
        agent.role, agent.sees = stored.role, stored.sees
    return stored is not None


@dataclass
class _Ticket:
    agent_id: int
    browser_id: str | None
    expires: float


class SignInTickets:
    """One-time hand-overs from a sign-in tab to `/signin/complete`, valid for a minute and only for the
    browser that signed in (someone else's ticket link cannot sign a victim into the sender's account)."""

    def __init__(self) -> None:
        self._open: dict[str, _Ticket] = {}

    def issue(self, agent_id: int, browser_id: str | None) -> str:
        now = time.monotonic()
        self._open = {key: ticket for key, ticket in self._open.items() if ticket.expires > now}
        key = secrets.token_urlsafe(32)
        self._open[key] = _Ticket(agent_id, browser_id, now + TICKET_SECONDS)
        return key

    def redeem(self, key: str, browser_id: str | None) -> int | None:
        ticket = self._open.pop(key, None)
        if ticket is None or ticket.browser_id != browser_id or ticket.expires < time.monotonic():
            return None
        return ticket.agent_id


def tickets() -> SignInTickets:
    return process_state.current().part(SignInTickets)


def complete_sign_in(agent: Agent, next_path: str | None) -> None:
    """From the sign-in tab, once the password was right: on to the request that renews the session."""
    ticket = tickets().issue(agent.id, _tab_cookie().get("id"))
    ui.navigate.to(f"{COMPLETE_PATH}?ticket={ticket}&next={quote(safe_next(next_path), safe='')}")


async def renew_session(request: Request, ticket: str = "", next: str = "/") -> RedirectResponse:
    """GET /signin/complete: redeem the ticket, end any session this browser had, start a new one."""
    agent_id = tickets().redeem(ticket, request.session.get("id"))
    token = await agents.start_browser_session(agent_id) if agent_id is not None else None
    if token is None:
        log.info("Refused a sign-in hand-over: the ticket was unknown, used, expired or for another browser")
        return RedirectResponse(f"/signin?next={quote(safe_next(next), safe='')}", status_code=303)
    if isinstance(previous := request.session.get(BROWSER_SESSION_KEY), str):
        await agents.end_browser_session(previous)
    request.session.clear()
    request.session["id"] = str(uuid.uuid4())
    request.session[BROWSER_SESSION_KEY] = token
    return RedirectResponse(safe_next(next), status_code=303)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_next(target: str | None) -> str:
    """Only a path on this site, else "/". Every percent-decoding of the target is checked, since browsers
    read `/\\evil.com` and `/<tab>/evil.com` as `//evil.com`, another host."""
    layers = [target or ""]
    while (decoded := unquote(layers[-1])) != layers[-1]:
        if len(layers) > 3:
            return "/"
        layers.append(decoded)
    return target if target and all(_same_origin_path(layer) for layer in layers) else "/"


def _same_origin_path(url: str) -> bool:
    if not url.startswith("/") or url.startswith("//") or "\\" in url or _CONTROL.search(url):
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not any(c.isspace() for c in parts.path)
