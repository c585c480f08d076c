"""The inbox list: what it shows, its filters and search, paging, and opening a conversation."""

from nicegui import ElementFilter, ui
from nicegui.testing import User

from chathub.models import ConversationStatus
from chathub.pages.components.conversation_rows import ConversationRows
from chathub.schemas import ConversationPatch
from chathub.services import conversations
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message


async def conversation_from_webhook(user: User, **kwargs) -> int:
    """Post a customer message and return its conversation's id once it is processed."""
    kwargs.setdefault("message_id", f"m-{kwargs.get('sender', 'x')}-{kwargs.get('text', '')[:8]}")
    response = await post_webhook(user.http_client, seed_message(**kwargs))
    assert response.status_code == 200, response.text

    async def conversation_of_sender():
        items = (await conversations.list_conversations(status=None, q=kwargs.get("sender"))).items
        return items and items[0].unread_count and items[0].id

    return await eventually(conversation_of_sender)


def set_value(user: User, marker: str, value) -> None:
    element = next(iter(user.find(marker=marker).elements))
    element.value = value


def listed(user: User, *names: str):
    """A check that the inbox list shows these customers' conversations, and no other."""

    async def check() -> bool:
        rows = next(iter(user.find(kind=ConversationRows).elements)).rows
        return sorted(row["name"] for row in rows) == sorted(names)

    return check


async def test_inbox_lists_a_conversation_created_by_a_webhook(user: User):
    await conversation_from_webhook(user, sender="+15550001", name="Ann Lee")
    await sign_in(user)
    await user.open("/")
    await user.should_see("Ann Lee")
    await user.should_see("Hello, I need support!")


async def test_open_filter_hides_resolved_and_the_status_filter_brings_them_back(user: User):
    resolved_id = await conversation_from_webhook(user, sender="+15550001", name="Resolved Rita")
    await conversation_from_webhook(user, sender="+15550002", name="Open Olga")
    await conversations.update_conversation(resolved_id, ConversationPatch(status=ConversationStatus.resolved))
    await sign_in(user)
    await user.open("/")
    await user.should_see("Open Olga")
    await user.should_not_see("Resolved Rita")
    set_value(user, "filter-status", "resolved")
    await user.should_see("Resolved Rita", retries=20)
    await user.should_not_see("Open Olga")


async def test_search_finds_a_conversation_by_message_text(user: User):
    await conversation_from_webhook(user, sender="+15550001", name="Ann", text="My parcel is lost")
    await conversation_from_webhook(user, sender="+15550002", name="Bob", text="Invoice question")
    await sign_in(user)
    await user.open("/")
    set_value(user, "inbox-search", "parcel")
    await user.should_not_see("Bob", retries=20)
    await user.should_see("Ann")


async def test_unread_only_hides_conversations_already_read(user: User):
    read_id = await conversation_from_webhook(user, sender="+15550001", name="Read Ron")
    await conversation_from_webhook(user, sender="+15550002", name="Unread Una")
    await conversations.mark_read(read_id)
    await sign_in(user)
    await user.open("/")
    await user.should_see("Read Ron")
    set_value(user, "filter-unread", True)
    await user.should_not_see("Read Ron", retries=20)
    await user.should_see("Unread Una")


async def test_filters_are_remembered_when_the_agent_comes_back(user: User):
    await sign_in(user)
    await user.open("/")
    set_value(user, "filter-status", "resolved")
    await user.open("/")
    assert next(iter(user.find(marker="filter-status").elements)).value == "resolved"


async def test_long_inbox_loads_in_pages(user: User):
    for number in range(33):
        await post_webhook(
            user.http_client,
            seed_message(message_id=f"p{number}", sender=f"+1555{number:04d}", name=f"Customer {number:02d}"),
        )

    async def all_processed():
        return len((await conversations.list_conversations(limit=100)).items) == 33

    await eventually(all_processed, timeout=20)
    await sign_in(user)
    await user.open("/")
    await user.should_see("Customer 32")
    await user.should_not_see("Customer 00")
    user.find(marker="load-more-conversations").click()
    await user.should_see("Customer 00", retries=20)


async def test_opening_a_conversation_marks_it_read(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550001", name="Ann")
    await sign_in(user)
    await user.open(f"/conversations/{conversation_id}")
    await user.should_see("Hello, I need support!")
    assert (await conversations.get_conversation(conversation_id)).unread_count == 0


async def test_customer_names_render_as_text_not_html(user: User):
    hostile = "<img src=x onerror=alert(1)>"
    await conversation_from_webhook(user, sender="+15550001", name=hostile, text=hostile)
    await sign_in(user)
    await user.open("/")
    await user.should_see(hostile)
    [rows] = user.find(marker="conversation-list").elements  # drawn by Vue from data: {{ }} shows text
    assert [(row["name"], row["preview"]) for row in rows.rows] == [(hostile, hostile)]
    with user.client:
        assert not list(ElementFilter(kind=ui.html))


async def test_filters_changed_in_quick_succession_list_only_what_the_last_ones_let_in(user: User):
    await conversation_from_webhook(user, sender="+15550001", name="Ann", text="Where is my invoice?")
    await conversation_from_webhook(user, sender="+15550003", name="Cara", text="Hello there")
    await sign_in(user)
    await user.open("/")
    await eventually(listed(user, "Ann", "Cara"))
    set_value(user, "filter-status", "all")  # each change reads the list again; the last one is what counts
    set_value(user, "filter-assigned", "unassigned")
    set_value(user, "inbox-search", "invoice")

    await eventually(listed(user, "Ann"))  # the earlier reads add nothing to it
