"""Agents, sign-in and API tokens."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select

from chathub import db
from chathub.auth import email_problem, hash_api_token, hash_password, new_api_token, password_problem, verify_password
from chathub.models import Agent, AgentRole, ApiToken, utcnow
from chathub.schemas import AgentIn
from chathub.services.errors import Conflict, ValidationFailed

TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


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
    if agent is None or not agent.is_active or not verify_password(password, agent.password_hash):
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
        row = (await session.exec(
            select(ApiToken, Agent).join(Agent, Agent.id == ApiToken.agent_id)
            .where(ApiToken.token_hash == hash_api_token(token), col(ApiToken.revoked_at).is_(None))
        )).first()
    if row is None or not row[1].is_active:
        return None
    api_token, agent = row
    if api_token.last_used_at is None or utcnow() - api_token.last_used_at > TOKEN_TOUCH_INTERVAL:
        async with db.write_session() as session:
            api_token.last_used_at = utcnow()
            session.add(api_token)
    return agent


async def list_agents() -> list[Agent]:
    async with db.read_session() as session:
        return list((await session.exec(select(Agent).order_by(Agent.id))).all())


async def agent_count() -> int:
    async with db.read_session() as session:
        return (await session.exec(select(func.count()).select_from(Agent))).one()


def is_admin(agent: Agent) -> bool:
    return agent.role == AgentRole.admin
