"""The Canned replies page: agents read the team's replies and manage their own; admins also the team's; live."""

from __future__ import annotations

from collections.abc import Callable

from nicegui.testing import User

from chathub.models import CannedScope
from chathub.schemas import AgentIn
from chathub.services import agents, canned_responses
from tests.helpers.pages import sign_in
from tests.pages.test_canned_composer import add_reply, admin
from tests.pages.test_inbox import set_value

ANN = AgentIn(email="ann@example.com", name="Ann Lee", password="Ann-pass-1")


async def open_as_ann(user: User) -> None:
    await agents.create_agent(ANN)
    await sign_in(user, ANN.email, ANN.password)
    await user.open("/canned-responses")


def fill_editor(user: User, code: str, content: str) -> None:
    set_value(user, "canned-code", code)
    set_value(user, "canned-content", content)
    user.find(marker="save-canned").click()


async def reply_id(short_code: str, scope: CannedScope) -> int:
    rows = await canned_responses.list_canned_responses(await admin(), q=short_code)
    return next(row.id for row in rows if row.short_code == short_code and row.scope == scope)


async def test_an_agent_reads_team_replies_and_adds_edits_and_deletes_their_own(user: User):
    await add_reply(await admin(), "refund", "Hi {{customer.first_name}}, <b>your refund</b> is on its way.")
    await open_as_ann(user)
    await user.should_see("/refund")
    await user.should_see("Hi {{customer.first_name}}, <b>your refund</b> is on its way.")  # as text, as stored
    refund = await reply_id("refund", CannedScope.team)
    await user.should_not_see(marker=f"edit-canned-{refund}")  # the team's: read only for an agent
    await user.should_not_see(marker=f"delete-canned-{refund}")

    user.find(marker="add-canned").click()
    await user.should_see("Only you will see it; admins add the team's replies.")
    fill_editor(user, "Thanks", "Thanks {{customer.name}}!")
    await user.should_see("/thanks saved")
    ann = next(a for a in await agents.list_agents() if a.email == ANN.email)
    [own] = [r for r in await canned_responses.list_canned_responses(ann) if r.scope == CannedScope.personal]
    assert (own.short_code, own.owner_id) == ("thanks", ann.id)
    # its row, not the "/thanks saved" notification that may come first
    await user.should_see(marker=f"edit-canned-{own.id}", retries=40)

    user.find(marker=f"edit-canned-{own.id}").click()
    fill_editor(user, "thanks", "Many thanks!")
    await user.should_see("Many thanks!", retries=40)
    user.find(marker=f"delete-canned-{own.id}").click()
    user.find(marker="confirm-delete").click()
    await user.should_not_see(marker=f"canned-row-{own.id}", retries=40)
    await user.should_see("No replies of your own yet: add one only you will see.")


async def test_a_taken_short_code_is_refused_in_the_dialog_with_a_sentence(user: User):
    await sign_in(user)
    await add_reply(await admin(), "refund", "Your refund is on its way.")
    await user.open("/canned-responses")
    user.find(marker="add-canned").click()
    fill_editor(user, "REFUND", "Another text")
    await user.should_see("A team reply with the short code refund already exists.")
    fill_editor(user, "no spaces please", "Another text")
    await user.should_see("A short code is 1 to 50 letters, digits, - or _ (no spaces).")
    assert len(await canned_responses.list_canned_responses(await admin())) == 1


async def test_an_admin_adds_a_team_reply_and_it_appears_at_once_on_an_agents_open_page(
    user: User, create_user: Callable[[], User]
):
    await open_as_ann(user)
    await user.should_see("No team replies yet.")
    boss = create_user()
    await sign_in(boss)
    await boss.open("/canned-responses")
    boss.find(marker="add-canned").click()
    set_value(boss, "canned-scope", CannedScope.team.value)
    fill_editor(boss, "hours", "Open 9 to 5.")
    await boss.should_see("/hours")
    await user.should_see("/hours", retries=40)
    await user.should_see("Open 9 to 5.")

    refund_of_the_admin = "The admin's own text"
    await add_reply(await admin(), "mine", refund_of_the_admin, CannedScope.personal)
    await boss.should_see(refund_of_the_admin, retries=40)
    await user.should_not_see(refund_of_the_admin)


async def test_search_keeps_the_replies_whose_code_or_text_holds_it(user: User):
    boss = await admin()
    await add_reply(boss, "refund", "Your refund is on its way.")
    await add_reply(boss, "hours", "Open 9 to 5, Monday to Friday.")
    await sign_in(user)
    await user.open("/canned-responses")
    await user.should_see("/hours")
    user.find(marker="canned-search").type("MONDAY")
    await user.should_not_see("/refund", retries=40)
    await user.should_see("/hours")
    await user.should_see("Nothing matches the search.")
