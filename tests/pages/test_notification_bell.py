"""The header's bell: a live count of the agent's unread notifications, and a list that opens the conversation."""

from __future__ import annotations

from nicegui import ElementFilter
from nicegui.testing import User

from chathub.schemas import ConversationPatch
from chathub.services import agents, conversations, notifications
from tests.helpers.app import ADMIN_EMAIL
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message
from tests.pages.test_inbox import conversation_from_webhook
from tests.security.test_hostile_rendering import assert_text_only


async def admin_id() -> int:
    return next(a.id for a in await agents.list_agents() if a.email == ADMIN_EMAIL)


async def assigned_to_admin(user: User, sender: str) -> int:
    """A customer's conversation, assigned to the signed-in admin: their replies notify the admin."""
    conversation_id = await conversation_from_webhook(user, sender=sender, name="Ann Lee")
    await conversations.update_conversation(conversation_id, ConversationPatch(assignee_id=await admin_id()))
    return conversation_id


async def customer_replies(user: User, sender: str, text: str) -> None:
    message = seed_message(message_id=f"{sender}-{text}", sender=sender, text=text)
    response = await post_webhook(user.http_client, message)
    assert response.status_code == 200, response.text


def bell_count(user: User) -> str | None:
    """The badge's number, None while it is hidden (nothing unread)."""
    with user.client:
        badge = next(iter(ElementFilter(marker="notification-count", only_visible=False)))
    return badge.text if badge.visible else None


async def bell_shows(user: User, count: str | None) -> None:
    async def shown():
        return bell_count(user) == count

    await eventually(shown, timeout=20)


async def test_the_bell_counts_unread_notifications_and_rises_live(user: User):
    await assigned_to_admin(user, "+15550001")
    await customer_replies(user, "+15550001", "first question")
    await eventually(_unread, timeout=20)
    await sign_in(user)
    await user.open("/customers")
    assert bell_count(user) == "1"

    await customer_replies(user, "+15550001", "second question")

    await bell_shows(user, "2")
    await user.should_see("Ann Lee replied: second question")


async def _unread() -> int:
    return await notifications.unread_count(await admin_id())


async def test_opening_a_notification_marks_it_read_and_shows_its_conversation(user: User):
    conversation_id = await assigned_to_admin(user, "+15550002")
    await customer_replies(user, "+15550002", "where is my parcel")
    await eventually(_unread, timeout=20)
    (item,) = (await notifications.list_for(await admin_id())).items
    await sign_in(user)
    await user.open("/customers")

    user.find(marker=f"notification-{item.id}").click()

    await user.should_see(marker="header-title", retries=50)
    assert user.back_history[-1] == f"/conversations/{conversation_id}"
    await bell_shows(user, None)
    assert await _unread() == 0


async def test_mark_all_read_empties_the_count_in_every_tab_of_the_agent(user: User, create_user):
    for sender in ("+15550003", "+15550004"):
        await assigned_to_admin(user, sender)
        await customer_replies(user, sender, "one more thing")
    await eventually(lambda: _count_is(2), timeout=20)
    other_tab = create_user()
    await sign_in(user)
    await sign_in(other_tab)
    await user.open("/customers")
    await other_tab.open("/")
    assert bell_count(other_tab) == "2"

    user.find(marker="mark-all-read").click()

    await bell_shows(user, None)
    await bell_shows(other_tab, None)


async def _count_is(count: int) -> bool:
    return await _unread() == count


async def test_an_agent_opts_in_to_browser_notifications_on_their_profile(user: User):
    await sign_in(user)
    await user.open("/profile")
    assert not (await agents.get_agent(await admin_id())).browser_notifications

    user.find(marker="browser-notifications").click()
    await user.should_see("Browser notifications are on", retries=20)
    assert (await agents.get_agent(await admin_id())).browser_notifications

    user.find(marker="browser-notifications").click()
    await user.should_see("Browser notifications are off", retries=20)
    assert not (await agents.get_agent(await admin_id())).browser_notifications


async def test_a_hostile_name_and_message_show_in_the_bell_as_text(user: User):
    name, text = "<img src=x onerror=alert(1)>", "**bold** <script>alert(2)</script>"
    conversation_id = await conversation_from_webhook(user, sender="+15550005", name=name)
    await conversations.update_conversation(conversation_id, ConversationPatch(assignee_id=await admin_id()))
    await customer_replies(user, "+15550005", text)
    await eventually(_unread, timeout=20)
    await sign_in(user)
    await user.open("/customers")

    await user.should_see(f"{name} replied: {text}")
    assert_text_only(user)
