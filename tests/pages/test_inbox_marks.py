"""What the inbox list tells an agent at a glance: a reply that failed to send marks its row, live, until a retry
goes through; a search shows the words it matched, highlighted, in the row's preview."""

from nicegui.testing import User

from chathub.pages.components.conversation_rows import ConversationRows
from chathub.schemas import ChannelPatch
from chathub.services import channels
from tests.helpers.app import login
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.pages.test_inbox import conversation_from_webhook, set_value


def shown_rows(user: User) -> list[dict]:
    rows = next(iter(user.find(marker="conversation-list").elements))
    assert isinstance(rows, ConversationRows)
    return rows.rows


async def test_a_failed_reply_marks_its_row_live_and_a_successful_retry_clears_it(user: User):
    conversation_id = await conversation_from_webhook(user, sender="+15550001", name="Ann Lee")
    await conversation_from_webhook(user, sender="+15550002", name="Bob Stone")
    await sign_in(user)
    await user.open("/")  # the inbox stays open: every change below reaches it live
    await user.should_see("Ann Lee")
    auth = await login(user.http_client)
    await channels.update_channel(1, ChannelPatch(config={"failure_rate": 1.0}))
    sent = await user.http_client.post(
        f"/api/v1/conversations/{conversation_id}/messages", headers=auth, json={"content": "Will this arrive?"}
    )
    assert sent.status_code == 201, sent.text

    async def marked() -> list[dict]:
        return [(row["name"], row["failed"]) for row in shown_rows(user)] == [("Ann Lee", True), ("Bob Stone", False)]

    await eventually(marked, timeout=10)
    await user.should_see("Failed to send")
    conversation = (await user.http_client.get(f"/api/v1/conversations/{conversation_id}", headers=auth)).json()
    assert conversation["failed_replies"] == 1

    await channels.update_channel(1, ChannelPatch(config={"failure_rate": 0.0}))
    retried = await user.http_client.post(f"/api/v1/messages/{sent.json()['id']}/retry", headers=auth)
    assert retried.status_code == 200, retried.text

    async def delivered_and_cleared() -> bool:
        message = (
            await user.http_client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=auth)
        ).json()["items"][-1]
        return message["status"] in ("sent", "delivered", "read") and not any(r["failed"] for r in shown_rows(user))

    await eventually(delivered_and_cleared, timeout=10)
    await user.should_not_see("Failed to send")


async def test_search_results_show_the_matching_message_with_its_words_highlighted(user: User):
    await conversation_from_webhook(
        user, sender="+15550001", name="Ann Lee", message_id="a-1", text="Hello, my <b>Parcel number</b> 12 never came"
    )
    await conversation_from_webhook(user, sender="+15550001", message_id="a-2", text="Are you there?")
    await conversation_from_webhook(user, sender="+15550002", name="Bob Stone", text="Invoice question")
    await sign_in(user)
    await user.open("/")
    await user.should_see("Are you there?")
    set_value(user, "inbox-search", "parcel num")
    await user.should_not_see("Bob Stone", retries=20)

    [row] = shown_rows(user)
    assert row["match"] == [
        {"text": "Hello, my <b>", "hit": False},
        {"text": "Parcel number", "hit": True},
        {"text": "</b> 12 never came", "hit": False},
    ]  # not the latest preview; words as text
    await user.should_see("Hello, my <b>Parcel number</b> 12 never came")
    await user.should_not_see("Are you there?")
    auth = await login(user.http_client)
    listed = (await user.http_client.get("/api/v1/conversations", params={"q": "parcel num"}, headers=auth)).json()
    match = listed["items"][0]["search_match"]
    assert match["snippet"][slice(*match["highlights"][0])] == "Parcel number"
