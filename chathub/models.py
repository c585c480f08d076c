"""Database tables and the enums they use.

Enums are stored as their lowercase values in plain VARCHAR columns (no database enum type, no CHECK), so a new
member needs no migration; the channel type is a plain string that the driver registry (`chathub.drivers`)
checks, so a new channel needs no member here at all. Times are stored as UTC and come back timezone-aware.
Unique constraints, not checks in Python, carry de-duplication: one identity per (channel, external id),
one message per (channel, external message id), one message per (conversation, idempotency key).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum, StrEnum
from functools import cache, partial
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import instrumentation
from sqlmodel import JSON, Column, Field, SQLModel

RowT = TypeVar("RowT", bound=SQLModel)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """Stores naive UTC (SQLite has no time zones) and hands back aware UTC datetimes."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


# Row ids and the keys that point at them: BIGINT on PostgreSQL, whose INTEGER stops at 2**31; INTEGER on SQLite,
# where only an INTEGER PRIMARY KEY is the rowid that numbers new rows (and is 64 bits anyway).
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _row_id(**kwargs: Any) -> Any:
    return Field(sa_type=ROW_ID, **kwargs)


def _partial(condition: str) -> dict[str, Any]:
    """A partial index's condition, in each database's keyword."""
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def _time(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


def _json(**kwargs: Any) -> Any:
    return Field(sa_column=Column(JSON, **kwargs))


class EnumText(sa.TypeDecorator):
    """An enum stored as its value in a VARCHAR: no database enum type and no CHECK constraint, so adding a
    member changes no schema."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum: type[Enum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else self.enum(value)

    def __repr__(self) -> str:
        return f"EnumText(models.{self.enum.__name__})"  # as autogenerate writes it into a migration


def _enum(enum: type[Enum], **kwargs: Any) -> Any:
    return Field(sa_type=EnumText(enum), **kwargs)


class ChannelType(StrEnum):
    """The channels that ship with ChatHub, for code that means one of them (the default simulator channel).
    Not the list of valid types: that is the driver registry, and a new channel needs no member here."""

    simulator = "simulator"
    telegram = "telegram"
    whatsapp = "whatsapp"
    twilio = "twilio"


class ContentType(str, Enum):
    text = "text"
    image = "image"
    audio = "audio"
    video = "video"
    file = "file"
    location = "location"
    contact = "contact"
    sticker = "sticker"
    reaction = "reaction"  # an emoji on an earlier message; payload["message_id"] names it
    unsupported = "unsupported"


class MessageDirection(str, Enum):
    inbound = "inbound"
    outbound = "outbound"


class MessageStatus(str, Enum):
    received = "received"
    pending = "pending"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


class ConversationStatus(str, Enum):
    open = "open"
    pending = "pending"
    resolved = "resolved"
    snoozed = "snoozed"


class MessageKind(str, Enum):
    message = "message"  # to or from the customer
    note = "note"  # an agent's private note: never sent, never a reply, seen by agents only
    activity = "activity"  # a system line ("Alice resolved the conversation"): never sent


class Priority(str, Enum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


class Visibility(str, Enum):
    """Which conversations an agent sees (admins always see all)."""

    all = "all"
    mine_and_unassigned = "mine_and_unassigned"


class CannedScope(str, Enum):
    team = "team"
    personal = "personal"


class NotificationType(str, Enum):
    mention = "mention"
    assigned = "assigned"
    customer_replied = "customer_replied"


class MediaStatus(str, Enum):
    pending = "pending"  # still at the provider
    stored = "stored"
    failed = "failed"  # see the message's error


class WebhookStatus(str, Enum):
    received = "received"
    processing = "processing"
    processed = "processed"
    failed = "failed"
    rejected = "rejected"


class AgentRole(str, Enum):
    admin = "admin"
    agent = "agent"


class Agent(SQLModel, table=True):
    id: int | None = _row_id(default=None, primary_key=True)
    email: str = Field(unique=True, index=True)
    name: str
    role: AgentRole = _enum(AgentRole, default=AgentRole.agent)
    password_hash: str
    is_active: bool = True
    sees: Visibility = _enum(Visibility, default=Visibility.all)
    browser_notifications: bool = False  # opted in: notifications also show while the tab is hidden
    last_assigned_at: datetime | None = _time(default=None)  # automatic assignment's tie-break
    created_at: datetime = _time(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = _row_id(default=None, primary_key=True)
    agent_id: int = _row_id(foreign_key="agent.id", index=True)
    name: str
    token_hash: str = Field(unique=True)
    created_at: datetime = _time(default_factory=utcnow)
    last_used_at: datetime | None = _time(default=None)
    revoked_at: datetime | None = _time(default=None)


class BrowserSession(SQLModel, table=True):
    """A signed-in browser. Its session cookie holds a random token; only the token's SHA-256 is stored, and
    an ended session stays refused whoever replays the cookie."""

    __tablename__ = "browser_session"
    id: int | None = _row_id(default=None, primary_key=True)
    agent_id: int = _row_id(foreign_key="agent.id", index=True)
    token_hash: str = Field(unique=True)
    created_at: datetime = _time(default_factory=utcnow)
    ended_at: datetime | None = _time(default=None)


class Channel(SQLModel, table=True):
    id: int | None = _row_id(default=None, primary_key=True)
    type: str = Field(index=True)  # a registered driver's type
    name: str
    enabled: bool = True
    config: dict[str, Any] = _json(nullable=False, default=dict)
    webhook_secret: str | None = None
    api_base_url: str | None = None
    # What the provider last said was wrong with the channel (rejected credentials), until a call succeeds.
    problem: str | None = None
    # When the provider last confirmed the channel works (webhook registered, connection check passed);
    # cleared by a problem or new settings.
    verified_at: datetime | None = _time(default=None)
    auto_assign: bool = False  # new and reopened conversations go to an online agent
    max_open_per_agent: int = 0  # automatic assignment's limit of open conversations per agent; 0: none
    created_at: datetime = _time(default_factory=utcnow)


class Customer(SQLModel, table=True):
    id: int | None = _row_id(default=None, primary_key=True)
    name: str = Field(index=True)
    email: str | None = Field(default=None, index=True)
    phone: str | None = Field(default=None, index=True)
    notes: str = ""
    created_at: datetime = _time(default_factory=utcnow)
    updated_at: datetime = _time(default_factory=utcnow)


class CustomerIdentity(SQLModel, table=True):
    __tablename__ = "customer_identity"
    __table_args__ = (sa.UniqueConstraint("channel_id", "external_id", name="uq_identity_channel_external"),)
    id: int | None = _row_id(default=None, primary_key=True)
    customer_id: int = _row_id(foreign_key="customer.id", index=True)
    channel_id: int = _row_id(foreign_key="channel.id")
    external_id: str
    created_at: datetime = _time(default_factory=utcnow)


class Conversation(SQLModel, table=True):
    __table_args__ = (
        # The inbox: newest activity first, optionally narrowed by status, channel or assignee.
        sa.Index("ix_conversation_activity", "last_message_at", "id"),
        sa.Index("ix_conversation_status_activity", "status", "last_message_at", "id"),
        sa.Index("ix_conversation_channel_activity", "channel_id", "last_message_at", "id"),
        sa.Index("ix_conversation_assignee_activity", "assignee_id", "last_message_at", "id"),
        sa.Index("ix_conversation_customer_channel", "customer_id", "channel_id"),
        # "Unread only" in activity order, within a status or not; they also count the unread total.
        sa.Index("ix_conversation_unread_activity", "last_message_at", "id", **_partial("unread_count > 0")),
        sa.Index(
            "ix_conversation_unread_status_activity",
            "status",
            "last_message_at",
            "id",
            **_partial("unread_count > 0"),
        ),
    )
    id: int | None = _row_id(default=None, primary_key=True)
    customer_id: int = _row_id(foreign_key="customer.id")
    channel_id: int = _row_id(foreign_key="channel.id")
    # The identity the customer wrote from: replies go back to it, even after customers are merged.
    identity_id: int = _row_id(foreign_key="customer_identity.id", index=True)
    status: ConversationStatus = _enum(ConversationStatus, default=ConversationStatus.open)
    assignee_id: int | None = _row_id(default=None, foreign_key="agent.id")
    unread_count: int = 0
    # When ChatHub last received or queued a message here, never a provider's time: a message delivered late
    # (its provider time days old) is new activity, and surfaces on top of the inbox so it is not missed. Its
    # bubble shows both times (see Message.received_at).
    last_message_at: datetime = _time(default_factory=utcnow)
    last_message_preview: str = ""  # of that message
    # Replies here that failed to send (counted as they fail, uncounted when retried or delivered after all)
    failed_replies: int = 0
    snoozed_until: datetime | None = _time(default=None)
    priority: Priority = _enum(Priority, default=Priority.none)
    created_at: datetime = _time(default_factory=utcnow)


class Message(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("channel_id", "external_id", name="uq_message_channel_external"),
        sa.UniqueConstraint("conversation_id", "client_id", name="uq_message_conversation_client"),
        sa.Index("ix_message_conversation", "conversation_id", "id"),
        # A thread in the customer's order: created_at is an inbound message's provider time (never later
        # than its arrival), so webhooks processed out of order still read in order.
        sa.Index("ix_message_conversation_time", "conversation_id", "created_at", "id"),
        sa.Index("ix_message_outbox", "status", "next_attempt_at", **_partial("status = 'pending'")),
        sa.Index("ix_message_media_pending", "media_status", **_partial("media_status = 'pending'")),
    )
    id: int | None = _row_id(default=None, primary_key=True)
    conversation_id: int = _row_id(foreign_key="conversation.id")
    channel_id: int = _row_id(foreign_key="channel.id")
    direction: MessageDirection = _enum(MessageDirection)
    kind: MessageKind = _enum(MessageKind, default=MessageKind.message)
    content_type: ContentType = _enum(ContentType, default=ContentType.text)
    content: str = ""
    media_url: str | None = None
    media_mime_type: str | None = None
    file_name: str | None = None
    # Media kept by ChatHub (under DATA_DIR/media): fetched from the provider's `media_ref` handle, or an
    # agent's upload. Browsers only ever see `media_url` = /media/<id>.
    media_ref: str | None = None
    media_status: MediaStatus | None = _enum(MediaStatus, default=None)
    media_path: str | None = None
    media_size: int | None = None
    payload: dict[str, Any] | None = _json(nullable=True)
    status: MessageStatus = _enum(MessageStatus)
    external_id: str | None = None
    client_id: str | None = None
    error: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = _time(default=None)
    # Committed before the provider is called and cleared with the outcome: found set on a pending message,
    # an earlier attempt's outcome is unknown (the process died during the send).
    send_started_at: datetime | None = _time(default=None)
    # Sent again after an attempt whose outcome is unknown: the customer may have it twice.
    possibly_sent_twice: bool = False
    # The lease of the instance sending this reply or fetching its file: no other instance takes it until then.
    claimed_until: datetime | None = _time(default=None)
    agent_id: int | None = _row_id(default=None, foreign_key="agent.id")
    mentions: list[int] | None = _json(nullable=True)  # a note's mentioned agents
    created_at: datetime = _time(default_factory=utcnow)
    received_at: datetime | None = _time(default=None)  # an inbound message's arrival at ChatHub
    sent_at: datetime | None = _time(default=None)
    edited_at: datetime | None = _time(default=None)
    delivered_at: datetime | None = _time(default=None)
    read_at: datetime | None = _time(default=None)


class ConversationFollower(SQLModel, table=True):
    """An agent who follows a conversation (mentioned in it, or chose to): told when the customer replies."""

    __tablename__ = "conversation_follower"
    conversation_id: int = _row_id(foreign_key="conversation.id", primary_key=True)
    agent_id: int = _row_id(foreign_key="agent.id", primary_key=True, index=True)
    created_at: datetime = _time(default_factory=utcnow)


class Notification(SQLModel, table=True):
    __table_args__ = (sa.Index("ix_notification_agent", "agent_id", "id"),)
    id: int | None = _row_id(default=None, primary_key=True)
    agent_id: int = _row_id(foreign_key="agent.id")  # who is told
    type: NotificationType = _enum(NotificationType)
    conversation_id: int = _row_id(foreign_key="conversation.id")
    message_id: int | None = _row_id(default=None, foreign_key="message.id")
    actor_id: int | None = _row_id(default=None, foreign_key="agent.id")  # None: the customer or a rule
    text: str
    read_at: datetime | None = _time(default=None)
    created_at: datetime = _time(default_factory=utcnow)


class CannedResponse(SQLModel, table=True):
    """A saved reply, inserted by its short code. Short codes are stored lowercase: unique among the team's, and
    among each agent's personal ones."""

    __tablename__ = "canned_response"
    __table_args__ = (
        sa.Index("uq_canned_team_code", "short_code", unique=True, **_partial("scope = 'team'")),
        sa.Index("uq_canned_personal_code", "owner_id", "short_code", unique=True, **_partial("scope = 'personal'")),
    )
    id: int | None = _row_id(default=None, primary_key=True)
    short_code: str
    content: str
    scope: CannedScope = _enum(CannedScope)
    owner_id: int | None = _row_id(default=None, foreign_key="agent.id", index=True)  # a personal one's agent
    created_at: datetime = _time(default_factory=utcnow)
    updated_at: datetime = _time(default_factory=utcnow)


class Label(SQLModel, table=True):
    id: int | None = _row_id(default=None, primary_key=True)
    name: str
    name_key: str = Field(unique=True)  # name.casefold(): names are unique whatever their case
    color: str = "#1976d2"
    description: str = ""
    created_at: datetime = _time(default_factory=utcnow)


class ConversationLabel(SQLModel, table=True):
    __tablename__ = "conversation_label"
    conversation_id: int = _row_id(foreign_key="conversation.id", primary_key=True)
    label_id: int = _row_id(foreign_key="label.id", primary_key=True, index=True)
    created_at: datetime = _time(default_factory=utcnow)


class JobTurn(SQLModel, table=True):
    """When a channel's background job (`ChannelDriver.jobs`) is due next. Every instance runs the job worker;
    the one that moves a due turn forward runs the job, once."""

    __tablename__ = "job_turn"
    channel_id: int = _row_id(primary_key=True)
    job_name: str = Field(primary_key=True)
    next_run_at: datetime = _time()


class WebhookLog(SQLModel, table=True):
    __tablename__ = "webhook_log"
    __table_args__ = (
        sa.Index(
            "ix_webhook_log_queue",
            "status",
            "next_attempt_at",
            **_partial("status IN ('received', 'processing')"),
        ),
        sa.Index("ix_webhook_log_status_id", "status", "id"),
        sa.Index("ix_webhook_log_channel_id", "channel_id", "id"),
        sa.Index("ix_webhook_log_received", "received_at"),
    )
    id: int | None = _row_id(default=None, primary_key=True)
    channel_id: int | None = _row_id(default=None, foreign_key="channel.id")
    channel_type: str | None = None
    headers: dict[str, Any] = _json(nullable=False, default=dict)
    body: str = ""
    status: WebhookStatus = _enum(WebhookStatus, default=WebhookStatus.received)
    http_status: int = 200
    attempts: int = 0
    error: str | None = None
    received_at: datetime = _time(default_factory=utcnow)
    processed_at: datetime | None = _time(default=None)
    next_attempt_at: datetime | None = _time(default=None)
    message_id: int | None = _row_id(default=None, foreign_key="message.id")


class SignInFailure(SQLModel, table=True):
    """A sign-in attempt counted against one key ("email:…" or "ip:…"): every instance counts the same rows."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (sa.Index("ix_sign_in_failure_key_failed_at", "key", "failed_at"),)
    id: int | None = _row_id(default=None, primary_key=True)
    key: str
    failed_at: float = Field(index=True)  # seconds since the epoch


class PresenceTab(SQLModel, table=True):
    """An agent's open tab on one instance, written again at each of that instance's heartbeats; a row not
    refreshed for a while belongs to an instance that has gone (chathub/services/presence.py)."""

    __tablename__ = "presence_tab"
    tab_id: str = Field(primary_key=True)
    instance_id: str = Field(index=True)
    agent_id: int = _row_id()
    agent_name: str
    conversation_id: int | None = _row_id(default=None)
    connected: bool
    visible: bool
    seen_at: datetime = _time(index=True)


def new_row(model: type[RowT], **values: Any) -> RowT:
    """`model(**values)` for the busiest inserts (a message per webhook). SQLModel's constructor sets every
    field through a pydantic and an SQLAlchemy setattr, which cost more than the row's INSERT; this puts
    the values with the defaults straight into the instance's dict, as SQLAlchemy does for rows it loads.
    Like SQLModel's own constructor of table models, it validates nothing."""
    row = instrumentation.manager_of_class(model).new_instance()
    constants, made = _defaults(model)
    row.__dict__.update(constants)
    for name, make in made:
        if name not in values:
            values[name] = make()
    row.__dict__.update(values)
    return row


_CONSTANT_TYPES = (type(None), bool, int, float, str, Enum, datetime)


@cache
def _defaults(model: type[SQLModel]) -> tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]]]:
    """The model's optional fields: those whose default is one constant (shared by every row: it cannot change
    in place) with it, and those whose default is made anew for each row (a factory, or a copy of a list or a
    dict), with what makes it (pydantic's `get_default` inspected the factory's signature at every call)."""
    optional = [(name, field) for name, field in model.model_fields.items() if not field.is_required()]
    constant = {
        name: field.default
        for name, field in optional
        if field.default_factory is None and isinstance(field.default, _CONSTANT_TYPES)
    }
    return constant, [(name, _maker(field)) for name, field in optional if name not in constant]


def _maker(field) -> Callable[[], Any]:
    if field.default_factory is not None and not field.default_factory_takes_validated_data:
        return field.default_factory
    return partial(field.get_default, call_default_factory=True)
