"""The REST API under /api/v1: parse the request, call a service, answer. Errors are {"detail": ...}."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Header, HTTPException, Path, Query, Request, Response, UploadFile, status

from chathub import process_state
from chathub.models import ConversationStatus, Priority, WebhookStatus
from chathub.routes.deps import AgentWhoSeesAll, BearerToken, CurrentAdmin, CurrentAgent
from chathub.schemas import (
    AgentIn,
    AgentOut,
    AgentPatch,
    ChannelHealthOut,
    ChannelIn,
    ChannelOut,
    ChannelPatch,
    ConversationLabelIn,
    ConversationOut,
    ConversationPatch,
    CustomerOut,
    CustomerPatch,
    LabelIn,
    LabelOut,
    LabelPatch,
    LoginIn,
    LoginOut,
    MessageIn,
    MessageOut,
    NotificationOut,
    NotificationsMarked,
    Page,
    WebhookLogDetail,
    WebhookLogOut,
)
from chathub.services import (
    agents,
    channels,
    conversations,
    customers,
    labels,
    media,
    notifications,
    outbound,
    visibility,
    webhooks,
)
from chathub.services.conversations import ConversationSort
from chathub.services.throttle import TooManyAttempts, sign_in

router = APIRouter(prefix="/api/v1")
RowId = Annotated[int, Path(ge=1, lt=2**63, description="a row id")]  # beyond SQLite's integers: 422, not 500
Limit = Annotated[int | None, Query(ge=1, le=100, description="at most 100")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
# An id filter beyond SQLite's 64-bit integers is a 422, not an OverflowError (500) in the query.
IdFilter = Annotated[int | None, Query(ge=-(2**63), lt=2**63)]


@router.post("/auth/login", tags=["auth"], responses={429: {"description": "Too many failed sign-ins"}})
async def login(body: LoginIn, request: Request) -> LoginOut:
    try:
        agent = await sign_in(body.email, body.password, request.client.host if request.client else None)
    except TooManyAttempts as refused:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, str(refused), headers={"Retry-After": str(refused.retry_after)}
        ) from None
    if agent is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    token = await agents.issue_api_token(agent.id, "API sign-in")
    return LoginOut(token=token, agent=AgentOut.model_validate(agent))


@router.get("/channels", tags=["channels"])
async def list_channels(_: CurrentAgent) -> dict[str, list[ChannelOut]]:
    return {"items": [channels.channel_out(c) for c in await channels.list_channels()]}


@router.post("/channels", status_code=201, tags=["channels"])
async def create_channel(body: ChannelIn, _: CurrentAdmin) -> ChannelOut:
    channel = await channels.create_channel(body)
    await channels.connect_channel(channel)
    return channels.channel_out(await channels.get_channel(channel.id))


@router.patch("/channels/{channel_id}", tags=["channels"])
async def update_channel(channel_id: RowId, body: ChannelPatch, _: CurrentAdmin) -> ChannelOut:
    channel = await channels.update_channel(channel_id, body)
    if body.config is not None or body.enabled or body.api_base_url is not None:
        await channels.connect_channel(channel)
    return channels.channel_out(await channels.get_channel(channel_id))


@router.get("/channels/{channel_id}/health", tags=["channels"])
async def channel_health(channel_id: RowId, _: CurrentAdmin) -> ChannelHealthOut:
    """Ask the provider whether the credentials work and how the webhook fares (Telegram's getWebhookInfo)."""
    return await channels.check_health(channel_id)


@router.get("/conversations", tags=["conversations"])
async def list_conversations(
    agent: CurrentAgent,
    status: ConversationStatus | None = None,
    channel_type: str | None = None,
    unread: bool | None = None,
    customer_id: IdFilter = None,
    assignee_id: IdFilter = None,
    unassigned: bool = False,
    q: str | None = None,
    limit: Limit = None,
    cursor: Cursor = None,
    channel_id: IdFilter = None,
    label: Annotated[list[str], Query(description="repeatable: conversations with all of these labels")] = [],  # noqa: B006
    priority: Priority | None = None,
    sort: Annotated[ConversationSort, Query(description="priority: urgent first, then by activity")] = (
        ConversationSort.activity
    ),
) -> Page[ConversationOut]:
    return await conversations.list_conversations(
        status=status,
        channel_type=channel_type,
        channel_id=channel_id,
        unread=unread,
        customer_id=customer_id,
        assignee_id=assignee_id,
        unassigned=unassigned,
        labels=label,
        priority=priority,
        sort=sort,
        q=q,
        limit=limit,
        cursor=cursor,
        viewer=agent,
    )


@router.get("/conversations/{conversation_id}", tags=["conversations"])
async def get_conversation(conversation_id: RowId, agent: CurrentAgent) -> ConversationOut:
    await visibility.require_conversation(agent, conversation_id)
    return await conversations.get_conversation(conversation_id)


@router.patch("/conversations/{conversation_id}", tags=["conversations"])
async def update_conversation(conversation_id: RowId, body: ConversationPatch, agent: CurrentAgent) -> ConversationOut:
    """An agent limited to their own conversations may assign one they see to anyone, themselves included;
    handed to someone else, it is no longer theirs to see."""
    await visibility.require_conversation(agent, conversation_id)
    return await conversations.update_conversation(conversation_id, body, actor=agent)


@router.post("/conversations/{conversation_id}/labels", tags=["labels"])
async def add_conversation_label(
    conversation_id: RowId, body: ConversationLabelIn, agent: CurrentAgent
) -> ConversationOut:
    """Put a label on the conversation by its name (any case); a label already there changes nothing."""
    await visibility.require_conversation(agent, conversation_id)
    return await labels.add_to_conversation(conversation_id, body.label, actor=agent)


@router.delete("/conversations/{conversation_id}/labels/{name}", tags=["labels"])
async def remove_conversation_label(conversation_id: RowId, name: str, agent: CurrentAgent) -> ConversationOut:
    await visibility.require_conversation(agent, conversation_id)
    return await labels.remove_from_conversation(conversation_id, name, actor=agent)


@router.get("/labels", tags=["labels"])
async def list_labels(_: CurrentAgent) -> dict[str, list[LabelOut]]:
    return {"items": await labels.list_labels()}


@router.post("/labels", status_code=201, tags=["labels"])
async def create_label(body: LabelIn, _: CurrentAdmin) -> LabelOut:
    """Names are unique whatever their case (409); a colour is `#rrggbb`."""
    return await labels.create_label(body)


@router.patch("/labels/{label_id}", tags=["labels"])
async def update_label(label_id: RowId, body: LabelPatch, _: CurrentAdmin) -> LabelOut:
    """A new name shows on every conversation that has the label."""
    return await labels.update_label(label_id, body)


@router.delete("/labels/{label_id}", status_code=204, tags=["labels"])
async def delete_label(label_id: RowId, _: CurrentAdmin) -> Response:
    """The label is taken off every conversation that has it."""
    await labels.delete_label(label_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/read", tags=["conversations"])
async def mark_conversation_read(conversation_id: RowId, agent: CurrentAgent) -> ConversationOut:
    await visibility.require_conversation(agent, conversation_id)
    return await conversations.mark_read(conversation_id)


@router.get("/conversations/{conversation_id}/messages", tags=["messages"])
async def list_messages(
    conversation_id: RowId, agent: CurrentAgent, limit: Limit = None, before: IdFilter = None, cursor: Cursor = None
) -> Page[MessageOut]:
    await visibility.require_conversation(agent, conversation_id)
    return await outbound.list_messages(conversation_id=conversation_id, limit=limit, before=before, cursor=cursor)


@router.post("/conversations/{conversation_id}/messages", status_code=201, tags=["messages"])
async def send_message(
    conversation_id: RowId,
    body: MessageIn,
    agent: CurrentAgent,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> MessageOut:
    await visibility.require_conversation(agent, conversation_id)
    if idempotency_key:
        body = body.model_copy(update={"client_id": idempotency_key})
    message, created = await outbound.send_message(conversation_id=conversation_id, message=body, agent_id=agent.id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return MessageOut.model_validate(message)


@router.post("/conversations/{conversation_id}/attachments", status_code=201, tags=["messages"])
async def send_attachment(
    conversation_id: RowId,
    agent: CurrentAgent,
    file: UploadFile,
    content: Annotated[str, Form(max_length=4096)] = "",
    client_id: Annotated[str | None, Form(max_length=200)] = None,
) -> MessageOut:
    """Send a file (multipart form: `file`, optional `content` as its caption): it goes out the channel's way."""
    await visibility.require_conversation(agent, conversation_id)
    data = await file.read(process_state.current().settings.max_media_bytes + 1)
    stored = media.store_upload(data, file_name=file.filename or "file", mime_type=file.content_type)
    message, _ = await outbound.send_message(
        conversation_id=conversation_id,
        agent_id=agent.id,
        attachment=stored,
        message=MessageIn(content=content, client_id=client_id),
    )
    return MessageOut.model_validate(message)


@router.post("/messages/{message_id}/retry", tags=["messages"])
async def retry_message(message_id: RowId, agent: CurrentAgent) -> MessageOut:
    await visibility.require_message(agent, message_id)
    return MessageOut.model_validate(await outbound.retry_message(message_id))


@router.get("/customers", tags=["customers"])
async def list_customers(
    agent: CurrentAgent, q: str | None = None, limit: Limit = None, cursor: Cursor = None
) -> Page[CustomerOut]:
    return await customers.list_customers(q=q, limit=limit, cursor=cursor, viewer=agent)


@router.get("/customers/{customer_id}", tags=["customers"])
async def get_customer(customer_id: RowId, agent: CurrentAgent) -> CustomerOut:
    await visibility.require_customer(agent, customer_id)
    return await customers.get_customer(customer_id)


@router.patch("/customers/{customer_id}", tags=["customers"])
async def update_customer(customer_id: RowId, body: CustomerPatch, agent: CurrentAgent) -> CustomerOut:
    await visibility.require_customer(agent, customer_id)
    return await customers.update_customer(customer_id, body)


@router.get("/webhook-logs", tags=["webhook logs"])
async def list_webhook_logs(
    _: AgentWhoSeesAll,
    status: WebhookStatus | None = None,
    channel_type: str | None = None,
    channel_id: IdFilter = None,
    since: datetime | None = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Page[WebhookLogOut]:
    return await webhooks.list_webhook_logs(
        status=status, channel_type=channel_type, channel_id=channel_id, since=since, limit=limit, cursor=cursor
    )


@router.get("/webhook-logs/{log_id}", tags=["webhook logs"])
async def get_webhook_log(log_id: RowId, _: AgentWhoSeesAll) -> WebhookLogDetail:
    return await webhooks.get_webhook_log(log_id)


@router.post("/webhook-logs/{log_id}/replay", tags=["webhook logs"])
async def replay_webhook_log(log_id: RowId, _: AgentWhoSeesAll) -> WebhookLogOut:
    return await webhooks.replay_webhook(log_id)


@router.get("/agents", tags=["agents"])
async def list_agents(_: CurrentAgent) -> dict[str, list[AgentOut]]:
    return {"items": [AgentOut.model_validate(a) for a in await agents.list_agents()]}


@router.post("/agents", status_code=201, tags=["agents"])
async def create_agent(body: AgentIn, _: CurrentAdmin) -> AgentOut:
    return AgentOut.model_validate(await agents.create_agent(body))


@router.patch("/agents/{agent_id}", tags=["agents"])
async def update_agent(agent_id: RowId, body: AgentPatch, _: CurrentAdmin, token: BearerToken) -> AgentOut:
    """Change an agent (admins): `name`, `role`, `active`, `password`, `sees` (`all`, or `mine_and_unassigned`:
    the conversations assigned to them and unassigned ones; admins always see all). A new password or
    `active: false` ends that agent's API tokens and browser sessions (an admin changing their own password keeps
    the token of this request). The last active admin can be neither demoted nor deactivated (409)."""
    agent = await agents.update_agent(
        agent_id,
        name=body.name,
        role=body.role,
        is_active=body.active,
        password=body.password,
        sees=body.sees,
        keep=token.credentials if token else None,
    )
    return AgentOut.model_validate(agent)


@router.get("/notifications", tags=["notifications"])
async def list_notifications(
    agent: CurrentAgent, unread_only: bool = False, limit: Limit = None, cursor: Cursor = None
) -> Page[NotificationOut]:
    """The caller's notifications, newest first: `mention`, `assigned`, `customer_replied`."""
    return await notifications.list_for(agent.id, unread_only=unread_only, limit=limit, cursor=cursor)


@router.post("/notifications/read-all", tags=["notifications"])
async def mark_all_notifications_read(agent: CurrentAgent) -> NotificationsMarked:
    """Mark all the caller's notifications read; answers how many were unread."""
    return NotificationsMarked(marked=await notifications.mark_all_read(agent.id))


@router.post("/notifications/{notification_id}/read", tags=["notifications"])
async def mark_notification_read(notification_id: RowId, agent: CurrentAgent) -> NotificationOut:
    """Mark one of the caller's notifications read (again: nothing changes)."""
    return await notifications.mark_read(agent.id, notification_id)
