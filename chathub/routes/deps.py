"""Request dependencies for the REST API: the signed-in agent behind a bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chathub.models import Agent
from chathub.services import agents, visibility

_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/auth/login")


async def current_agent(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Agent:
    agent = await agents.agent_for_token(credentials.credentials) if credentials else None
    if agent is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    return agent


async def current_admin(agent: Annotated[Agent, Depends(current_agent)]) -> Agent:
    if not agents.is_admin(agent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins may do this")
    return agent


async def agent_who_sees_all(agent: Annotated[Agent, Depends(current_agent)]) -> Agent:
    """For what shows every customer's messages at once (webhook logs): not for agents limited to their own."""
    if not visibility.sees_all(agent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "agents limited to their own conversations cannot see this")
    return agent


CurrentAgent = Annotated[Agent, Depends(current_agent)]
AgentWhoSeesAll = Annotated[Agent, Depends(agent_who_sees_all)]
BearerToken = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]  # the same one current_agent read
CurrentAdmin = Annotated[Agent, Depends(current_admin)]
