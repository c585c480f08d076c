"""API and event payloads, kept apart from the tables. Events on the bus carry these, so a page that
receives one has everything it shows without a query."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    computed_field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from chathub.models import (
    AgentRole,
    CannedScope,
    ContentType,
    ConversationStatus,
    MediaStatus,
    MessageDirection,
    MessageKind,
    MessageStatus,
    NotificationType,
    Priority,
    Visibility,
    WebhookStatus,
)
from chathub.spelling import did_you_mean

T = TypeVar("T")
INT64 = range(-(2**63), 2**63)


MAX_JSON_DEPTH = 100  # orjson refuses more than 255 levels


def json_safe(value: Any, depth: int = 0) -> Any:
    """JSON a client can read: integers beyond 64 bits (which a provider's raw payload or a channel's config
    may hold) become strings, and nesting deeper than MAX_JSON_DEPTH is cut off. The app's JSON encoder
    (orjson) refuses both, which was a 500."""
    if isinstance(value, (dict, list, tuple)) and depth >= MAX_JSON_DEPTH:
        return "(nested too deep to show)"
    if isinstance(value, dict):
        return {key: json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item, depth + 1) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and value not in INT64:
        return str(value)
    return value


JsonObject = Annotated[dict[str, Any], PlainSerializer(json_safe, when_used="json")]


def refuse_null(*fields: str):
    """A patch's explicit `null` for these fields is a 422 (leave a field out to keep it), rather than a
    500 from the NOT NULL column it would reach."""

    def check(cls, data: Any) -> Any:
        if isinstance(data, dict) and (nulls := [name for name in fields if name in data and data[name] is None]):
            raise ValueError(f"{' and '.join(nulls)} cannot be null")
        return data

    return model_validator(mode="before")(classmethod(check))


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AgentOut(Out):
    id: int
    email: str
    name: str
    role: AgentRole
    is_active: bool = True
    sees: Visibility = Visibility.all


class ChannelRef(Out):
    id: int
    type: str  # a registered driver's type
    name: str


class ChannelOut(ChannelRef):
    enabled: bool
    webhook_url: str
    has_secret: bool = False
    api_base_url: str | None = None
    config: JsonObject = {}
    problem: str | None = None  # e.g. the provider rejected the credentials
    verified_at: datetime | None = None  # when the provider last confirmed the channel works
    auto_assign: bool = False
    max_open_per_agent: int = 0  # 0: no limit


class ChannelHealthOut(BaseModel):
    ok: bool
    summary: str
    details: dict[str, Any] = {}


class CustomerRef(Out):
    id: int
    name: str


class IdentityOut(Out):
    channel_id: int
    external_id: str


class CustomerOut(Out):
    id: int
    name: str
    phone: str | None = None
    email: str | None = None
    notes: str = ""
    identities: list[IdentityOut] = []
    created_at: datetime


class SearchMatch(BaseModel):
    """In a search's results: the latest matching message's text around the match, and where the matched words
    are in it (`[start, end)` offsets into `snippet`)."""

    message_id: int
    snippet: str
    highlights: list[tuple[int, int]]


class ConversationOut(Out):
    id: int
    status: ConversationStatus
    unread_count: int
    last_message_at: datetime  # when ChatHub received or queued its latest message: the inbox's order
    last_message_preview: str
    failed_replies: int = 0  # replies that failed to send and were not retried
    search_match: SearchMatch | None = None  # only in search results, for a match in message text
    customer: CustomerRef
    channel: ChannelRef
    assignee_id: int | None = None
    snoozed_until: datetime | None = None
    priority: Priority = Priority.none
    labels: list[str] = []  # label names
    created_at: datetime


class MessageOut(Out):
    id: int
    conversation_id: int
    channel_id: int
    direction: MessageDirection
    kind: MessageKind = MessageKind.message  # note: agents only; activity: a system line
    mentions: list[int] | None = None  # a note's mentioned agent ids
    content_type: ContentType
    content: str
    media_url: str | None = None
    media_mime_type: str | None = None
    file_name: str | None = None
    media_status: MediaStatus | None = None  # pending: still being fetched from the provider
    media_size: int | None = None
    payload: JsonObject | None = None
    status: MessageStatus
    external_id: str | None = None
    client_id: str | None = None
    error: str | None = None
    attempts: int
    possibly_sent_twice: bool = False  # sent again after a crash cut a send short
    agent_id: int | None = None
    created_at: datetime  # an inbound message's provider time (never later than its arrival)
    received_at: datetime | None = None  # an inbound message's arrival at ChatHub
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    edited_at: datetime | None = None

    @model_validator(mode="after")
    def _customer_url_as_text(self) -> MessageOut:
        """A customer's own media URL (rows stored before ChatHub fetched them) is never handed out as one to
        load: it moves to payload.source_url, as new rows keep it."""
        if self.direction == MessageDirection.inbound and self.media_url and not self.media_url.startswith("/media/"):
            self.payload = {**(self.payload or {}), "source_url": self.media_url}
            self.media_url = None
        return self

    @computed_field
    @property
    def private(self) -> bool:
        """A note: only agents see it, and it never reaches the customer."""
        return self.kind == MessageKind.note


class LabelOut(Out):
    id: int
    name: str
    color: str  # #rrggbb
    description: str = ""


class WebhookLogOut(Out):
    id: int
    channel_id: int | None = None
    channel_type: str | None = None
    status: WebhookStatus
    http_status: int
    attempts: int
    error: str | None = None
    received_at: datetime
    processed_at: datetime | None = None
    message_id: int | None = None


class WebhookLogDetail(WebhookLogOut):
    headers: dict[str, Any]
    body: str


# ---- requests ----


class In(BaseModel):
    """Base of every request body. A field the request does not take is a 422 that names it (a misspelt
    `state` for `status` was answered 200 and changed nothing); booleans and numbers are taken as JSON
    booleans and numbers only (StrictBool, StrictInt), not "yes" or "5"."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_fields_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and (unknown := [key for key in data if key not in cls.model_fields]):
            known = list(cls.model_fields)
            named = ", ".join(f"'{key}'" + did_you_mean(str(key), known) for key in unknown)
            raise PydanticCustomError(
                "unknown_field",
                "{sentence}",
                {"sentence": f"unknown field {named}; this request takes {', '.join(known)}"},
            )
        return data


class LoginIn(In):
    email: str
    password: str


class LoginOut(BaseModel):
    token: str
    agent: AgentOut


class ChannelIn(In):
    type: str = Field(min_length=1, max_length=100)  # checked against the driver registry by the service
    name: str = Field(min_length=1, max_length=100)
    config: dict[str, Any] = {}
    webhook_secret: str | None = None
    api_base_url: str | None = None
    enabled: StrictBool = True
    auto_assign: StrictBool = False
    max_open_per_agent: StrictInt = Field(default=0, ge=0, le=10_000)  # 0: no limit


class ChannelPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    config: dict[str, Any] | None = None
    webhook_secret: str | None = None
    api_base_url: str | None = None
    enabled: StrictBool | None = None
    auto_assign: StrictBool | None = None
    max_open_per_agent: StrictInt | None = Field(default=None, ge=0, le=10_000)  # 0: no limit
    # webhook_secret, api_base_url: null clears them
    _no_nulls = refuse_null("name", "config", "enabled", "auto_assign", "max_open_per_agent")


class ConversationPatch(In):
    status: ConversationStatus | None = None
    assignee_id: StrictInt | None = Field(default=None, ge=-(2**63), lt=2**63)  # beyond SQLite's integers: 422
    snoozed_until: datetime | None = None
    priority: Priority | None = None
    _no_nulls = refuse_null("status", "priority")  # assignee_id: null unassigns


def _one_line_label_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 50:
        raise ValueError("a label name is 1 to 50 characters")
    if len(name.splitlines()) > 1:
        raise ValueError("a label name is one line")
    return name


def _hex_color(color: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        raise ValueError("a colour is written #rrggbb")
    return color.lower()


LabelName = Annotated[str, AfterValidator(_one_line_label_name)]
LabelColor = Annotated[str, AfterValidator(_hex_color)]


class LabelIn(In):
    name: LabelName
    color: LabelColor = "#1976d2"
    description: str = Field(default="", max_length=500)


class LabelPatch(In):
    name: LabelName | None = None
    color: LabelColor | None = None
    description: str | None = Field(default=None, max_length=500)
    _no_nulls = refuse_null("name", "color", "description")


class ConversationLabelIn(In):
    label: str = Field(min_length=1, max_length=50)


RowIdIn = Annotated[StrictInt, Field(ge=1, lt=2**63)]  # beyond SQLite's integers: 422


class MessageIn(In):
    content: str = ""
    content_type: ContentType = ContentType.text
    media_url: str | None = None
    file_name: str | None = None
    payload: dict[str, Any] | None = None
    client_id: str | None = Field(default=None, max_length=200)
    private: StrictBool = False  # a note: agents only, never sent to the customer
    mentions: list[RowIdIn] = Field(default=[], max_length=50)  # agent ids a note mentions

    @model_validator(mode="after")
    def _mentions_and_media_on_notes(self) -> MessageIn:
        if self.mentions and not self.private:
            raise ValueError('mentions are only allowed on a note ("private": true)')
        if self.private and (self.content_type != ContentType.text or self.media_url or self.file_name or self.payload):
            raise ValueError("a note is text only: no media_url, file_name, payload or content_type but text")
        return self


class CustomerPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = None
    phone: str | None = None
    notes: str | None = None
    _no_nulls = refuse_null("notes")  # email, phone: null clears them; a null name is the service's 422


class AgentIn(In):
    email: str
    name: str
    password: str
    role: AgentRole = AgentRole.agent


class AgentPatch(In):
    """An admin's changes to an agent: leave a key out to keep it; any other key is a 422 that names it."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: AgentRole | None = None
    active: bool | None = Field(default=None, strict=True)
    password: str | None = Field(default=None, max_length=1000)
    sees: Visibility | None = None  # "all", or "mine_and_unassigned": assigned to them, and unassigned ones
    _no_nulls = refuse_null("name", "role", "active", "password", "sees")


class NotificationOut(Out):
    id: int
    agent_id: int  # who is told
    type: NotificationType
    conversation_id: int
    message_id: int | None = None
    actor_id: int | None = None
    text: str
    read_at: datetime | None = None
    created_at: datetime


class NotificationsMarked(BaseModel):
    marked: int  # how many were unread


# ---- live collaboration (events only) ----


class TypingSignal(BaseModel):
    conversation_id: int
    name: str
    agent_id: int | None = None  # None: the customer
    expires_at: datetime


class ViewersChanged(BaseModel):
    conversation_id: int
    viewers: dict[int, str]  # agent id -> name


class PresenceChanged(BaseModel):
    agent_id: int
    status: str  # online | away | offline


class NotificationsRead(BaseModel):
    """The agent read some of their notifications (in any tab, on any instance): their bells count again."""

    agent_id: int


class AccessChanged(BaseModel):
    """An agent's access changed: deactivated, role or password changed, or one of their sessions ended."""

    agent_id: int


class ApiTokenUsed(BaseModel):
    agent_id: int
    token_id: int
    last_used_at: datetime


# ---- canned replies ----


class CannedResponseOut(Out):
    id: int
    short_code: str
    content: str
    scope: CannedScope
    owner_id: int | None = None  # a personal reply's agent


class CannedResponseIn(In):
    short_code: str  # letters, digits, - and _; checked (and lowercased) by the service
    content: str
    scope: CannedScope = CannedScope.personal


class CannedResponsePatch(In):
    short_code: str | None = None
    content: str | None = None
    _no_nulls = refuse_null("short_code", "content")


class CannedResponsesChanged(BaseModel):
    """Canned replies were added, changed or deleted: the team's (owner_id None) or one agent's own."""

    owner_id: int | None = None
