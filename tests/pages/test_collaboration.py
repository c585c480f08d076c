"""Two agents at once: typing indicators, who else is viewing, collision warnings, presence, no leaks."""

from nicegui import ElementFilter, ui
from nicegui.testing import User

from chathub import bus
from chathub.drivers.simulator import outbox
from chathub.models import AgentRole
from chathub.schemas import AgentIn, MessageIn
from chathub.services import agents, outbound, presence
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.pages.test_inbox import conversation_from_webhook

BOB = {"email": "bob@example.com", "password": "Bob-pass-12"}


async def two_agents_on_one_thread(user: User, create_user) -> tuple[User, User, int, int]:
    conversation_id = await conversation_from_webhook(user, sender="+15550001", name="Ann")
    bob_agent = await agents.create_agent(AgentIn(name="Bob", role=AgentRole.agent, **BOB))
    alice, bob = user, create_user()
    await sign_in(alice)
    await sign_in(bob, BOB["email"], BOB["password"])
    await alice.open(f"/conversations/{conversation_id}")
    await bob.open(f"/conversations/{conversation_id}")
    return alice, bob, conversation_id, bob_agent.id


async def test_an_agent_sees_who_else_views_the_thread(user: User, create_user):
    alice, bob, _, bob_id = await two_agents_on_one_thread(user, create_user)
    await alice.should_see(marker=f"viewer-{bob_id}", retries=20)
    assert presence.agent_status(bob_id) == "online"


async def test_typing_shows_to_the_other_agent_and_reaches_the_customer(user: User, create_user):
    signals = []
    outbox.typing_listeners.append(lambda channel_id, recipient: signals.append(recipient))
    try:
        alice, bob, _, _ = await two_agents_on_one_thread(user, create_user)
        bob.find(marker="composer").type("Let me check")
        await alice.should_see("Bob is typing…", retries=20)

        async def customer_told():
            return "+15550001" in signals

        await eventually(customer_told)
    finally:
        outbox.typing_listeners.clear()


async def test_customer_typing_shows_in_the_thread(user: User, create_user):
    alice, _, _, _ = await two_agents_on_one_thread(user, create_user)
    assert await presence.customer_typing(channel_id=1, external_id="+15550001")
    await alice.should_see("Ann is typing…", retries=20)


async def test_sending_after_another_agent_replied_asks_first(user: User, create_user):
    alice, bob, conversation_id, _ = await two_agents_on_one_thread(user, create_user)
    bob.find(marker="composer").type("Bob here, on it")
    bob.find(marker="send").click()
    await alice.should_see("Bob here, on it", retries=30)
    alice.find(marker="composer").type("Alice here")
    alice.find(marker="send").click()
    await alice.should_see("Send yours anyway?", retries=20)
    assert [m.content for m in (await outbound.list_messages(conversation_id=conversation_id)).items][
        -1
    ] == "Bob here, on it"
    alice.find(marker="send-anyway").click()

    async def alice_sent():
        return (await outbound.list_messages(conversation_id=conversation_id)).items[-1].content == "Alice here"

    await eventually(alice_sent)


async def test_a_sent_reply_shows_once(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550001")
    await sign_in(user)
    await user.open(f"/conversations/{conversation_id}")
    user.find(marker="composer").type("Only once")
    user.find(marker="send").click()
    await user.should_see(marker="message-2", retries=30)
    with user.client:  # the optimistic bubble (id 0) gave way to the stored one
        assert not list(ElementFilter(marker="message-0"))


async def test_presence_goes_away_and_offline(user: User):
    await sign_in(user)  # lands on the inbox: one tab
    client = user.client
    assert presence.agent_status(1) == "online"
    presence.tab_visible(client.id, False)
    assert presence.agent_status(1) == "away"
    client.delete()
    assert presence.agent_status(1) == "offline"


async def test_closed_tabs_leave_no_subscriptions_behind(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550001")
    await sign_in(user)
    baseline = (bus.subscriber_count(), presence.tab_count())
    for _ in range(40):  # a leak of one subscription a tab shows as 40
        client = await user.open(f"/conversations/{conversation_id}")
        assert bus.subscriber_count() > baseline[0]
        client.delete()
    assert (bus.subscriber_count(), presence.tab_count()) == baseline


async def test_agents_page_and_assignment_picker_show_presence(user: User, create_user):
    alice, bob, _, bob_id = await two_agents_on_one_thread(user, create_user)
    picker = next(iter(alice.find(marker="assign").elements))
    assert picker.options[bob_id] == "Bob · online"
    await alice.open("/agents")
    await alice.should_see(marker=f"presence-{bob_id}-online")
    for client in [c for c in list(bob.client.instances.values()) if c is not alice.client]:
        if is_tab_of(client.id, bob_id):
            client.delete()  # Bob closes his tabs
    await alice.should_see(marker=f"presence-{bob_id}-offline", retries=20)


def is_tab_of(tab_id: str, bob_id: int) -> bool:
    tab = presence.here().tabs.get(tab_id)
    return tab is not None and tab.agent_id == bob_id


def label_texts(user: User, content: str) -> list[str]:
    with user.client:
        return [label.text for label in ElementFilter(kind=ui.label, content=content)]


async def bob_replies_while_alice_drafts(alice: User, bob: User) -> None:
    bob.find(marker="composer").type("Bob here, on it")
    bob.find(marker="send").click()
    await alice.should_see("Bob here, on it", retries=30)
    alice.find(marker="composer").type("Alice here")
    alice.find(marker="send").click()
    await alice.should_see("Send yours anyway?", retries=20)


async def test_send_anyway_stays_until_answered(user: User, create_user):
    alice, bob, conversation_id, _ = await two_agents_on_one_thread(user, create_user)
    await bob_replies_while_alice_drafts(alice, bob)
    assert await presence.customer_typing(channel_id=1, external_id="+15550001")  # the activity line redraws

    async def ann_typing_shown():
        return any("Ann" in text for text in label_texts(alice, "typing…"))

    await eventually(ann_typing_shown)
    await alice.should_see("Send yours anyway?")
    alice.find(marker="send-cancel").click()
    await alice.should_not_see("Send yours anyway?", retries=20)
    assert next(iter(alice.find(marker="composer").elements)).value == "Alice here"  # the draft is kept
    assert [m.content for m in (await outbound.list_messages(conversation_id=conversation_id)).items][
        -1
    ] == "Bob here, on it"


async def test_typing_ends_when_the_other_agent_sends(user: User, create_user):
    alice, bob, _, _ = await two_agents_on_one_thread(user, create_user)
    bob.find(marker="composer").type("Bob here, on it")
    await alice.should_see("Bob is typing…", retries=20)
    bob.find(marker="send").click()
    await alice.should_see(content="Bob replied", retries=30)  # his reply reached Alice's thread
    await alice.should_not_see("Bob is typing…")


async def test_replied_time_counts_on(user: User, create_user):
    alice, _, conversation_id, bob_id = await two_agents_on_one_thread(user, create_user)
    await outbound.send_message(
        conversation_id=conversation_id, agent_id=bob_id, message=MessageIn(content="Bob here, on it")
    )  # through the API: no typing
    await alice.should_see(content="Bob replied", retries=30)

    def warning() -> str:
        return next(iter(label_texts(alice, "Bob replied")), "")

    first = warning()
    assert first.startswith("Bob replied ")

    async def counted_on():
        return warning() not in ("", first)

    await eventually(counted_on, timeout=10)
