"""The chat thread: bubbles and content types, status ticks, failures and retry, composer, actions."""

from datetime import UTC, datetime, timedelta

from nicegui import ui
from nicegui.testing import User

from chathub.models import ConversationStatus, MessageStatus
from chathub.pages.components.conversation_rows import ConversationRows
from chathub.pages.components.text_bubble import TextBubble
from chathub.schemas import ChannelPatch, ConversationPatch, CustomerPatch, MessageIn
from chathub.services import channels, conversations, customers, outbound
from tests.fakes.web import JPEG, FakeWebsite
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message
from tests.pages.test_inbox import conversation_from_webhook, set_value


async def open_thread(user: User, **kwargs) -> int:
    conversation_id = await conversation_from_webhook(user, sender=kwargs.pop("sender", "+15550001"), **kwargs)
    await sign_in(user)
    await user.open(f"/conversations/{conversation_id}")
    return conversation_id


async def messages_of(conversation_id: int):
    return (await outbound.list_messages(conversation_id=conversation_id)).items


def status_icon_classes(user: User, message_id: int) -> list[str]:
    bubble = next(iter(user.find(marker=f"message-{message_id}").elements))
    if isinstance(bubble, TextBubble):  # drawn by the browser from its data
        return bubble.data["status_class"].split()
    return [c for icon in bubble.descendants() if isinstance(icon, ui.icon) for c in icon.classes]


async def test_reply_is_sent_and_its_ticks_follow_the_receipts(user: User):
    conversation_id = await open_thread(user, name="Ann Lee")
    await user.should_see("Hello, I need support!")
    user.find(marker="composer").type("We are on it")
    user.find(marker="send").click()

    async def stored_reply():
        messages = await messages_of(conversation_id)
        return len(messages) == 2 and messages[-1]

    reply = await eventually(stored_reply)
    assert reply.content == "We are on it" and reply.agent_id is not None
    assert next(iter(user.find(marker="composer").elements)).value == ""  # the composer is ready for the next
    await user.should_see(marker=f"message-{reply.id}")

    async def read_tick_shown():
        return "status-read" in status_icon_classes(user, reply.id)

    await eventually(read_tick_shown)
    assert (await messages_of(conversation_id))[-1].status == MessageStatus.read


async def test_too_long_reply_is_refused_inline_and_the_draft_is_kept(user: User):
    conversation_id = await open_thread(user)
    draft = "x" * 4097
    user.find(marker="composer").type(draft)
    await user.should_see("Too long for simulator", retries=20)
    user.find(marker="send").click()
    await user.should_see("4097 characters", retries=20)
    assert len(await messages_of(conversation_id)) == 1
    assert next(iter(user.find(marker="composer").elements)).value == draft


async def test_failed_reply_shows_the_error_and_retry_sends_it_again(user: User):
    conversation_id = await open_thread(user)
    await channels.update_channel(1, ChannelPatch(config={"failure_rate": 1.0}))
    user.find(marker="composer").type("Will this arrive?")
    user.find(marker="send").click()

    async def failed_reply():
        last = (await messages_of(conversation_id))[-1]
        return last.status == MessageStatus.failed and last

    reply = await eventually(failed_reply)
    await user.should_see("simulated provider failure", retries=20)
    await channels.update_channel(1, ChannelPatch(config={"failure_rate": 0.0}))
    user.find(marker=f"retry-{reply.id}").click()

    async def delivered_after_retry():
        last = (await messages_of(conversation_id))[-1]
        return last.status in (MessageStatus.sent, MessageStatus.delivered, MessageStatus.read)

    await eventually(delivered_after_retry)
    await user.should_not_see("simulated provider failure", retries=20)


async def test_resolve_then_reopen(user: User):
    conversation_id = await open_thread(user)
    user.find(marker="resolve").click()
    await user.should_see(marker="reopen", retries=20)
    assert (await conversations.get_conversation(conversation_id)).status == ConversationStatus.resolved
    user.find(marker="reopen").click()
    await user.should_see(marker="resolve", retries=20)
    assert (await conversations.get_conversation(conversation_id)).status == ConversationStatus.open


async def test_assigning_an_agent_and_snoozing(user: User):
    conversation_id = await open_thread(user)
    set_value(user, "assign", 1)

    async def assigned():
        return (await conversations.get_conversation(conversation_id)).assignee_id == 1

    await eventually(assigned)
    user.find(marker="snooze").click()
    user.find(marker="snooze-1h").click()

    async def snoozed():
        conversation = await conversations.get_conversation(conversation_id)
        return conversation.status == ConversationStatus.snoozed and conversation.snoozed_until

    await eventually(snoozed)


async def test_snoozed_conversation_wakes_when_its_time_has_come(user: User):
    from datetime import datetime, timedelta

    from chathub.schemas import ConversationPatch

    conversation_id = await conversation_from_webhook(user, sender="+15550001")
    past = datetime.now(UTC) - timedelta(minutes=1)
    await conversations.update_conversation(
        conversation_id, ConversationPatch(status=ConversationStatus.snoozed, snoozed_until=past)
    )
    assert await conversations.wake_snoozed_conversations() == 1
    assert (await conversations.get_conversation(conversation_id)).status == ConversationStatus.open


async def test_content_types_are_shown_properly(customer_website: FakeWebsite, user: User):
    payloads = [
        {"type": "image", "media_url": customer_website.add_file("/cat.jpg", JPEG, "image/jpeg"), "message": "my cat"},
        {"type": "location", "latitude": 52.52, "longitude": 13.405},
        {"type": "contact", "contact": {"name": "Carl Contact", "phone": "+4912345"}},
        {
            "type": "file",
            "media_url": customer_website.add_file("/invoice.pdf", b"%PDF-1.4", "application/pdf"),
            "file_name": "invoice.pdf",
        },
        {"type": "poll", "question": "Pizza?"},
    ]
    conversation_id = await conversation_from_webhook(user, sender="+15550001")
    for number, payload in enumerate(payloads):
        await post_webhook(user.http_client, {"from": "+15550001", "message_id": f"c{number}", **payload})

    async def all_stored_and_fetched():
        messages = await messages_of(conversation_id)
        return (
            len(messages) == 1 + len(payloads)
            and all(m.media_status in (None, "stored") for m in messages)
            and messages
        )

    image, *_, invoice, _poll = (await eventually(all_stored_and_fetched))[1:]
    await sign_in(user)
    await user.open(f"/conversations/{conversation_id}")
    assert [element.source for element in user.find(kind=ui.image).elements] == [f"/media/{image.id}"]
    await user.should_see("my cat")
    location = next(iter(user.find(kind=ui.link, content="Location 52.52000, 13.40500").elements))
    assert "openstreetmap.org" in location.props["href"]
    await user.should_see("Carl Contact")
    await user.should_see("+4912345")
    assert next(iter(user.find(kind=ui.link, content="invoice.pdf").elements)).props["href"] == f"/media/{invoice.id}"
    await user.should_see("Unsupported message")
    await user.should_see("Raw payload")


async def test_links_in_text_are_clickable_and_the_rest_stays_text(user: User):
    await open_thread(user, text="See https://example.com/help and <b>bold</b>")
    await user.should_see("<b>bold</b>")
    [bubble] = user.find(kind=TextBubble).elements
    assert bubble.data["segments"] == [
        {"text": "See ", "href": None},
        {"text": "https://example.com/help", "href": "https://example.com/help"},
        {"text": " and <b>bold</b>", "href": None},
    ]


async def test_older_history_loads_on_demand(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550001", text="The very first message")
    for number in range(45):
        await outbound.send_message(conversation_id=conversation_id, message=MessageIn(content=f"Reply {number}"))
    await sign_in(user)
    await user.open(f"/conversations/{conversation_id}")
    await user.should_see("Reply 44")
    await user.should_not_see("The very first message")
    user.find(marker="load-older").click()
    await user.should_see("The very first message", retries=20)


async def test_customer_panel_shows_identities_and_other_conversations(user: User):
    await open_thread(user, name="Ann Lee")
    await user.should_see("Identities")
    await user.should_see("Customer details")


async def test_unknown_conversation_says_so(user: User):
    await sign_in(user)
    await user.open("/conversations/999")
    await user.should_see("This conversation does not exist (any more).")


async def test_an_impossible_conversation_id_is_just_not_found(user: User):
    await sign_in(user)
    await user.open("/conversations/99999999999999999999")
    await user.should_see("This conversation does not exist (any more).")


async def test_a_message_the_customer_sent_earlier_but_that_arrived_late_is_shown_in_its_place(user: User):
    await open_thread(user, text="Second thought", timestamp="2024-02-14T10:00:05Z")
    await user.should_see("Second thought")
    await post_webhook(
        user.http_client,
        seed_message("early", sender="+15550001", text="First thought", timestamp="2024-02-14T10:00:01Z"),
    )
    await user.should_see("First thought", retries=50)

    bubbles = [e for e in user.client.layout.descendants() if isinstance(e, TextBubble)]  # top to bottom
    assert [bubble.data["segments"][0]["text"] for bubble in bubbles] == ["First thought", "Second thought"]


def next_morning() -> datetime:
    """Tomorrow 09:00 in the agent's local time (the "Tomorrow morning" snooze)."""
    return (datetime.now().astimezone() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


async def test_snoozing_says_when_the_conversation_comes_back_in_the_toast_header_and_list(user: User):
    conversation_id = await open_thread(user)
    user.find(marker="snooze").click()
    user.find(marker="snooze-tomorrow").click()
    until = f"Snoozed until {next_morning().strftime('%a')} 09:00"
    await user.should_see(marker="snoozed-until", content=until, retries=30)
    assert user.notify.contains(until)
    assert (await conversations.get_conversation(conversation_id)).snoozed_until == next_morning()
    set_value(user, "filter-status", "snoozed")

    async def row_says_until():
        rows = next(iter(user.find(kind=ConversationRows).elements)).rows
        return rows and rows[0]["snoozed"] == until

    await eventually(row_says_until)


async def test_snoozing_until_a_picked_date_and_time(user: User):
    conversation_id = await open_thread(user)
    user.find(marker="snooze").click()
    set_value(user, "snooze-at", "2001-01-01T09:00")
    user.find(marker="snooze-custom").click()
    await user.should_see("Pick a time in the future.", retries=20)
    assert (await conversations.get_conversation(conversation_id)).status == ConversationStatus.open

    picked = (datetime.now().astimezone() + timedelta(days=3)).replace(hour=14, minute=30, second=0, microsecond=0)
    set_value(user, "snooze-at", picked.strftime("%Y-%m-%dT%H:%M"))
    user.find(marker="snooze-custom").click()
    await user.should_see(marker="snoozed-until", content=f"Snoozed until {picked.strftime('%a')} 14:30", retries=30)
    conversation = await conversations.get_conversation(conversation_id)
    assert (conversation.status, conversation.snoozed_until) == (ConversationStatus.snoozed, picked)


async def test_reopen_now_ends_a_snooze(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550001")
    await conversations.update_conversation(
        conversation_id, ConversationPatch(status=ConversationStatus.snoozed, snoozed_until=next_morning())
    )
    await sign_in(user)
    await user.open(f"/conversations/{conversation_id}")
    await user.should_see(marker="snoozed-until")
    user.find(marker="reopen-now").click()
    await user.should_see(marker="resolve", retries=30)
    await user.should_not_see(marker="snoozed-until")
    conversation = await conversations.get_conversation(conversation_id)
    assert (conversation.status, conversation.snoozed_until) == (ConversationStatus.open, None)


async def test_the_phone_menu_assigns_snoozes_and_resolves(user: User):
    conversation_id = await open_thread(user)
    user.find(marker="menu-assign").click()
    set_value(user, "assign-dialog", 1)

    async def assigned():
        return (await conversations.get_conversation(conversation_id)).assignee_id == 1

    await eventually(assigned)
    user.find(marker="menu-snooze").click()
    user.find(marker="snooze-1h").click()
    await user.should_see(marker="menu-reopen-now", retries=30)
    user.find(marker="menu-resolve").click()
    await user.should_see(marker="menu-reopen", retries=30)
    assert (await conversations.get_conversation(conversation_id)).status == ConversationStatus.resolved


async def test_customer_notes_show_in_the_thread_and_are_edited_there(user: User):
    conversation_id = await open_thread(user, name="Ann Lee")
    customer_id = (await conversations.get_conversation(conversation_id)).customer.id
    await customers.update_customer(customer_id, CustomerPatch(notes="Prefers <b>email</b>"))
    await user.open(f"/conversations/{conversation_id}")
    notes = next(iter(user.find(marker="customer-notes").elements))
    assert notes.value == "Prefers <b>email</b>"
    notes.value = "Call after 5 pm"
    user.find(marker="save-notes").click()

    async def saved():
        return (await customers.get_customer(customer_id)).notes == "Call after 5 pm"

    await eventually(saved)
    assert user.notify.contains("Notes saved")
