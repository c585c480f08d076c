"""The inbox's keyboard shortcuts as the server hears them (shortcuts.js names the action): j/k follow the
list's order, e resolves the open conversation, and a shortcut asks whether the agent may, as a click does."""

from nicegui.testing import User

from chathub.models import ConversationStatus
from chathub.pages.components.shortcuts import Shortcuts
from chathub.services import agents, conversations
from tests.helpers.pages import sign_in, tabs_miss_access_changes
from tests.helpers.waiting import eventually
from tests.pages.test_agents import ANN_PASSWORD, make_ann
from tests.pages.test_inbox import conversation_from_webhook
from tests.pages.test_thread_swap import list_rows


def press(user: User, action: str) -> None:
    user.find(kind=Shortcuts).trigger("shortcut", action)


async def test_j_and_k_open_the_next_and_previous_conversation_of_the_list(user: User):
    for number in range(3):
        await conversation_from_webhook(user, sender=f"+1555000{number}", name=f"Customer {number}")
    await sign_in(user)
    await user.open("/")
    await user.should_see("Customer 0")
    newest_first = [row["id"] for row in list_rows(user).rows]

    for action, expected in (("next", 0), ("next", 1), ("next", 2), ("next", 2), ("previous", 1)):
        press(user, action)
        await eventually_selected(user, newest_first[expected])
        await user.should_see(marker="composer", retries=20)


async def eventually_selected(user: User, conversation_id: int) -> None:
    async def selected():
        return list_rows(user).props["selected"] == conversation_id

    await eventually(selected)


async def test_e_resolves_the_open_conversation(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550007")
    await sign_in(user)
    await user.open(f"/conversations/{conversation_id}")
    press(user, "resolve")
    await user.should_see(marker="reopen", retries=20)
    assert (await conversations.get_conversation(conversation_id)).status == ConversationStatus.resolved


async def test_a_deactivated_agents_e_resolves_nothing_and_says_why(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550007")
    ann = await make_ann()
    await sign_in(user, "ann@example.com", ANN_PASSWORD)
    await user.open(f"/conversations/{conversation_id}")
    await user.should_see(marker="resolve")

    tabs_miss_access_changes()
    await agents.update_agent(ann.id, is_active=False)
    press(user, "resolve")

    await user.should_see("Your account was deactivated: nothing was changed.", retries=20)
    assert (await conversations.get_conversation(conversation_id)).status == ConversationStatus.open


async def test_an_unknown_action_does_nothing(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550007")
    await sign_in(user)
    await user.open(f"/conversations/{conversation_id}")
    press(user, "delete-everything")
    press(user, "help")
    await user.should_see("Keyboard shortcuts", retries=20)
    assert (await conversations.get_conversation(conversation_id)).status == ConversationStatus.open
