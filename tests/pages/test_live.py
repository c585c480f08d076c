"""Live pages: what happens anywhere shows up on open pages without a reload."""

import asyncio
from collections import Counter

from nicegui import ElementFilter, ui
from nicegui.testing import User

from chathub import process_state
from chathub.pages.components import conversation_list, layout, live_pace
from chathub.services import conversations
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message
from tests.pages.test_inbox import conversation_from_webhook, set_value


def row_order(user: User) -> list[str]:
    """The inbox rows, top to bottom, named by their links' conversation."""
    rows = next(iter(user.find(marker="conversation-list").elements))
    return [f"conversation-{row['id']}" for row in rows.rows]


async def test_a_new_conversation_appears_in_an_open_inbox(user: User):
    await sign_in(user)
    await user.open("/")
    await user.should_see("No conversations here.")
    await post_webhook(user.http_client, seed_message(name="Live Lena"))
    await user.should_see("Live Lena", retries=50)
    await user.should_not_see("No conversations here.")


async def test_a_new_message_moves_its_conversation_to_the_top_with_the_new_preview(user: User):
    first = await conversation_from_webhook(user, sender="+15550001", name="Ann")
    second = await conversation_from_webhook(user, sender="+15550002", name="Bob")
    await sign_in(user)
    await user.open("/")
    assert row_order(user)[:2] == [f"conversation-{second}", f"conversation-{first}"]
    await post_webhook(user.http_client, seed_message(message_id="again", sender="+15550001", text="Still waiting"))
    await user.should_see("Still waiting", retries=50)
    assert row_order(user)[:2] == [f"conversation-{first}", f"conversation-{second}"]


async def test_a_conversation_outside_the_tabs_filter_stays_out(user: User):
    await sign_in(user)
    await user.open("/")
    set_value(user, "filter-status", "resolved")
    await user.should_see("No conversations here.", retries=20)
    conversation_id = await conversation_from_webhook(user, sender="+15550009", name="Filtered Fred")
    assert (await conversations.get_conversation(conversation_id)).status.value == "open"
    await user.should_not_see("Filtered Fred")


async def test_an_open_thread_shows_new_customer_messages(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550001")
    await sign_in(user)
    await user.open(f"/conversations/{conversation_id}")
    await post_webhook(user.http_client, seed_message(message_id="live2", sender="+15550001", text="Are you there?"))
    await user.should_see("Are you there?", retries=50)


async def test_unread_total_and_tab_title_follow(user: User):
    await sign_in(user)
    await user.open("/customers")
    with user.client:
        navigation = next(iter(ElementFilter(marker="navigation")))
    assert navigation.count == 0
    await post_webhook(user.http_client, seed_message(sender="+15550001"))
    await post_webhook(user.http_client, seed_message(message_id="b", sender="+15550002"))

    async def two_unread():
        return navigation.count == 2 and user.client.title == "(2) ChatHub"

    await eventually(two_unread)


async def test_a_message_arriving_in_a_thread_an_agent_is_looking_at_is_read_at_once(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550001")
    await sign_in(user)
    await user.open(f"/conversations/{conversation_id}")
    await post_webhook(user.http_client, seed_message(message_id="seen", sender="+15550001", text="Seen at once"))
    await user.should_see("Seen at once", retries=50)
    assert (await conversations.get_conversation(conversation_id)).unread_count == 0


async def test_a_thread_open_in_a_hidden_tab_still_counts_new_messages_unread(user: User):
    from chathub.services import presence

    conversation_id = await conversation_from_webhook(user, sender="+15550001")
    await sign_in(user)
    client = await user.open(f"/conversations/{conversation_id}")
    presence.tab_visible(client.id, False)  # the agent switched to another browser tab
    await post_webhook(user.http_client, seed_message(message_id="unseen", sender="+15550001", text="Not seen"))

    async def counted_unread():
        return (await conversations.get_conversation(conversation_id)).unread_count == 1

    await eventually(counted_unread)


async def test_the_new_message_sound_plays_once_for_a_burst_of_messages(user: User, monkeypatch):
    chimes = Counter()  # by tab
    run_javascript = ui.run_javascript

    def recording(code: str, *args, **kwargs):
        if code != layout.CHIME_JS:
            return run_javascript(code, *args, **kwargs)
        chimes[ui.context.client.id] += 1

    monkeypatch.setattr(ui, "run_javascript", recording)
    await sign_in(user)
    await user.open("/")
    user.find(marker="sound-toggle").click()  # the switch in the agent's menu
    worker = process_state.current().workers["webhooks"]
    await worker.stop()  # five customers write at once: the worker takes them together
    for n in range(5):
        await post_webhook(
            user.http_client, seed_message(message_id=f"burst-{n}", sender=f"+155500{n}", name=f"Burst {n}")
        )
    worker.start()
    await user.should_see("Burst 4", retries=50)
    assert user.client.id in chimes and set(chimes.values()) == {1}  # one chime a tab, not five

    user.find(marker="sound-toggle").click()  # off again: silence
    before = dict(chimes)
    await post_webhook(user.http_client, seed_message(message_id="quiet", sender="+1555009", name="Quiet Quinn"))
    await user.should_see("Quiet Quinn", retries=50)
    assert chimes == before


def set_tab_visibility(user: User, state: str) -> None:
    """What the page frame's script tells the server when the browser tab goes to the background or back."""
    frame = user.client.layout
    for listener_id, listener in list(frame._event_listeners.items()):
        if listener.type == "chathub_visibility":
            frame._handle_event({"listener_id": listener_id, "args": state})


async def test_a_background_tab_draws_its_inbox_when_looked_at_again(user: User):
    await sign_in(user)
    await user.open("/")
    await user.should_see("No conversations here.")
    set_tab_visibility(user, "hidden")
    await conversation_from_webhook(user, sender="+15550031", name="Hidden Hana")
    await asyncio.sleep(2 * live_pace.FIRST_DELAY_SECONDS)
    await user.should_not_see("Hidden Hana")  # nobody looks: the list waits

    set_tab_visibility(user, "visible")
    await user.should_see("Hidden Hana", retries=5)  # at once, not a pace later


async def test_a_background_tab_that_missed_more_than_it_shows_reads_its_inbox_again(user: User):
    await sign_in(user)
    await user.open("/")
    set_tab_visibility(user, "hidden")
    for n in range(conversation_list.PAGE_SIZE + 5):
        await post_webhook(
            user.http_client, seed_message(message_id=f"away-{n}", sender=f"+1555004{n:02d}", name=f"Away {n:02d}")
        )
    last = conversation_list.PAGE_SIZE + 4
    await conversation_from_webhook(user, sender=f"+1555004{last:02d}", message_id=f"away-{last}")

    set_tab_visibility(user, "visible")
    await user.should_see(f"Away {last:02d}", retries=20)
    assert len(row_order(user)) == conversation_list.PAGE_SIZE  # one page, read afresh
    await user.should_not_see("Away 00")
