"""/api/v1/canned-responses: the team's saved replies and each agent's own (rules in services.canned_responses)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from chathub.routes.api import RowId
from chathub.routes.deps import CurrentAgent
from chathub.schemas import CannedResponseIn, CannedResponseOut, CannedResponsePatch
from chathub.services import canned_responses

router = APIRouter(prefix="/api/v1/canned-responses", tags=["canned responses"])


@router.get("")
async def list_canned_responses(agent: CurrentAgent, q: str | None = None) -> dict[str, list[CannedResponseOut]]:
    """The team's replies and the caller's personal ones, by short code; `q` keeps those whose short code or
    content holds it (any case)."""
    rows = await canned_responses.list_canned_responses(agent, q=q)
    return {"items": [CannedResponseOut.model_validate(row) for row in rows]}


@router.post("", status_code=201, responses={409: {"description": "The short code is taken in that scope"}})
async def create_canned_response(body: CannedResponseIn, agent: CurrentAgent) -> CannedResponseOut:
    """`scope: "team"` (admins) or `"personal"` (the default: the caller's own). Short codes: 1 to 50 letters,
    digits, `-` or `_`, stored lowercase, unique among the team's replies and among each agent's own (409)."""
    return CannedResponseOut.model_validate(await canned_responses.create_canned_response(agent, body))


@router.patch("/{canned_id}", responses={409: {"description": "The short code is taken in that scope"}})
async def update_canned_response(canned_id: RowId, body: CannedResponsePatch, agent: CurrentAgent) -> CannedResponseOut:
    """Change `short_code` and/or `content`: your own personal replies, or (admins) the team's."""
    return CannedResponseOut.model_validate(await canned_responses.update_canned_response(agent, canned_id, body))


@router.delete("/{canned_id}", status_code=204)
async def delete_canned_response(canned_id: RowId, agent: CurrentAgent) -> Response:
    await canned_responses.delete_canned_response(agent, canned_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
