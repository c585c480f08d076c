"""Canned replies: saved texts an agent inserts by short code (`/refund` in the reply box).

Team replies belong to everyone and only admins change them; personal ones belong to their owner alone, whom
nobody else sees them (an admin included: another agent's personal reply is not there, 404). Short codes are
stored lowercase and are unique among the team's replies and among each agent's own; the database's partial
unique indexes decide, so two saves racing for one code end in a clean 409.

Every change is announced as `canned_responses_changed` with its owner (None: the team's), so the tabs that
list or insert them read them again.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, or_, select

from chathub import bus, db, relay
from chathub.models import Agent, CannedResponse, CannedScope, utcnow
from chathub.schemas import CannedResponseIn, CannedResponsePatch, CannedResponsesChanged
from chathub.services.agents import is_admin
from chathub.services.errors import Conflict, Forbidden, NotFound, ValidationFailed, require_row_id

SHORT_CODE = re.compile(r"[\w-]{1,50}")
MAX_CONTENT = 5000
TEAM = 0  # in the relay's announcement, the owner of team replies
VARIABLE = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


async def list_canned_responses(agent: Agent, *, q: str | None = None) -> list[CannedResponse]:
    """The team's replies and the agent's own, by short code; `q` keeps those whose code or content holds it."""
    query = select(CannedResponse).where(_visible_to(agent))
    needle = (q or "").replace("\x00", "").strip().lower()  # SQLite's LIKE stops reading at a NUL
    if needle:
        query = query.where(
            or_(
                col(CannedResponse.short_code).contains(needle, autoescape=True),
                func.lower(CannedResponse.content).contains(needle, autoescape=True),
            )
        )
    async with db.read_session() as session:
        rows = (await session.exec(query.order_by(CannedResponse.short_code, CannedResponse.scope))).all()
    return list(rows)


async def create_canned_response(agent: Agent, data: CannedResponseIn) -> CannedResponse:
    if data.scope == CannedScope.team and not is_admin(agent):
        raise Forbidden("only admins may add team replies; add it as a personal reply instead")
    row = CannedResponse(
        short_code=_short_code(data.short_code),
        content=_content(data.content),
        scope=data.scope,
        owner_id=agent.id if data.scope == CannedScope.personal else None,
    )
    try:
        async with db.write_session() as session:
            session.add(row)
            await _announce(session, row)
    except IntegrityError:
        raise _taken(row.scope, row.short_code) from None
    _emit(row)
    return row


async def update_canned_response(agent: Agent, canned_id: int, data: CannedResponsePatch) -> CannedResponse:
    short_code = None if data.short_code is None else _short_code(data.short_code)
    content = None if data.content is None else _content(data.content)
    scope = CannedScope.team
    try:
        async with db.write_session() as session:
            row = await _changeable(session, agent, canned_id)
            scope = row.scope
            row.short_code = short_code or row.short_code
            row.content = content or row.content
            row.updated_at = utcnow()
            await _announce(session, row)
    except IntegrityError:
        raise _taken(scope, short_code) from None
    _emit(row)
    return row


async def delete_canned_response(agent: Agent, canned_id: int) -> None:
    async with db.write_session() as session:
        row = await _changeable(session, agent, canned_id)
        await session.delete(row)
        await _announce(session, row)
    _emit(row)


def fill_variables(content: str, *, customer_name: str, agent_name: str) -> str:
    """The reply as the customer reads it: {{customer.name}}, {{customer.first_name}} and {{agent.name}}
    filled in; any other {{...}} stays as typed."""
    words = customer_name.split()
    values = {
        "customer.name": customer_name,
        "customer.first_name": words[0] if words else customer_name,
        "agent.name": agent_name,
    }
    return VARIABLE.sub(lambda match: values.get(match.group(1), match.group(0)), content)


def _visible_to(agent: Agent):
    return or_(
        col(CannedResponse.scope) == CannedScope.team,
        (col(CannedResponse.scope) == CannedScope.personal) & (col(CannedResponse.owner_id) == agent.id),
    )


async def _changeable(session, agent: Agent, canned_id: int) -> CannedResponse:
    """The reply this agent may change: their own personal one, or (admins) a team one."""
    require_row_id(canned_id, "canned reply")
    row = await session.get(CannedResponse, canned_id)
    if row is None or (row.scope == CannedScope.personal and row.owner_id != agent.id):
        raise NotFound(f"canned reply {canned_id} does not exist")
    if row.scope == CannedScope.team and not is_admin(agent):
        raise Forbidden("only admins may change team replies")
    return row


async def _announce(session, row: CannedResponse) -> None:
    await session.flush()  # a short code taken in its scope fails here, before the announcement
    relay.announce(session, "canned_responses_changed", row.owner_id or TEAM)


def _taken(scope: CannedScope, short_code: str | None) -> Conflict:
    return Conflict(f"a {scope.value} reply with the short code {short_code} already exists")


def _emit(row: CannedResponse) -> None:
    bus.canned_responses_changed.emit(CannedResponsesChanged(owner_id=row.owner_id))


def _short_code(value: str) -> str:
    code = value.strip().lower()
    if not SHORT_CODE.fullmatch(code):
        raise ValidationFailed("a short code is 1 to 50 letters, digits, - or _ (no spaces)")
    return code


def _content(value: str) -> str:
    if not value.strip():
        raise ValidationFailed("the content is empty")
    if len(value) > MAX_CONTENT:
        raise ValidationFailed(f"the content is {len(value)} characters long; at most {MAX_CONTENT} are kept")
    return value
