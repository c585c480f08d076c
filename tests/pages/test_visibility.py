"""Who sees what, in the browser: Cal is limited to his own and unassigned conversations. Every page shows him
nothing of Bertha's conversation (Bea's), nor its unread message in his totals; live changes follow the rule (her
messages never reach his tabs, a conversation handed to someone else leaves his list and closes his thread, one
handed to him appears), and an admin's change of what he sees takes effect in his open tabs."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ElementFilter, ui
from nicegui.testing import User

from chathub.pages import PAGES
from tests.helpers.api import customer_writes
from tests.helpers.pages import sign_in
from tests.helpers.team import CAL, UNA_TEXT, Team, assign, make_team
from tests.helpers.waiting import eventually
from tests.pages.test_agents import nav_targets
from tests.pages.test_inbox import listed, set_value

NOT_THERE = "This conversation does not exist (any more)."
LIMITED_PAGE = "Only agents who see every conversation can open this page."
ADMINS_PAGE = "Only admins can open this page."


def page_visits(team: Team) -> dict[str, tuple[str, str]]:
    """Each page as Cal opens it (aimed at Bertha's things where it names one), and what it shows him."""
    return {
        "/": ("/", "Carl Own"),
        "/conversations/{conversation_id}": (f"/conversations/{team.bertha_conversation}", NOT_THERE),
        "/customers": ("/customers", "Carl Own"),
        "/customers/{customer_id}": (f"/customers/{team.bertha_customer}", "This customer does not exist."),
        "/webhooks": ("/webhooks", LIMITED_PAGE),
        "/simulator": ("/simulator", LIMITED_PAGE),
        "/channels": ("/channels", ADMINS_PAGE),
        "/agents": ("/agents", ADMINS_PAGE),
        "/labels": ("/labels", ADMINS_PAGE),
        "/canned-responses": ("/canned-responses", "Canned replies"),
        "/profile": ("/profile", CAL["email"]),
    }


PUBLIC_PAGES = {"/signin", "/setup"}  # they show no conversation to anyone


def shown_anywhere(user: User, team: Team) -> list[str]:
    """What of Bertha's conversation the tab holds, in any element's text or properties (rows drawn by the
    browser are properties), and in its title."""
    with user:
        held = " ".join(
            f"{element._props} {getattr(element, 'text', '')}"
            for element in ElementFilter()
            if not isinstance(element, ui.input)  # what Cal typed himself
        )
        held += " " + (user.client.title or "")
    return [secret for secret in team.hidden if secret.lower() in held.lower()]


async def title_is(user: User, title: str) -> bool:
    return user.client.title == title


async def signed_in_cal(user: User) -> Team:
    team = await make_team(user.http_client)
    await sign_in(user, CAL["email"], CAL["password"])
    return team


async def test_every_page_shows_cal_nothing_of_berthas_conversation(user: User):
    team = await signed_in_cal(user)
    visits = page_visits(team)
    assert sorted(set(PAGES) - visits.keys() - PUBLIC_PAGES) == [], "pages the walk does not visit: add them"
    for path, expected in visits.values():
        await user.open(path)
        await user.should_see(expected)
        assert shown_anywhere(user, team) == [], path
    opened = await user.http_client.get(f"/api/v1/conversations/{team.bertha_conversation}", headers=team.admin)
    assert opened.json()["unread_count"] == 1  # Cal's visit of her thread's address read nothing


async def test_a_limited_agent_sees_a_customers_own_conversations_and_merges_nothing(user: User):
    team = await signed_in_cal(user)
    await user.open(f"/customers/{team.carl_customer}")
    await user.should_see("Carl asks about shipping")
    await user.should_not_see("Merge a duplicate into this customer")


async def test_cals_unread_total_counts_only_his_own_and_unassigned_conversations(user: User):
    await signed_in_cal(user)
    await user.open("/customers")
    await user.should_see("Carl Own")
    assert user.client.title == "(2) ChatHub"


async def test_searching_for_berthas_name_or_words_finds_nothing_for_cal(user: User):
    team = await signed_in_cal(user)
    await user.open("/")
    for text in ("zebrafinch", "Bertha", team.bertha_phone):
        set_value(user, "inbox-search", text)
        await user.should_see("No conversations here.", retries=20)
        assert shown_anywhere(user, team) == [], text
    await user.open("/customers?q=Bertha")
    await user.should_see("No customer matches")  # and says what Cal looked for: "Bertha"
    await user.should_not_see("Bertha Hidden")
    await user.should_not_see(team.bertha_phone)


async def test_berthas_new_messages_never_reach_cals_open_inbox(user: User):
    team = await signed_in_cal(user)
    await user.open("/")
    await user.should_see("Carl Own")

    await customer_writes(user.http_client, team.admin, sender=team.bertha_phone, text="zebrafinch: anyone?")
    await customer_writes(user.http_client, team.admin, sender=team.una_phone, text="Una writes again")

    await user.should_see("Una writes again", retries=40)  # after Bertha's: her change has passed this tab
    assert shown_anywhere(user, team) == []
    assert await listed(user, "Carl Own", "Una Open")()


async def test_a_conversation_handed_to_someone_else_leaves_cals_list_and_one_handed_to_him_appears(user: User):
    team = await signed_in_cal(user)
    await user.open("/")
    await user.should_see(UNA_TEXT)

    await assign(user.http_client, team.admin, team.una_conversation, team.bea_id)
    await user.should_not_see("Una Open", retries=40)

    await assign(user.http_client, team.admin, team.bertha_conversation, team.cal_id)
    await user.should_see("Bertha Hidden", retries=40)


async def test_cals_open_thread_closes_when_its_conversation_goes_to_someone_else(user: User):
    team = await signed_in_cal(user)
    await user.open(f"/conversations/{team.carl_conversation}")
    await user.should_see("Carl asks about shipping")

    await assign(user.http_client, team.admin, team.carl_conversation, team.bea_id)

    await user.should_see("This conversation is not available to you any more.", retries=40)
    await eventually(listed(user, "Una Open"), timeout=20)
    await customer_writes(user.http_client, team.admin, sender=team.carl_phone, text="Carl: still there?")
    await user.should_not_see("Carl: still there?")
    await user.should_not_see("Carl asks about shipping")


async def test_an_admin_limits_an_agent_on_the_agents_page_and_back_and_the_agents_open_inbox_follows(
    user: User, create_user: Callable[[], User]
):
    team = await make_team(user.http_client)
    every = await user.http_client.patch(f"/api/v1/agents/{team.cal_id}", json={"sees": "all"}, headers=team.admin)
    assert every.status_code == 200
    await sign_in(user, CAL["email"], CAL["password"])
    await user.open("/")
    await user.should_see("Bertha Hidden")
    assert "/webhooks" in nav_targets(user)
    admin = create_user()
    await sign_in(admin)
    await admin.open("/agents")
    await admin.should_see("Cal Limited")

    set_value(admin, f"sees-{team.cal_id}", "mine_and_unassigned")

    await admin.should_see("Cal Limited: sees own and unassigned", retries=40)
    await user.should_not_see("Bertha Hidden", retries=40)
    assert await listed(user, "Carl Own", "Una Open")()
    await eventually(lambda: title_is(user, "(2) ChatHub"), timeout=20)
    assert "/webhooks" not in nav_targets(user)

    admin.find(marker=f"make-sees-all-{team.cal_id}").click()  # the row's menu, as on a phone

    await user.should_see("Bertha Hidden", retries=40)
    await eventually(lambda: title_is(user, "(3) ChatHub"), timeout=20)
