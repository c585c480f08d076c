"""On PostgreSQL, an instance that lost its listening connection may have missed other instances' changes: once
listening again, its open pages read again what they show (chathub.services.live_relay)."""

from __future__ import annotations

from nicegui.testing import User

from tests.helpers import postgres
from tests.helpers.live_relay import kill_listening_connections
from tests.helpers.pages import sign_in
from tests.pages.test_inbox import conversation_from_webhook


def change_behind_the_pages_back(database_url: str, conversation_id: int, change: str) -> None:
    """What another instance commits while this one's listening connection is down: no notification arrives."""
    with postgres.connect(database_url, autocommit=True) as connection:
        connection.execute(f"UPDATE conversation SET {change} WHERE id = %s", (conversation_id,))
    kill_listening_connections(database_url)


async def test_an_open_inbox_list_catches_up_after_its_instance_lost_its_listening_connection(
    on_postgresql, user: User
):
    conversation_id = await conversation_from_webhook(user, sender="+15550031", name="Resync Rita")
    await sign_in(user)
    await user.open("/")
    await user.should_see("Resync Rita")
    change_behind_the_pages_back(on_postgresql, conversation_id, "last_message_preview = 'Written elsewhere'")
    await user.should_see("Written elsewhere", retries=100)


async def test_an_open_thread_catches_up_after_its_instance_lost_its_listening_connection(on_postgresql, user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550032", name="Resync Rob")
    await sign_in(user)
    await user.open(f"/conversations/{conversation_id}")
    await user.should_see(marker="resolve")
    change_behind_the_pages_back(on_postgresql, conversation_id, "status = 'resolved'")
    await user.should_see(marker="reopen", retries=100)
