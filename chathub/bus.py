"""The in-process event bus. Services emit after their commit; pages subscribe inside their page
function, which ties the subscription to that browser tab (NiceGUI removes it when the tab goes).

Payloads are API schemas (`chathub.schemas`), so subscribers need no query of their own.
"""
from __future__ import annotations

from nicegui import Event

from chathub.schemas import (
    ChannelOut, ConversationOut, MessageOut, PresenceChanged, TypingSignal, ViewersChanged, WebhookLogOut,
)

message_created: Event[MessageOut] = Event()
message_status_changed: Event[MessageOut] = Event()  # any change to a stored message: receipt, edit, media
conversation_updated: Event[ConversationOut] = Event()
webhook_logged: Event[WebhookLogOut] = Event()
typing: Event[TypingSignal] = Event()
viewers_changed: Event[ViewersChanged] = Event()
presence_changed: Event[PresenceChanged] = Event()
channel_changed: Event[ChannelOut] = Event()

ALL_EVENTS = (message_created, message_status_changed, conversation_updated, webhook_logged, typing,
              viewers_changed, presence_changed, channel_changed)


def subscriber_count() -> int:
    return sum(len(event.callbacks) for event in ALL_EVENTS)


def reset() -> None:
    """Drop every subscription (tests start each app afresh)."""
    for event in ALL_EVENTS:
        event.callbacks.clear()
