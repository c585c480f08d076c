"""The customers list and the customer page: search, sort, paging, editing, merging, not found."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from chathub.models import ChannelType
from chathub.schemas import ChannelIn, CustomerPatch
from chathub.services import channels, conversations, customers
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message

XSS_NAME = "<img src=x onerror=alert(1)>"


async def write_in(
    user: User,
    sender: str,
    name: str,
    *,
    message_id: str | None = None,
    text: str = "hi",
    path: str = "/webhooks/simulator",
) -> int:
    """A customer writes in through a channel; returns the customer's id once the message is stored."""
    message_id = message_id or f"m-{sender}-{path}"
    response = await post_webhook(user.http_client, seed_message(message_id, sender, text, name=name), path=path)
    assert response.status_code == 200, response.text

    async def stored():
        listing = await customers.browse_customers(limit=100)
        matches = [c for c in listing.items if any(i.external_id == sender for i in c.identities)]
        if not matches:
            return None
        found = await conversations.list_conversations(customer_id=matches[0].id)
        return matches[0].id if any(text[:20] in c.last_message_preview for c in found.items) else None

    return await eventually(stored)


def choose(user: User, marker: str, option: str) -> None:
    """Open a select and click one of its options, as a person would."""
    found = user.find(marker=marker)
    found.click()
    UserInteraction(user, found.elements, option).click()


def texts(user: User, marker: str) -> list[str]:
    return [element.text for element in user.find(marker=marker).elements]


def names_in_order(user: User) -> list[str]:
    try:
        found = user.find(marker="customer-name").elements
    except AssertionError:  # no rows
        return []
    return [e.text for e in sorted(found, key=lambda e: e.id)]


# ---- the list ----


async def test_customers_list_newest_first_with_identities_and_a_row_opens_the_customer(user: User):
    await sign_in(user)
    await write_in(user, "+15550001", "Ann Archer")
    bob = await write_in(user, "+15550002", "Bob Baker")
    await user.open("/customers")
    await user.should_see("Bob Baker")
    assert names_in_order(user) == ["Bob Baker", "Ann Archer"]
    assert texts(user, "customer-identities") == ["1 identity", "1 identity"]
    await user.should_see("1–2 of 2")
    user.find(marker=f"customer-{bob}").click()
    await user.should_see(marker="customer-name-input", retries=20)
    assert user.find(marker="customer-name-input").elements.pop().value == "Bob Baker"


async def test_search_finds_customers_by_name_phone_or_email(user: User):
    await sign_in(user)
    ann = await write_in(user, "+15550001", "Ann Archer")
    await write_in(user, "+15550002", "Bob Baker")
    await customers.update_customer(ann, CustomerPatch(email="ann@shop.test"))
    await user.open("/customers")
    await user.should_see("Bob Baker")
    search = user.find(marker="customer-search")
    for text, expected in (
        ("bob", ["Bob Baker"]),
        ("0001", ["Ann Archer"]),
        ("shop.test", ["Ann Archer"]),
        ("nobody", []),
    ):
        search.clear().type(text)
        await eventually_names(user, expected)
    await user.should_see("No customer matches")


async def test_search_takes_percent_and_underscore_literally(user: User):
    await sign_in(user)
    await write_in(user, "+15550001", "Ann Archer")
    await user.open("/customers")
    await user.should_see("Ann Archer")
    user.find(marker="customer-search").type("%")
    await user.should_see("No customer matches", retries=20)


async def test_sorting_by_name_and_by_date(user: User):
    await sign_in(user)
    for number, name in (("+15550001", "carol"), ("+15550002", "Alice"), ("+15550003", "Bob")):
        await write_in(user, number, name)
    await user.open("/customers")
    await user.should_see("carol")
    assert names_in_order(user) == ["Bob", "Alice", "carol"]
    choose(user, "customer-sort", "Name A–Z")
    await user.should_see("Name A–Z", retries=20)
    await eventually_names(user, ["Alice", "Bob", "carol"])
    user.find(marker="sort-by-name").click()  # the column heading flips the order
    await eventually_names(user, ["carol", "Bob", "Alice"])
    choose(user, "customer-sort", "Oldest first")
    await eventually_names(user, ["carol", "Alice", "Bob"])


async def eventually_names(user: User, expected: list[str]) -> None:
    async def matches():
        return names_in_order(user) == expected

    await eventually(matches, timeout=3)


async def test_paging_shows_25_customers_a_page(user: User):
    await sign_in(user)
    for number in range(27):
        await post_webhook(
            user.http_client, seed_message(f"m{number}", f"+1555{number:04d}", "hi", name=f"Customer {number:02d}")
        )

    async def all_stored():
        return (await customers.browse_customers()).total == 27

    await eventually(all_stored)
    await user.open("/customers")
    await user.should_see("1–25 of 27")
    assert len(names_in_order(user)) == 25
    assert "Customer 26" in names_in_order(user) and "Customer 00" not in names_in_order(user)
    user.find(marker="customers-next").click()
    await user.should_see("26–27 of 27", retries=20)
    assert sorted(names_in_order(user)) == ["Customer 00", "Customer 01"]
    user.find(marker="customers-previous").click()
    await user.should_see("1–25 of 27", retries=20)


async def test_empty_list_explains_where_customers_come_from(user: User):
    await sign_in(user)
    await user.open("/customers")
    await user.should_see("No customers yet")


async def test_customer_name_that_looks_like_html_is_shown_as_text(user: User):
    await sign_in(user)
    customer_id = await write_in(user, "+15550001", XSS_NAME)
    await user.open("/customers")
    await user.should_see(XSS_NAME)
    assert texts(user, "customer-name") == [XSS_NAME]
    assert not any(isinstance(e, (ui.html, ui.markdown)) for e in user.current_layout.descendants())
    await user.open(f"/customers/{customer_id}")
    await user.should_see(marker="customer-title")
    assert texts(user, "customer-title") == [XSS_NAME]
    assert not any(isinstance(e, (ui.html, ui.markdown)) for e in user.current_layout.descendants())


# ---- the customer page ----


async def test_customer_page_shows_identities_and_conversations_across_channels(user: User):
    await sign_in(user)
    web = await channels.create_channel(ChannelIn(type=ChannelType.simulator, name="Web chat"))
    ann = await write_in(user, "+15550001", "Ann Archer", text="First question")
    ann_web = await write_in(
        user, "ann-web", "Ann Archer", text="Second question", path=f"/webhooks/simulator/{web.id}"
    )
    await customers.merge_customers(keep_id=ann, duplicate_id=ann_web)
    await user.open(f"/customers/{ann}")
    await user.should_see("Second question")
    await user.should_see("First question")
    await user.should_see("ann-web")
    await user.should_see("+15550001")
    await user.should_see("Web chat")
    found = await conversations.list_conversations(customer_id=ann)
    for conversation in found.items:
        link = user.find(marker=f"conversation-{conversation.id}").elements.pop()
        assert link.props["href"] == f"/conversations/{conversation.id}"
    assert len(found.items) == 2


async def test_editing_saves_name_email_phone_and_notes(user: User):
    await sign_in(user)
    ann = await write_in(user, "+15550001", "Ann")
    await user.open(f"/customers/{ann}")
    await user.should_see(marker="customer-name-input")
    user.find(marker="customer-name-input").clear().type("Ann Archer")
    user.find(marker="customer-email-input").type("ann@shop.test")
    user.find(marker="customer-phone-input").clear().type("+44 20 7946 0000")
    user.find(marker="customer-notes-input").type("Prefers email.")
    user.find(marker="save-customer").click()
    await user.should_see("Saved", retries=20)
    saved = await customers.get_customer(ann)
    assert (saved.name, saved.email, saved.phone, saved.notes) == (
        "Ann Archer",
        "ann@shop.test",
        "+44 20 7946 0000",
        "Prefers email.",
    )
    assert texts(user, "customer-title") == ["Ann Archer"]


async def test_empty_name_is_explained_and_nothing_is_saved(user: User):
    await sign_in(user)
    ann = await write_in(user, "+15550001", "Ann")
    await user.open(f"/customers/{ann}")
    await user.should_see(marker="customer-name-input")
    user.find(marker="customer-name-input").clear().type("   ")
    user.find(marker="customer-notes-input").type("should not be saved")
    user.find(marker="save-customer").click()
    await user.should_see("Enter a name", retries=20)
    saved = await customers.get_customer(ann)
    assert (saved.name, saved.notes) == ("Ann", "")


async def test_bad_email_is_explained_and_nothing_is_saved(user: User):
    await sign_in(user)
    ann = await write_in(user, "+15550001", "Ann")
    await user.open(f"/customers/{ann}")
    await user.should_see(marker="customer-name-input")
    user.find(marker="customer-name-input").clear().type("Ann Archer")
    user.find(marker="customer-email-input").type("not-an-email")
    user.find(marker="save-customer").click()
    await user.should_see("is not an email address", retries=20)
    saved = await customers.get_customer(ann)
    assert (saved.name, saved.email) == ("Ann", None)


async def test_merging_a_duplicate_moves_its_identities_and_conversations(user: User):
    await sign_in(user)
    web = await channels.create_channel(ChannelIn(type=ChannelType.simulator, name="Web chat"))
    keep = await write_in(user, "+15550001", "Ann Archer", text="Question by phone")
    duplicate = await write_in(
        user, "visitor-7", "Ann from the website", text="Question on the web", path=f"/webhooks/simulator/{web.id}"
    )
    await customers.update_customer(duplicate, CustomerPatch(email="ann@shop.test"))
    await user.open(f"/customers/{keep}")
    await user.should_see("Question by phone")
    await user.should_not_see("Question on the web")
    user.find(marker="merge-search").type("website")
    await user.should_see(marker=f"merge-pick-{duplicate}", retries=20)
    user.find(marker=f"merge-pick-{duplicate}").click()
    await user.should_see(marker="confirm-merge", retries=20)
    with user.scope(marker="merge-dialog"):
        await user.should_see("1 identity: Web chat · visitor-7")
        await user.should_see("1 conversation")
        await user.should_see("Their email fills the empty one here.")
    user.find(marker="confirm-merge").click()
    await user.should_see("Question on the web", retries=20)
    await user.should_see("visitor-7")
    await user.should_not_see(marker="confirm-merge")
    kept = await customers.get_customer(keep)
    assert {i.external_id for i in kept.identities} == {"+15550001", "visitor-7"}
    assert kept.email == "ann@shop.test"
    assert len((await conversations.list_conversations(customer_id=keep)).items) == 2
    await user.open(f"/customers/{duplicate}")
    await user.should_see("This customer does not exist")


async def test_cancelled_merge_changes_nothing(user: User):
    await sign_in(user)
    keep = await write_in(user, "+15550001", "Ann Archer")
    duplicate = await write_in(user, "+15550002", "Ann Again")
    await user.open(f"/customers/{keep}")
    await user.should_see(marker="merge-search")
    user.find(marker="merge-search").type("Again")
    await user.should_see(marker=f"merge-pick-{duplicate}", retries=20)
    user.find(marker=f"merge-pick-{duplicate}").click()
    await user.should_see(marker="cancel-merge", retries=20)
    user.find(marker="cancel-merge").click()
    await user.should_not_see(marker="confirm-merge", retries=20)
    assert (await customers.get_customer(duplicate)).name == "Ann Again"


async def test_merge_search_does_not_offer_the_customer_itself(user: User):
    await sign_in(user)
    keep = await write_in(user, "+15550001", "Ann Archer")
    await user.open(f"/customers/{keep}")
    await user.should_see(marker="merge-search")
    user.find(marker="merge-search").type("Ann")
    await user.should_see("No other customer matches", retries=20)
    await user.should_not_see(marker=f"merge-pick-{keep}")


async def test_unknown_customer_shows_not_found_in_the_frame(user: User):
    await sign_in(user)
    for path in ("/customers/999", "/customers/abc"):
        await user.open(path)
        await user.should_see("This customer does not exist")
        await user.should_see("Webhook logs")  # the navigation of the frame


async def test_an_impossible_customer_id_is_just_not_found(user: User):
    await sign_in(user)
    await user.open("/customers/99999999999999999999")
    await user.should_see("This customer does not exist.")
