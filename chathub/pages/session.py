"""Who is signed in in this browser: the agent's id in `app.storage.user` (a signed cookie session)."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app

from chathub.models import Agent
from chathub.services import agents


async def signed_in_agent() -> Agent | None:
    agent_id = app.storage.user.get("agent_id")
    agent = await agents.get_agent(agent_id) if agent_id else None
    if agent is None or not agent.is_active:
        app.storage.user.pop("agent_id", None)
        return None
    return agent


def remember(agent: Agent) -> None:
    app.storage.user["agent_id"] = agent.id


def forget() -> None:
    app.storage.user.pop("agent_id", None)


async def require_agent(request: Request) -> Agent | RedirectResponse:
    """The signed-in agent, or where to send the browser instead (set-up on first run, else sign-in,
    remembering where it was going)."""
    agent = await signed_in_agent()
    if agent is not None:
        return agent
    if await agents.agent_count() == 0:
        return RedirectResponse("/setup")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target, safe='')}")


def safe_next(target: str | None) -> str:
    """Only local paths: never send a signed-in agent to another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


async def still_admin(agent: Agent) -> bool:
    """Whether the agent a page was built for is still an active admin: admin-only actions check again
    when they run (they may have been demoted or deactivated since the page loaded)."""
    current = await agents.get_agent(agent.id)
    return current is not None and current.is_active and agents.is_admin(current)
