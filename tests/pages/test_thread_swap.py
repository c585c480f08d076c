"""Opening a conversation from the inbox swaps only the thread: the same tab keeps its list (loaded rows and
all), marks the open row, and still asks whether the agent may read before it opens anything."""

from nicegui.testing import User

from chathub import bus
from chathub.models import ConversationStatus
from chathub.pages.components.conversation_rows import ConversationRows
from chathub.schemas import ConversationPatch
from chathub.services import agents, conversations
from tests.helpers.pages import sign_in, tabs_miss_access_changes
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message
from tests.pages.test_agents import ANN_PASSWORD, make_ann
from tests.pages.test_inbox import conversation_from_webhook, listed, set_value


def list_rows(user: User) -> ConversationRows:
    [rows] = user.find(kind=ConversationRows).elements
    return rows


async def test_opening_a_conversation_after_load_more_keeps_the_tab_and_its_loaded_rows(user: User):
    for number in range(33):
        await post_webhook(
            user.http_client,
            seed_message(
                message_id=f"s{number}",
                sender=f"+1555{number:04d}",
                name=f"Customer {number:02d}",
                text=f"Question {number:02d}",
            ),
        )

    async def all_processed():
        return len((await conversations.list_conversations(limit=100)).items) == 33

    await eventually(all_processed, timeout=20)
    await sign_in(user)
    inbox = await user.open("/")
    user.find(marker="load-more-conversations").click()
    await user.should_see("Customer 00", retries=20)
    target = list_rows(user).rows[31]["id"]

    user.navigate.to(f"/conversations/{target}")
    await user.should_see(marker="composer", retries=20)

    assert user.client is inbox  # the same tab: nothing was loaded again
    assert len(list_rows(user).rows) == 33
    assert list_rows(user).props["selected"] == target
    user.navigate.to("/")
    await user.should_see("Pick a conversation to read and reply.", retries=20)
    assert user.client is inbox and list_rows(user).props["selected"] is None


async def test_a_deactivated_agents_open_inbox_opens_no_other_conversation_and_leaves_for_sign_in(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550007")
    ann = await make_ann()
    await sign_in(user, "ann@example.com", ANN_PASSWORD)
    await user.open("/")
    await user.should_see("Hello, I need support!")

    tabs_miss_access_changes()
    await agents.update_agent(ann.id, is_active=False)  # an admin deactivates her meanwhile
    user.navigate.to(f"/conversations/{conversation_id}")

    await user.should_see("Your account was deactivated.", retries=20)
    await user.should_see(marker="sign-in")
    await user.should_not_see("Hello, I need support!")
    assert (await conversations.get_conversation(conversation_id)).unread_count == 1  # not read by her


async def test_a_thread_swapped_out_hears_no_more_of_its_conversation(user: User):
    first = await conversation_from_webhook(user, sender="+15550001", name="Ann")
    second = await conversation_from_webhook(user, sender="+15550002", name="Bob")
    await sign_in(user)
    await user.open(f"/conversations/{first}")
    await user.should_see(marker="composer")
    assert bus.message_created.listened(first)

    user.navigate.to(f"/conversations/{second}")
    await user.should_see("Bob", retries=20)

    async def only_the_open_thread_listens():
        return not bus.message_created.listened(first) and bus.message_created.listened(second)

    await eventually(only_the_open_thread_listens)


def value_of(user: User, marker: str):
    return next(iter(user.find(marker=marker).elements)).value


async def test_opening_a_conversation_from_a_filtered_search_keeps_the_filters_the_search_and_the_rows(user: User):
    await conversation_from_webhook(user, sender="+15550001", name="Ann", text="Where is my invoice?")
    bob = await conversation_from_webhook(user, sender="+15550002", name="Bob", text="My invoice is wrong")
    await conversation_from_webhook(user, sender="+15550003", name="Cara", text="Hello there")
    await conversations.update_conversation(bob, ConversationPatch(status=ConversationStatus.resolved))
    await sign_in(user)
    inbox = await user.open("/")
    set_value(user, "filter-status", "all")
    await eventually(listed(user, "Ann", "Bob", "Cara"))
    set_value(user, "filter-assigned", "unassigned")
    set_value(user, "inbox-search", "invoice")
    await eventually(listed(user, "Ann", "Bob"))
    rows_before = [row["id"] for row in list_rows(user).rows]

    user.navigate.to(f"/conversations/{bob}")
    await user.should_see(marker="composer", retries=20)

    assert user.client is inbox
    assert (value_of(user, "filter-status"), value_of(user, "filter-assigned")) == ("all", "unassigned")
    assert value_of(user, "inbox-search") == "invoice"
    assert [row["id"] for row in list_rows(user).rows] == rows_before
    assert list_rows(user).props["selected"] == bob
