"""The in-process event bus. Services emit after their commit; pages subscribe inside their page
function, which ties the subscription to that browser tab (NiceGUI removes it when the tab goes).

Payloads are API schemas (`chathub.schemas`), so subscribers need no query of their own. Events about one
conversation are routed: a thread subscribes to its own conversation only (`subscribe_to`), so a message
costs a callback in the tabs showing its conversation, not in every open tab.

The events and their subscribers belong to the running app: `bus.message_created` is this run's (`Bus`).

On PostgreSQL the events of other instances arrive here too: services announce what they change inside their
write (`chathub.relay`), and `chathub.services.live_relay` reloads what other instances announced and emits it on
this bus. Subscribers cannot tell the difference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from nicegui import Event

from chathub import process_state
from chathub.schemas import (
    AccessChanged,
    ApiTokenUsed,
    CannedResponsesChanged,
    ChannelOut,
    ConversationOut,
    MessageOut,
    NotificationOut,
    NotificationsRead,
    PresenceChanged,
    TypingSignal,
    ViewersChanged,
    WebhookLogOut,
)

T = TypeVar("T")


class ConversationEvent(Generic[T]):
    """An event about one conversation, heard by every subscriber (`subscribe`: the inbox lists) or only by
    those of that conversation (`subscribe_to`: its open threads)."""

    def __init__(self, conversation_id_of: Callable[[T], int]) -> None:
        self.conversation_id_of = conversation_id_of
        self.everyone: Event[T] = Event()
        self.by_conversation: dict[int, Event[T]] = {}
        self.change_listeners: list[Callable[[], Any]] = []  # need no payload: see `on_change`

    def on_change(self, callback: Callable[[], Any]) -> None:
        """`callback()` on every event, without its payload (a cache to forget): an emitter with no other listener
        may call `changed()` and skip building the payload."""
        self.change_listeners.append(callback)

    def changed(self) -> None:
        for callback in self.change_listeners:
            callback()

    def subscribe(self, callback: Callable[[T], Any]) -> None:
        self.everyone.subscribe(callback)

    def subscribe_to(
        self, conversation_id: int, callback: Callable[[T], Any], *, unsubscribe_on_delete: bool | None = None
    ) -> None:
        for closed in [key for key, event in self.by_conversation.items() if not event.callbacks]:
            del self.by_conversation[closed]  # their tabs are gone
        self.by_conversation.setdefault(conversation_id, Event()).subscribe(
            callback, unsubscribe_on_delete=unsubscribe_on_delete
        )

    def unsubscribe(self, callback: Callable[[T], Any]) -> None:
        self.everyone.unsubscribe(callback)
        for event in self.by_conversation.values():
            event.unsubscribe(callback)

    def listened(self, conversation_id: int) -> bool:
        """Whether anyone would hear an event about this conversation (else its payload need not be built)."""
        event = self.by_conversation.get(conversation_id)
        return bool(self.everyone.callbacks or (event is not None and event.callbacks))

    def emit(self, payload: T) -> None:
        self.changed()
        self.everyone.emit(payload)
        event = self.by_conversation.get(self.conversation_id_of(payload))
        if event is not None:
            event.emit(payload)

    @property
    def callbacks(self) -> list:
        return self.everyone.callbacks + [c for event in self.by_conversation.values() for c in event.callbacks]

    def clear(self) -> None:
        self.everyone.callbacks.clear()
        self.by_conversation.clear()


class Bus:
    """This run's events and their subscribers. Tabs subscribe while the app runs and start-up subscribes its
    own listeners, so the subscribers belong to the run: a new start begins with none (`process_state`)."""

    def __init__(self) -> None:
        self.message_created: ConversationEvent[MessageOut] = ConversationEvent(lambda message: message.conversation_id)
        # any change to a stored message: receipt, edit, media
        self.message_status_changed: ConversationEvent[MessageOut] = ConversationEvent(
            lambda message: message.conversation_id
        )
        self.conversation_updated: ConversationEvent[ConversationOut] = ConversationEvent(
            lambda conversation: conversation.id
        )
        self.customers_wrote: Event[int] = Event()  # once per processed batch with new customer messages: how many
        self.webhook_logged: Event[WebhookLogOut] = Event()
        self.typing: Event[TypingSignal] = Event()
        self.viewers_changed: Event[ViewersChanged] = Event()
        self.presence_changed: Event[PresenceChanged] = Event()
        self.channel_changed: Event[ChannelOut] = Event()
        # a label was created, renamed, recoloured or deleted: its id (pages read labels and lists again)
        self.label_changed: Event[int] = Event()
        self.notification_created: Event[NotificationOut] = Event()  # subscribers keep their own agent's
        self.notifications_read: Event[NotificationsRead] = Event()  # the agent's bells count again
        self.api_token_used: Event[ApiTokenUsed] = Event()  # when a token's "last used" time is stored
        self.access_changed: Event[AccessChanged] = Event()  # the agent's open tabs check their access again
        self.canned_responses_changed: Event[CannedResponsesChanged] = Event()  # the team's or one agent's own
        # changes made on other instances may have been missed (services.live_relay): pages reload what they show
        self.resynced: Event[[]] = Event()

    def subscriber_count(self) -> int:
        return sum(len(event.callbacks) for event in vars(self).values())


def __getattr__(name: str):
    """`bus.message_created` and the other events: the running app's (see `Bus`)."""
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(process_state.current().part(Bus), name)


def subscriber_count() -> int:
    return process_state.current().part(Bus).subscriber_count()
