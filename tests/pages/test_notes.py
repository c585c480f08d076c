"""Private notes in the thread: the Reply / Note toggle (and `n`), the note's own look, the @ list that mentions an
agent, typing a note never reaching the customer, and activity lines drawn as small centred lines."""

from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from chathub import db
from chathub.drivers.simulator import outbox
from chathub.models import AgentRole, MessageKind
from chathub.pages.components.shortcuts import Shortcuts
from chathub.schemas import AgentIn, MessageIn
from chathub.services import activity, agents, outbound
from tests.helpers.api import delivered_to
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.pages.test_inbox import conversation_from_webhook

SENDER = "+15550001"


async def open_thread(user: User) -> int:
    conversation_id = await conversation_from_webhook(user, sender=SENDER, name="Ann")
    await sign_in(user)
    await user.open(f"/conversations/{conversation_id}")
    await user.should_see(marker="composer")
    return conversation_id


async def add_agent(name: str) -> int:
    agent = await agents.create_agent(
        AgentIn(name=name, email=f"{name.lower()}@example.com", password=f"{name}-pass-12", role=AgentRole.agent)
    )
    return agent.id


def composer_text(user: User) -> str:
    return next(iter(user.find(marker="composer").elements)).value


async def stored_notes(conversation_id: int) -> list:
    messages = (await outbound.list_messages(conversation_id=conversation_id)).items
    return [m for m in messages if m.kind == MessageKind.note]


def switch_to_note(user: User) -> None:
    next(iter(user.find(marker="composer-mode").elements)).value = "note"


async def start_a_note(user: User) -> tuple[int, UserInteraction]:
    """The thread open, its composer in note mode; returns the conversation's id and the composer."""
    conversation_id = await open_thread(user)
    switch_to_note(user)
    return conversation_id, user.find(marker="composer")


async def test_a_note_is_written_in_note_mode_shown_as_agents_only_and_never_sent(user: User):
    conversation_id = await open_thread(user)
    switch_to_note(user)
    await user.should_not_see(marker="attach")  # a note is text only
    delivered_before = delivered_to(SENDER)  # the simulated provider outlives a test: other tests' sends stay

    user.find(marker="composer").type("Refund approved by finance")
    user.find(marker="send").click()

    notes = await eventually(lambda: stored_notes(conversation_id))
    assert [(n.content, n.private) for n in notes] == [("Refund approved by finance", True)]
    await user.should_see("Only agents see this")
    await user.should_see("Refund approved by finance")
    await eventually(lambda: _is(composer_text(user), ""))  # ready for the next
    assert delivered_to(SENDER) == delivered_before


async def test_n_starts_a_note_and_r_goes_back_to_a_reply(user: User):
    await open_thread(user)
    toggle = next(iter(user.find(marker="composer-mode").elements))

    user.find(kind=Shortcuts).trigger("shortcut", "note")
    await eventually(lambda: _is(toggle.value, "note"))
    await user.should_not_see(marker="attach")
    user.find(kind=Shortcuts).trigger("shortcut", "reply")
    await eventually(lambda: _is(toggle.value, "reply"))
    await user.should_see(marker="attach")


async def _is(value, expected) -> bool:
    return value == expected


async def test_the_at_list_inserts_the_agents_name_and_the_note_mentions_them(user: User):
    bob_id = await add_agent("Bob")
    await add_agent("Cy")
    conversation_id = await open_thread(user)
    switch_to_note(user)

    user.find(marker="composer").type("Can you call her, @bo")
    await user.should_see(marker=f"mention-{bob_id}")
    await user.should_see("Bob", marker="mention-list")
    await user.should_not_see("Cy", marker="mention-list")
    user.find(marker=f"mention-{bob_id}").click()
    assert composer_text(user) == "Can you call her, @Bob "
    await user.should_not_see(marker=f"mention-{bob_id}")
    user.find(marker="composer").type("today?")
    user.find(marker="send").click()

    notes = await eventually(lambda: stored_notes(conversation_id))
    assert notes[0].content == "Can you call her, @Bob today?" and notes[0].mentions == [bob_id]


async def test_the_at_list_answers_the_arrow_keys_and_enter(user: User):
    await add_agent("Bea")
    bob_id = await add_agent("Bob")
    conversation_id, composer = await start_a_note(user)

    composer.type("@b")
    await user.should_see(marker=f"mention-{bob_id}")
    composer.trigger("keydown", "ArrowDown")  # Bea, then Bob
    composer.trigger("keydown", "Enter")
    await eventually(lambda: _is(composer_text(user), "@Bob "))
    composer.trigger("keydown", "send")

    notes = await eventually(lambda: stored_notes(conversation_id))
    assert notes[0].mentions == [bob_id]


async def test_escape_closes_the_at_list_and_a_removed_name_is_no_mention(user: User):
    bob_id = await add_agent("Bob")
    conversation_id, composer = await start_a_note(user)

    composer.type("@")
    await user.should_see(marker=f"mention-{bob_id}")
    composer.trigger("keydown", "Escape")  # the list closes; the text stays
    await user.should_not_see(marker=f"mention-{bob_id}")
    composer.type("Bo")
    await user.should_see(marker=f"mention-{bob_id}")  # the list follows the text once the change arrives
    user.find(marker=f"mention-{bob_id}").click()
    next(iter(composer.elements)).value = "never mind"
    user.find(marker="send").click()

    notes = await eventually(lambda: stored_notes(conversation_id))
    assert notes[0].content == "never mind" and notes[0].mentions is None


async def test_typing_a_note_never_tells_the_customer(user: User):
    signals = []
    outbox.typing_listeners.append(lambda channel_id, recipient: signals.append(recipient))
    try:
        conversation_id = await open_thread(user)
        switch_to_note(user)
        user.find(marker="composer").type("She sounds upset")
        user.find(marker="send").click()
        await eventually(lambda: stored_notes(conversation_id))
        assert signals == []

        next(iter(user.find(marker="composer-mode").elements)).value = "reply"
        user.find(marker="composer").type("Sorry about that")

        async def customer_told():
            return SENDER in signals

        await eventually(customer_told)
    finally:
        outbox.typing_listeners.clear()


async def test_another_agents_note_arrives_live_and_is_no_reply_to_warn_of(user: User):
    bob_id = await add_agent("Bob")
    conversation_id = await open_thread(user)

    await outbound.send_message(
        conversation_id=conversation_id, agent_id=bob_id, message=MessageIn(content="I know her", private=True)
    )

    await user.should_see("I know her")
    await user.should_see("Only agents see this")
    await user.should_not_see("Bob replied")


async def test_an_activity_line_is_drawn_small_and_centred(user: User):
    conversation_id = await open_thread(user)
    async with db.write_session() as session:
        line = await activity.add_line(session, conversation_id, 1, "Alice resolved the conversation")
    activity.emit([line])

    await user.should_see("Alice resolved the conversation")
    shown = next(iter(user.find(marker=f"message-{line.id}").elements))
    assert isinstance(shown, ui.label) and "activity-line" in shown.parent_slot.parent.classes
