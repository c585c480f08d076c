"""A message the provider dates long before it reached ChatHub: the inbox lists it by its arrival (new activity an
agent must not miss), and its bubble shows the provider's time with the arrival beside it."""

from datetime import UTC, datetime

from nicegui.testing import User

from chathub.pages.components.widgets import local_time
from tests.helpers.app import login
from tests.helpers.pages import sign_in
from tests.pages.test_inbox import conversation_from_webhook


async def test_a_late_message_is_listed_by_its_arrival_and_its_bubble_shows_both_times(user: User):
    await conversation_from_webhook(
        user, sender="+15550001", name="Fresh Fay", text="Written a moment ago", timestamp=datetime.now(UTC).isoformat()
    )
    late = await conversation_from_webhook(user, sender="+15550002", name="Late Leo", text="Written long ago")
    auth = await login(user.http_client)

    listed = (await user.http_client.get("/api/v1/conversations", headers=auth)).json()["items"]
    message = (await user.http_client.get(f"/api/v1/conversations/{late}/messages", headers=auth)).json()["items"][-1]
    assert [c["id"] for c in listed][0] == late  # its arrival is the newest activity
    assert message["created_at"].startswith("2024-02-14T10:00:00")  # the provider's time, in the thread's order
    assert message["received_at"] == listed[0]["last_message_at"]  # the list's time is the message's arrival

    await sign_in(user)
    await user.open(f"/conversations/{late}")
    received = datetime.fromisoformat(message["received_at"])
    await user.should_see(f"received {local_time(received, '%d %b %Y %H:%M')}")
    await user.should_see("Written long ago")


async def test_a_message_that_arrives_on_time_shows_one_time(user: User):
    sent = datetime.now(UTC)
    conversation = await conversation_from_webhook(
        user, sender="+15550003", name="Prompt Pia", text="On time", timestamp=sent.isoformat()
    )
    await sign_in(user)
    await user.open(f"/conversations/{conversation}")
    await user.should_see("On time")
    await user.should_see(local_time(sent, "%H:%M"))
    await user.should_not_see("received")
