"""Activity lines in the thread (`User`): what an agent does there is written as a line, live in every tab that
shows the conversation."""

from nicegui.testing import User

from chathub.models import AgentRole
from chathub.schemas import AgentIn
from chathub.services import agents
from tests.helpers.pages import sign_in
from tests.pages.test_inbox import conversation_from_webhook, set_value

BOB = {"email": "bob@example.com", "password": "Bob-pass-12"}


async def test_status_and_assignment_changes_show_as_lines_in_both_agents_threads(user: User, create_user):
    conversation_id = await conversation_from_webhook(user, sender="+15550001", name="Ann")
    bob_id = (await agents.create_agent(AgentIn(name="Bob", role=AgentRole.agent, **BOB))).id
    alice, bob = user, create_user()
    await sign_in(alice)
    await sign_in(bob, BOB["email"], BOB["password"])
    await alice.open(f"/conversations/{conversation_id}")
    await bob.open(f"/conversations/{conversation_id}")

    alice.find(marker="resolve").click()
    await alice.should_see("Admin resolved the conversation", retries=20)
    await bob.should_see("Admin resolved the conversation", retries=20)

    bob.find(marker="reopen").click()
    await alice.should_see("Bob reopened the conversation", retries=20)
    await bob.should_see("Bob reopened the conversation", retries=20)

    set_value(alice, "assign", bob_id)
    await alice.should_see("Admin assigned the conversation to Bob", retries=20)
    await bob.should_see("Admin assigned the conversation to Bob", retries=20)
