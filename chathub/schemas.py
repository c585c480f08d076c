"""API and event payloads, kept apart from the tables. Events on the bus carry these, so a page that
receives one has everything it shows without a query."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Optional, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from chathub.models import (
    AgentRole, ChannelType, ContentType, ConversationStatus, MessageDirection, MessageStatus, WebhookStatus,
)

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: Optional[str] = None


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AgentOut(Out):
    id: int
    email: str
    name: str
    role: AgentRole
    is_active: bool = True


class ChannelRef(Out):
    id: int
    type: ChannelType
    name: str


class ChannelOut(ChannelRef):
    enabled: bool
    webhook_url: str
    has_secret: bool = False
    api_base_url: Optional[str] = None
    config: dict[str, Any] = {}


class CustomerRef(Out):
    id: int
    name: str


class IdentityOut(Out):
    channel_id: int
    external_id: str


class CustomerOut(Out):
    id: int
    name: str
    phone: Optional[str] = None
    email: Optional[str] = None
    notes: str = ""
    identities: list[IdentityOut] = []
    created_at: datetime


class ConversationOut(Out):
    id: int
    status: ConversationStatus
    unread_count: int
    last_message_at: datetime
    last_message_preview: str
    customer: CustomerRef
    channel: ChannelRef
    assignee_id: Optional[int] = None
    snoozed_until: Optional[datetime] = None
    created_at: datetime


class MessageOut(Out):
    id: int
    conversation_id: int
    channel_id: int
    direction: MessageDirection
    content_type: ContentType
    content: str
    media_url: Optional[str] = None
    media_mime_type: Optional[str] = None
    file_name: Optional[str] = None
    payload: Optional[dict[str, Any]] = None
    status: MessageStatus
    external_id: Optional[str] = None
    client_id: Optional[str] = None
    error: Optional[str] = None
    attempts: int
    agent_id: Optional[int] = None
    created_at: datetime
    sent_at: Optional[datetime] = None
    delivered_at: Optional[datetime] = None
    read_at: Optional[datetime] = None


class WebhookLogOut(Out):
    id: int
    channel_id: Optional[int] = None
    channel_type: Optional[str] = None
    status: WebhookStatus
    http_status: int
    attempts: int
    error: Optional[str] = None
    received_at: datetime
    processed_at: Optional[datetime] = None
    message_id: Optional[int] = None


class WebhookLogDetail(WebhookLogOut):
    headers: dict[str, Any]
    body: str


# ---- requests ----

class LoginIn(BaseModel):
    email: str
    password: str


class LoginOut(BaseModel):
    token: str
    agent: AgentOut


class ChannelIn(BaseModel):
    type: ChannelType
    name: str = Field(min_length=1, max_length=100)
    config: dict[str, Any] = {}
    webhook_secret: Optional[str] = None
    api_base_url: Optional[str] = None
    enabled: bool = True


class ChannelPatch(BaseModel):
    name: Optional[str] = Field(default=None, min_length=1, max_length=100)
    config: Optional[dict[str, Any]] = None
    webhook_secret: Optional[str] = None
    api_base_url: Optional[str] = None
    enabled: Optional[bool] = None


class ConversationPatch(BaseModel):
    status: Optional[ConversationStatus] = None
    assignee_id: Optional[int] = None
    snoozed_until: Optional[datetime] = None


class MessageIn(BaseModel):
    content: str = ""
    content_type: ContentType = ContentType.text
    media_url: Optional[str] = None
    file_name: Optional[str] = None
    payload: Optional[dict[str, Any]] = None
    client_id: Optional[str] = Field(default=None, max_length=200)


class CustomerPatch(BaseModel):
    name: Optional[str] = Field(default=None, min_length=1, max_length=200)
    email: Optional[str] = None
    phone: Optional[str] = None
    notes: Optional[str] = None


class AgentIn(BaseModel):
    email: str
    name: str
    password: str
    role: AgentRole = AgentRole.agent


# ---- live collaboration (events only) ----

class TypingSignal(BaseModel):
    conversation_id: int
    name: str
    agent_id: Optional[int] = None  # None: the customer
    expires_at: datetime


class ViewersChanged(BaseModel):
    conversation_id: int
    viewers: dict[int, str]  # agent id -> name


class PresenceChanged(BaseModel):
    agent_id: int
    status: str  # online | away | offline
