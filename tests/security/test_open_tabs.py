"""An open tab follows its agent's access. When an admin deactivates the agent or resets their password, or the
browser signs out in another tab, every tab of that browser session leaves for the sign-in page, which says why,
and nothing more reaches it; a demoted admin's admin page leaves for the inbox. A tab that missed the news still
shows nothing more: every reading action asks again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from nicegui import Client
from nicegui.testing import User

from chathub.models import AgentRole, ConversationStatus
from chathub.schemas import ConversationPatch, MessageIn
from chathub.services import conversations, outbound, webhooks
from tests.helpers.app import login
from tests.helpers.pages import sign_in, tabs_miss_access_changes
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message
from tests.pages.test_agents import ANN_PASSWORD, make_ann
from tests.pages.test_inbox import conversation_from_webhook, set_value

ANN = "ann@example.com"
SENDER = "+15550007"
DEACTIVATED = "Your account was deactivated."
SIGNED_OUT = "You were signed out (a sign-out or a password change). Sign in again."


async def an_admin_patches(user: User, agent_id: int, **changes) -> None:
    """What an admin's script does: `PATCH /api/v1/agents/{id}`."""
    admin = await login(user.http_client)
    response = await user.http_client.patch(f"/api/v1/agents/{agent_id}", json=changes, headers=admin)
    assert response.status_code == 200, response.text


async def customer_writes_again(user: User, text: str) -> None:
    response = await post_webhook(user.http_client, seed_message(message_id=f"again-{text}", sender=SENDER, text=text))
    assert response.status_code == 200, response.text

    async def stored() -> bool:
        [conversation] = (await conversations.list_conversations(status=None, q=SENDER)).items
        return conversation.last_message_preview == text

    await eventually(stored, timeout=20)


async def closed(tab: Client) -> None:
    """The tab that was sent away is closed on the server: no live update reaches it any more."""

    async def is_deleted() -> bool:
        return tab.is_deleted

    await eventually(is_deleted, timeout=20)


@pytest.mark.parametrize(
    ("change", "page", "why"),
    [({"active": False}, "/", DEACTIVATED), ({"password": "Ann-new-pass-2"}, "/conversations/{id}", SIGNED_OUT)],
    ids=["deactivated, inbox open", "password reset, thread open"],
)
async def test_an_admins_change_through_the_api_sends_the_agents_open_tab_to_sign_in_and_nothing_more_reaches_it(
    user: User, create_user: Callable[[], User], change: dict, page: str, why: str
):
    conversation_id = await conversation_from_webhook(user, sender=SENDER)
    ann = await make_ann()
    ann_browser = create_user()
    await sign_in(ann_browser, ANN, ANN_PASSWORD)
    tab = await ann_browser.open(page.format(id=conversation_id))
    await ann_browser.should_see("Hello, I need support!")

    await an_admin_patches(user, ann.id, **change)

    await ann_browser.should_see(why, retries=100)
    await ann_browser.should_see(marker="sign-in")
    await closed(tab)
    await customer_writes_again(user, "Is anyone there?")
    await ann_browser.should_not_see("Is anyone there?")


async def test_signing_out_in_one_tab_sends_the_other_tab_of_that_browser_to_sign_in(
    user: User, create_user: Callable[[], User]
):
    await sign_in(user)
    second_tab = create_user()  # the same browser: the same cookies
    second_tab.http_client.cookies = user.http_client.cookies
    await second_tab.open("/customers")
    other_browser = create_user()  # the same agent, signed in elsewhere: that session goes on
    await sign_in(other_browser)
    await other_browser.open("/webhooks")
    await user.open("/")

    user.find(marker="sign-out").click()

    await second_tab.should_see("You were signed out", retries=100)
    await second_tab.should_see(marker="sign-in")
    await other_browser.open("/customers")
    await other_browser.should_see(marker="customer-search")


async def test_a_demoted_admins_agents_page_leaves_for_the_inbox_and_stays_signed_in(
    user: User, create_user: Callable[[], User]
):
    await conversation_from_webhook(user, sender=SENDER)
    ann = await make_ann(role=AgentRole.admin)
    ann_browser = create_user()
    await sign_in(ann_browser, ANN, ANN_PASSWORD)
    await ann_browser.open("/agents")
    await ann_browser.should_see(marker=f"deactivate-{ann.id}")

    await an_admin_patches(user, ann.id, role="agent")

    await ann_browser.should_see("Hello, I need support!", retries=100)
    await ann_browser.should_not_see(marker=f"deactivate-{ann.id}")
    await ann_browser.should_not_see(marker="sign-in")


@dataclass
class Reading:
    """A reading action in an open tab, and what it would show."""

    path: Callable[[User], Awaitable[str]]
    act: Callable[[User], Awaitable[None]]
    would_show: str


async def a_long_thread(user: User) -> str:
    conversation_id = await conversation_from_webhook(user, sender=SENDER, text="The very first message")
    for number in range(45):
        await outbound.send_message(conversation_id=conversation_id, message=MessageIn(content=f"Reply {number}"))
    return f"/conversations/{conversation_id}"


async def a_resolved_conversation(user: User) -> str:
    conversation_id = await conversation_from_webhook(user, sender=SENDER, name="Rita Resolved")
    await conversations.update_conversation(conversation_id, ConversationPatch(status=ConversationStatus.resolved))
    return "/"


async def a_logged_webhook(user: User) -> str:
    response = await user.http_client.post(
        "/webhooks/simulator", json=seed_message("m1", sender=SENDER), headers={"x-request-id": "req-42"}
    )
    assert response.status_code == 200, response.text
    return "/webhooks"


async def load_older(user: User) -> None:
    user.find(marker="load-older").click()


async def filter_resolved(user: User) -> None:
    set_value(user, "filter-status", "resolved")


async def open_the_log(user: User) -> None:
    [log] = (await webhooks.list_webhook_logs(limit=1)).items
    user.find(marker=f"log-{log.id}").click()


READINGS = {
    "load older messages": Reading(a_long_thread, load_older, "The very first message"),
    "inbox status filter": Reading(a_resolved_conversation, filter_resolved, "Rita Resolved"),
    "webhook log detail": Reading(a_logged_webhook, open_the_log, "req-42"),
}


@pytest.mark.parametrize("reading", READINGS.values(), ids=READINGS.keys())
async def test_a_reading_action_in_a_tab_whose_session_ended_shows_no_data_and_leaves_for_sign_in(
    user: User, create_user: Callable[[], User], reading: Reading
):
    ann = await make_ann()
    ann_browser = create_user()
    await sign_in(ann_browser, ANN, ANN_PASSWORD)
    path = await reading.path(ann_browser)
    await ann_browser.open(path)
    await ann_browser.should_not_see(reading.would_show)

    tabs_miss_access_changes()
    await an_admin_patches(user, ann.id, password="Ann-new-pass-2")
    await reading.act(ann_browser)

    await ann_browser.should_see(SIGNED_OUT, retries=100)
    await ann_browser.should_not_see(reading.would_show)
