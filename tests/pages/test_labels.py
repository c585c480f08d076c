"""Labels and priority in the pages: chips and priority flags on inbox rows, the label and priority filters, the
"Priority first" sort, adding and removing labels from the thread, and the admins' Labels page."""

from __future__ import annotations

from nicegui.testing import User

from chathub.models import AgentRole, Priority
from chathub.pages.components.conversation_rows import ConversationRows
from chathub.schemas import AgentIn, ConversationPatch, LabelIn, MessageIn
from chathub.services import agents, conversations, labels, outbound
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message
from tests.pages.test_inbox import conversation_from_webhook, set_value


def rows(user: User) -> list[dict]:
    return next(iter(user.find(kind=ConversationRows).elements)).rows


def names_in_order(user: User):
    async def check() -> list[str]:
        return [row["name"] for row in rows(user)]

    return check


async def admin():
    return next(agent for agent in await agents.list_agents() if agent.role == AgentRole.admin)


async def test_a_row_shows_its_label_chips_and_priority_flag_and_they_update_live(user: User):
    ann = await conversation_from_webhook(user, sender="+15550001", name="Ann Lee")
    await labels.create_label(LabelIn(name="refund", color="#ff0000"))
    await sign_in(user)
    await user.open("/")
    await user.should_see("Ann Lee")
    await user.should_not_see("refund")

    await labels.add_to_conversation(ann, "refund", actor=await admin())
    await conversations.update_conversation(ann, ConversationPatch(priority=Priority.urgent))
    await user.should_see("refund", retries=20)
    await user.should_see("Priority: urgent", retries=20)
    row = rows(user)[0]
    assert row["labels"] == [{"name": "refund", "style": "background:#ff0000;color:#fff"}]
    assert row["priority_class"] == "text-red-600"


async def test_a_labelled_row_keeps_its_chip_when_the_customer_writes_and_an_agent_replies(user: User):
    ann = await conversation_from_webhook(user, sender="+15550001", name="Ann Lee")
    await labels.create_label(LabelIn(name="refund"))
    await labels.add_to_conversation(ann, "refund", actor=await admin())
    await sign_in(user)
    await user.open("/")
    await user.should_see("refund", retries=20)

    response = await post_webhook(user.http_client, seed_message(message_id="m-2", sender="+15550001", text="Hi?"))
    assert response.status_code == 200
    await user.should_see("Hi?", retries=20)
    assert [row["labels"][0]["name"] for row in rows(user)] == ["refund"]
    await outbound.send_message(conversation_id=ann, message=MessageIn(content="On it"))
    await user.should_see("On it", retries=20)
    assert [row["labels"][0]["name"] for row in rows(user)] == ["refund"]


async def test_no_priority_shows_no_flag(user: User):
    await conversation_from_webhook(user, sender="+15550001", name="Ann Lee")
    await sign_in(user)
    await user.open("/")
    await user.should_see("Ann Lee")
    assert rows(user)[0]["priority_title"] == ""
    await user.should_not_see("Priority:")


async def test_the_label_filter_shows_labelled_conversations_and_takes_in_one_labelled_later(user: User):
    ann = await conversation_from_webhook(user, sender="+15550001", name="Ann Lee")
    bob = await conversation_from_webhook(user, sender="+15550002", name="Bob Ray")
    await labels.create_label(LabelIn(name="Refund"))
    await labels.add_to_conversation(ann, "refund", actor=await admin())
    await sign_in(user)
    await user.open("/")
    set_value(user, "filter-label", "Refund")
    await user.should_not_see("Bob Ray", retries=20)
    await user.should_see("Ann Lee")

    await labels.add_to_conversation(bob, "Refund", actor=await admin())
    await user.should_see("Bob Ray", retries=20)
    await labels.remove_from_conversation(ann, "refund", actor=await admin())
    await user.should_not_see("Ann Lee", retries=20)


async def test_the_priority_filter_and_priority_first_sort(user: User):
    ann = await conversation_from_webhook(user, sender="+15550001", name="Ann Lee")
    bob = await conversation_from_webhook(user, sender="+15550002", name="Bob Ray")
    cy = await conversation_from_webhook(user, sender="+15550003", name="Cy Dee")
    await conversations.update_conversation(ann, ConversationPatch(priority=Priority.urgent))
    await conversations.update_conversation(cy, ConversationPatch(priority=Priority.low))
    await sign_in(user)
    await user.open("/")
    await user.should_see("Cy Dee")
    assert await names_in_order(user)() == ["Cy Dee", "Bob Ray", "Ann Lee"]

    set_value(user, "filter-sort", "priority")
    await user.should_see("Ann Lee")
    assert await _eventually_equal(names_in_order(user), ["Ann Lee", "Cy Dee", "Bob Ray"])
    await conversations.update_conversation(bob, ConversationPatch(priority=Priority.medium))  # live: Bob moves up
    assert await _eventually_equal(names_in_order(user), ["Ann Lee", "Bob Ray", "Cy Dee"])

    set_value(user, "filter-priority", "urgent")
    await user.should_not_see("Bob Ray", retries=20)
    assert await names_in_order(user)() == ["Ann Lee"]


async def _eventually_equal(read, expected) -> bool:
    async def equal():
        return await read() == expected

    return await eventually(equal)


async def test_an_agent_adds_and_removes_a_label_and_sets_priority_in_the_thread(user: User):
    ann = await conversation_from_webhook(user, sender="+15550001", name="Ann Lee")
    await labels.create_label(LabelIn(name="refund"))
    await labels.create_label(LabelIn(name="vip"))
    await sign_in(user)
    await user.open(f"/conversations/{ann}")
    await user.should_see(marker="add-label")

    user.find(marker="add-label-refund").click()
    await user.should_see(marker="label-chip-refund", retries=20)
    await user.should_see("Admin added label refund", retries=20)
    assert (await conversations.get_conversation(ann)).labels == ["refund"]

    set_value(user, "priority", Priority.high)
    await user.should_see("Admin set priority to high", retries=20)
    assert (await conversations.get_conversation(ann)).priority == Priority.high

    user.find(marker="remove-label-refund").click()
    await user.should_see("Admin removed label refund", retries=20)
    await user.should_not_see(marker="label-chip-refund")
    assert (await conversations.get_conversation(ann)).labels == []


async def test_a_label_added_elsewhere_appears_in_the_open_thread(user: User):
    ann = await conversation_from_webhook(user, sender="+15550001", name="Ann Lee")
    await labels.create_label(LabelIn(name="refund"))
    await sign_in(user)
    await user.open(f"/conversations/{ann}")
    await user.should_see(marker="add-label")
    await user.should_not_see(marker="label-chip-refund")

    await labels.add_to_conversation(ann, "refund", actor=await admin())
    await user.should_see(marker="label-chip-refund", retries=20)


async def test_an_admin_adds_edits_and_deletes_labels_on_the_labels_page(user: User):
    await sign_in(user)
    await user.open("/labels")
    await user.should_see("No labels yet", retries=20)

    user.find(marker="add-label-button").click()
    user.find(marker="label-name").type("Refund")
    user.find(marker="label-description").type("Wants money back")
    user.find(marker="save-label").click()
    await user.should_see(marker="label-chip-refund", retries=20)
    [refund] = await labels.list_labels()
    assert (refund.name, refund.description) == ("Refund", "Wants money back")

    user.find(marker=f"edit-label-{refund.id}").click()
    set_value(user, "label-name", "Money back")
    user.find(marker="save-label").click()
    await user.should_see(marker="label-chip-money-back", retries=20)
    assert [label.name for label in await labels.list_labels()] == ["Money back"]

    user.find(marker=f"delete-label-{refund.id}").click()
    user.find(marker="confirm-delete-label").click()
    await user.should_see("No labels yet", retries=20)
    assert await labels.list_labels() == []


async def test_a_bad_colour_or_a_taken_name_is_said_and_saves_nothing(user: User):
    await labels.create_label(LabelIn(name="refund"))
    await sign_in(user)
    await user.open("/labels")
    user.find(marker="add-label-button").click()
    user.find(marker="label-name").type("REFUND")
    user.find(marker="save-label").click()
    await user.should_see("already exists", retries=20)

    set_value(user, "label-name", "vip")
    set_value(user, "label-color", "red")
    user.find(marker="save-label").click()
    await user.should_see("A colour is written #rrggbb.", retries=20)
    assert [label.name for label in await labels.list_labels()] == ["refund"]


async def test_an_agent_is_refused_the_labels_page(user: User):
    await agents.create_agent(AgentIn(email="ann@example.com", name="Ann", password="Ann-pass-1"))
    await sign_in(user, "ann@example.com", "Ann-pass-1")
    await user.open("/labels")
    await user.should_see("Only admins can open this page.")
    await user.should_not_see(marker="add-label-button")
