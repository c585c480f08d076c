"""Canned replies in the reply box: `/` and a few letters list the matching replies; Enter, Tab or a click put
one in place of what was typed, with the customer's and the agent's names filled in."""

from __future__ import annotations

from nicegui.testing import User

from chathub.models import Agent, CannedResponse, CannedScope
from chathub.pages.components.canned_picker import CannedPicker, matching
from chathub.schemas import AgentIn, CannedResponseIn
from chathub.services import agents, canned_responses
from tests.pages.test_conversation import messages_of, open_thread
from tests.security.test_hostile_rendering import assert_text_only

REFUND = "Hi {{customer.first_name}}, your refund is on its way. {{agent.name}}"


async def admin() -> Agent:
    return next(a for a in await agents.list_agents() if agents.is_admin(a))


async def add_reply(owner: Agent, short_code: str, content: str, scope: CannedScope = CannedScope.team) -> None:
    await canned_responses.create_canned_response(
        owner, CannedResponseIn(short_code=short_code, content=content, scope=scope)
    )


def reply_box(user: User) -> str:
    return next(iter(user.find(marker="composer").elements)).value


async def press(user: User, key: str) -> None:
    """A key the browser side of the list takes while it is open (canned_picker.js)."""
    user.find(kind=CannedPicker).trigger("key", key)


async def thread_with_replies(user: User) -> int:
    boss = await admin()
    await add_reply(boss, "refund", REFUND)
    await add_reply(boss, "reopen", "We have reopened your ticket, {{customer.name}}.")
    await add_reply(boss, "hours", "Open 9 to 5, Monday to Friday.")
    return await open_thread(user, name="Maria Lopez")


async def test_slash_and_letters_list_the_matching_replies_and_enter_inserts_one_with_the_name_filled(user: User):
    conversation_id = await thread_with_replies(user)
    user.find(marker="composer").type("/re")
    await user.should_see(marker="canned-option-refund")
    await user.should_see(marker="canned-option-reopen")
    await user.should_see("Hi Maria, your refund is on its way. Admin")  # the preview is filled in too
    await user.should_not_see(marker="canned-option-hours")

    user.find(marker="composer").trigger("keydown", "send")  # Enter, as the browser reports it
    await user.should_not_see(marker="canned-picker")
    assert reply_box(user) == "Hi Maria, your refund is on its way. Admin"
    assert len(await messages_of(conversation_id)) == 1  # Enter inserted: nothing was sent


async def test_arrow_down_and_tab_pick_the_next_reply_in_place_of_the_typed_code(user: User):
    await thread_with_replies(user)
    user.find(marker="composer").type("Sorry for the wait. /re")
    await user.should_see(marker="canned-option-reopen")
    await press(user, "down")
    await press(user, "pick")
    assert reply_box(user) == "Sorry for the wait. We have reopened your ticket, Maria Lopez."


async def test_a_click_inserts_and_esc_closes_the_list_until_another_slash(user: User):
    await thread_with_replies(user)
    user.find(marker="composer").type("/hour")
    await user.should_see(marker="canned-option-hours")
    await press(user, "close")
    await user.should_not_see(marker="canned-picker")
    user.find(marker="composer").type("s")
    await user.should_not_see(marker="canned-picker")
    assert reply_box(user) == "/hours"

    user.find(marker="composer").type(" and /h")
    await user.should_see(marker="canned-option-hours")
    user.find(marker="canned-option-hours").click()
    assert reply_box(user) == "/hours and Open 9 to 5, Monday to Friday."


async def test_a_slash_inside_a_word_or_alone_lists_nothing(user: User):
    await thread_with_replies(user)
    user.find(marker="composer").type("and/re")
    await user.should_not_see(marker="canned-picker")
    user.find(marker="composer").type(" / ")
    await user.should_not_see(marker="canned-picker")
    assert reply_box(user) == "and/re / "


async def test_another_agents_personal_replies_never_show_and_new_ones_show_at_once(user: User):
    bob = await agents.create_agent(AgentIn(email="bob@example.com", name="Bob", password="Bob-pass-1"))
    await add_reply(bob, "refund-bob", "Bob's own refund text", CannedScope.personal)
    await thread_with_replies(user)
    user.find(marker="composer").type("/ref")
    await user.should_see(marker="canned-option-refund")
    await user.should_not_see(marker="canned-option-refund-bob")

    await add_reply(await admin(), "refund-late", "Your refund was sent yesterday.")
    user.find(marker="composer").type("u")
    await user.should_see(marker="canned-option-refund-late")


async def test_a_hostile_customer_name_filled_into_a_reply_stays_text(user: User):
    await add_reply(await admin(), "refund", REFUND)
    await open_thread(user, name="<b>Maria</b><img/src=x/onerror=alert(1)> Lopez")
    user.find(marker="composer").type("/ref")
    await user.should_see("Hi <b>Maria</b><img/src=x/onerror=alert(1)>, your refund is on its way. Admin")
    assert_text_only(user)
    user.find(marker="composer").trigger("keydown", "send")  # Enter, as the browser reports it
    await user.should_not_see(marker="canned-picker")
    assert reply_box(user) == "Hi <b>Maria</b><img/src=x/onerror=alert(1)>, your refund is on its way. Admin"


def test_codes_beginning_with_the_letters_come_first_then_codes_holding_them_then_texts():
    replies = [
        CannedResponse(id=n, short_code=code, content=content, scope=CannedScope.team)
        for n, (code, content) in enumerate(
            [("a-refund", "x"), ("hours", "No refunds on Sundays"), ("refund", "x"), ("thanks", "x")], start=1
        )
    ]
    assert [r.short_code for r in matching(replies, "ref")] == ["refund", "a-refund", "hours"]
