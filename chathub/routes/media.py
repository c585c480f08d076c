"""Files ChatHub keeps: served to signed-in agents (browser session or API token), and to a provider holding
a signed, unexpired link for an attachment it must fetch itself."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, status
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nicegui import app

from chathub.auth import BROWSER_SESSION_KEY
from chathub.models import Agent
from chathub.services import agents, media, visibility
from chathub.services.errors import NotFound

router = APIRouter(prefix="/media", tags=["media"])
MessageId = Annotated[int, Path(ge=1, lt=2**63)]
_bearer = HTTPBearer(auto_error=False)


async def _signed_in(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Agent:
    if credentials is not None and (agent := await agents.agent_for_token(credentials.credentials)) is not None:
        return agent
    browser_session = app.storage.browser.get(BROWSER_SESSION_KEY)
    agent = await agents.agent_for_browser_session(browser_session) if isinstance(browser_session, str) else None
    if agent is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "sign in to see this file", headers={"WWW-Authenticate": "Bearer"}
        )
    return agent


@router.get("/{message_id}", summary="A message's file, for agents who see its conversation")
async def message_file(message_id: MessageId, agent: Annotated[Agent, Depends(_signed_in)]) -> FileResponse:
    await visibility.require_message(agent, message_id, media.NO_FILE)
    return _file_response(await media.file_of_message(message_id))


@router.get("/public/{message_id}/{expires}/{signature}", summary="An attachment, for the provider sending it")
async def public_file(message_id: MessageId, expires: int, signature: str) -> FileResponse:
    if not media.public_link_valid(message_id, expires, signature):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid (any more)")
    try:
        return _file_response(await media.file_of_message(message_id, outbound_only=True))
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid (any more)") from None


def _file_response(served: media.ServedFile) -> FileResponse:
    disposition = "inline" if served.inline else "attachment"
    mime = served.mime_type if served.inline else "application/octet-stream"
    return FileResponse(
        served.path,
        media_type=mime,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(served.file_name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )
