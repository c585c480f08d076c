"""Agents, sign-in, browser sessions and API tokens.

A password change or a deactivation ends the agent's access everywhere: every API token is revoked and
every browser session ended, except (for a password change) the one credential the change came from.
Revoked tokens stay revoked, so a reactivated agent signs in afresh. Each such change, and every ended
browser session, is announced (`bus.access_changed`), so the agent's open tabs check their access again.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select

from chathub import bus, db, relay
from chathub.auth import (
    email_problem,
    hash_api_token,
    hash_password,
    new_api_token,
    password_problem,
    spend_a_password_check,
    verify_password,
)
from chathub.models import Agent, AgentRole, ApiToken, BrowserSession, Visibility, utcnow
from chathub.schemas import AccessChanged, AgentIn, ApiTokenUsed
from chathub.services.errors import Conflict, NotFound, ValidationFailed

# "last used" is stored at most once a minute per token: as precise as the Profile page says it
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


async def create_agent(data: AgentIn) -> Agent:
    email = data.email.strip().lower()
    name = data.name.strip()
    problem = email_problem(email) or password_problem(data.password) or (None if name else "the name is empty")
    if problem:
        raise ValidationFailed(problem)
    agent = Agent(email=email, name=name, role=data.role, password_hash=hash_password(data.password))
    try:
        async with db.write_session() as session:
            session.add(agent)
    except IntegrityError:
        raise Conflict(f"an agent with the email {email} already exists") from None
    return agent


async def authenticate(email: str, password: str) -> Agent | None:
    async with db.read_session() as session:
        agent = (await session.exec(select(Agent).where(Agent.email == email.strip().lower()))).first()
    if agent is None:
        spend_a_password_check(password)
        return None
    if not verify_password(password, agent.password_hash) or not agent.is_active:
        return None
    return agent


async def issue_api_token(agent_id: int, name: str) -> str:
    """A new token for the agent; its plain text exists only in the return value."""
    token, token_hash = new_api_token()
    async with db.write_session() as session:
        session.add(ApiToken(agent_id=agent_id, name=name, token_hash=token_hash))
    return token


async def agent_for_token(token: str) -> Agent | None:
    async with db.read_session() as session:
        row = (
            await session.exec(
                select(ApiToken, Agent)
                .join(Agent, Agent.id == ApiToken.agent_id)
                .where(ApiToken.token_hash == hash_api_token(token), col(ApiToken.revoked_at).is_(None))
            )
        ).first()
    if row is None or not row[1].is_active:
        return None
    api_token, agent = row
    if api_token.last_used_at is None or utcnow() - api_token.last_used_at > TOKEN_TOUCH_INTERVAL:
        await _record_use(api_token)
    return agent


async def _record_use(api_token: ApiToken) -> None:
    used_at = utcnow()
    async with db.write_session() as session:
        await session.exec(sa.update(ApiToken).where(col(ApiToken.id) == api_token.id).values(last_used_at=used_at))
        relay.announce(session, "api_token_used", api_token.id)
    bus.api_token_used.emit(ApiTokenUsed(agent_id=api_token.agent_id, token_id=api_token.id, last_used_at=used_at))


async def start_browser_session(agent_id: int) -> str | None:
    """A new browser session for an active agent: the token goes into the session cookie, its hash here."""
    token, token_hash = new_api_token()
    async with db.write_session() as session:
        agent = await session.get(Agent, agent_id)
        if agent is None or not agent.is_active:
            return None
        session.add(BrowserSession(agent_id=agent_id, token_hash=token_hash))
    return token


async def find_browser_session(token: str) -> tuple[BrowserSession, Agent] | None:
    """The session a browser's token names and its agent, ended or not (to tell a signed-out tab why)."""
    async with db.read_session() as session:
        row = (
            await session.exec(
                select(BrowserSession, Agent)
                .join(Agent, Agent.id == BrowserSession.agent_id)
                .where(BrowserSession.token_hash == hash_api_token(token))
            )
        ).first()
    return (row[0], row[1]) if row is not None else None


async def agent_for_browser_session(token: str) -> Agent | None:
    found = await find_browser_session(token)
    if found is None or found[0].ended_at is not None or not found[1].is_active:
        return None
    return found[1]


async def end_browser_session(token: str) -> None:
    async with db.write_session() as session:
        ended = await session.exec(
            sa.update(BrowserSession)
            .where(
                col(BrowserSession.token_hash) == hash_api_token(token),
                col(BrowserSession.ended_at).is_(None),
            )
            .values(ended_at=utcnow())
            .returning(BrowserSession.agent_id)
        )
        agent_id = ended.scalar_one_or_none()
        if agent_id is not None:
            relay.announce(session, "access_changed", agent_id)
    if agent_id is not None:
        bus.access_changed.emit(AccessChanged(agent_id=agent_id))


async def _end_access(session, agent_id: int, *, keep: str | None = None) -> None:
    """Revoke the agent's API tokens and end their browser sessions, all but the credential `keep`."""
    kept_hash = hash_api_token(keep) if keep else ""
    now = utcnow()
    await session.exec(
        sa.update(ApiToken)
        .where(
            col(ApiToken.agent_id) == agent_id,
            col(ApiToken.revoked_at).is_(None),
            col(ApiToken.token_hash) != kept_hash,
        )
        .values(revoked_at=now)
    )
    await session.exec(
        sa.update(BrowserSession)
        .where(
            col(BrowserSession.agent_id) == agent_id,
            col(BrowserSession.ended_at).is_(None),
            col(BrowserSession.token_hash) != kept_hash,
        )
        .values(ended_at=now)
    )


async def list_agents() -> list[Agent]:
    async with db.read_session() as session:
        return list((await session.exec(select(Agent).order_by(Agent.id))).all())


async def agent_count() -> int:
    async with db.read_session() as session:
        return (await session.exec(select(func.count()).select_from(Agent))).one()


def is_admin(agent: Agent) -> bool:
    return agent.role == AgentRole.admin


async def get_agent(agent_id: int) -> Agent | None:
    async with db.read_session() as session:
        return await session.get(Agent, agent_id)


async def create_first_admin(*, email: str, name: str, password: str) -> Agent:
    """The first-run set-up: only while no agent exists at all."""
    if await agent_count() > 0:
        raise Conflict("an admin already exists: sign in instead")
    return await create_agent(AgentIn(email=email, name=name, password=password, role=AgentRole.admin))


async def update_agent(
    agent_id: int,
    *,
    name: str | None = None,
    role: AgentRole | None = None,
    is_active: bool | None = None,
    password: str | None = None,
    sees: Visibility | None = None,
    keep: str | None = None,
) -> Agent:
    """An admin's changes to an agent; the last active admin cannot be demoted or deactivated. A new password
    or a deactivation ends the agent's sessions and tokens; `keep` is the caller's own browser session or
    API token, which a password change leaves working."""
    if name is not None and not name.strip():
        raise ValidationFailed("the name is empty")
    if password is not None and (problem := password_problem(password)):
        raise ValidationFailed(problem)
    async with db.write_session() as session:
        agent = await session.get(Agent, agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} does not exist")
        loses_admin = (
            agent.role == AgentRole.admin and agent.is_active and (role == AgentRole.agent or is_active is False)
        )
        if loses_admin and await _active_admin_count(session) <= 1:
            raise Conflict("this is the last active admin: make another admin first")
        if name is not None:
            agent.name = name.strip()
        if role is not None:
            agent.role = role
        if is_active is not None:
            agent.is_active = is_active
        if password is not None:
            agent.password_hash = hash_password(password)
        if sees is not None:
            agent.sees = sees
        session.add(agent)
        if is_active is False or password is not None:
            await _end_access(session, agent_id, keep=None if is_active is False else keep)
        access_changed = any(change is not None for change in (role, is_active, password, sees))
        if access_changed:
            relay.announce(session, "access_changed", agent_id)
    if access_changed:
        bus.access_changed.emit(AccessChanged(agent_id=agent_id))
    return agent


async def set_browser_notifications(agent_id: int, on: bool) -> None:
    """The agent's own choice: their notifications also show as the browser's while ChatHub's tab is hidden."""
    async with db.write_session() as session:
        agent = await session.get(Agent, agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} does not exist")
        agent.browser_notifications = on
        session.add(agent)


async def change_own_password(agent_id: int, *, current: str, new: str, keep: str | None = None) -> None:
    """The agent's own change: `keep` (the browser session it came from) stays signed in, nothing else."""
    agent = await get_agent(agent_id)
    if agent is None or not verify_password(current, agent.password_hash):
        raise ValidationFailed("the current password is wrong")
    await update_agent(agent_id, password=new, keep=keep)


async def list_api_tokens(agent_id: int) -> list[ApiToken]:
    async with db.read_session() as session:
        return list(
            (
                await session.exec(
                    select(ApiToken)
                    .where(ApiToken.agent_id == agent_id, col(ApiToken.revoked_at).is_(None))
                    .order_by(col(ApiToken.id).desc())
                )
            ).all()
        )


async def revoke_api_token(agent_id: int, token_id: int) -> None:
    async with db.write_session() as session:
        token = await session.get(ApiToken, token_id)
        if token is None or token.agent_id != agent_id:
            raise NotFound(f"token {token_id} does not exist")
        token.revoked_at = utcnow()
        session.add(token)


async def _active_admin_count(session) -> int:
    return (
        await session.exec(
            select(func.count()).select_from(Agent).where(Agent.role == AgentRole.admin, col(Agent.is_active).is_(True))
        )
    ).one()


async def create_api_token(*, agent_id: int, name: str) -> str:
    """A named token an agent makes for themselves (an integration, a script); shown once."""
    name = name.strip()
    if not name:
        raise ValidationFailed("the token needs a name")
    if len(name) > 100:
        raise ValidationFailed("the token name is too long (at most 100 characters)")
    return await issue_api_token(agent_id, name)
