"""Times are shown, and snoozes picked, on the agent's own clock (the zone their browser says), not the server's:
here the server runs in UTC and the agent's browser is in Auckland (UTC+12 or +13, so every hour differs)."""

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from nicegui.testing import User

from chathub.pages.components.agent_zone import ZONE_COOKIE
from chathub.pages.components.conversation_rows import ConversationRows
from chathub.pages.components.text_bubble import TextBubble
from chathub.services import conversations
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message
from tests.pages.test_conversation import open_thread
from tests.pages.test_inbox import conversation_from_webhook, set_value

AUCKLAND = ZoneInfo("Pacific/Auckland")
ROW_TITLE = "%d %b %Y %H:%M:%S"


@pytest.fixture
def server_in_utc() -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = before
    time.tzset()


def browser_in(user: User, zone: str) -> None:
    """What the page's script tells the server about this browser's zone."""
    user.http_client.cookies.set(ZONE_COOKIE, zone)


def bubble_times(user: User) -> dict[str, str]:
    bubbles = [e for e in user.client.layout.descendants() if isinstance(e, TextBubble)]
    return {bubble.data["segments"][0]["text"]: bubble.data["time"] for bubble in bubbles}


def first_row(user: User) -> dict:
    return next(iter(user.find(kind=ConversationRows).elements)).rows[0]


async def test_messages_and_the_list_show_times_on_the_agents_clock_also_as_they_come_in(server_in_utc, user: User):
    browser_in(user, "Pacific/Auckland")
    # 12:30 UTC on 14 Feb is 01:30 on Thursday 15 Feb in Auckland
    conversation_id = await open_thread(user, text="Written in the night", timestamp="2024-02-14T12:30:00Z")
    await user.should_see("Written in the night")
    await user.should_see("Thursday, 15 February 2024")
    assert bubble_times(user)["Written in the night"] == "01:30"
    conversation = await conversations.get_conversation(conversation_id)
    assert first_row(user)["time_title"] == conversation.last_message_at.astimezone(AUCKLAND).strftime(ROW_TITLE)
    received = conversation.last_message_at.astimezone(AUCKLAND).strftime("%d %b %Y %H:%M")
    await user.should_see(f"received {received}")

    sent = datetime.now(UTC)
    await post_webhook(
        user.http_client,
        seed_message("later", sender="+15550001", text="And one more thing", timestamp=sent.isoformat()),
    )
    await user.should_see("And one more thing", retries=50)
    assert bubble_times(user)["And one more thing"] == sent.astimezone(AUCKLAND).strftime("%H:%M")

    async def row_follows_on_the_agents_clock():
        conversation = await conversations.get_conversation(conversation_id)
        title = conversation.last_message_at.astimezone(AUCKLAND).strftime(ROW_TITLE)
        return first_row(user)["preview"] == "And one more thing" and first_row(user)["time_title"] == title

    await eventually(row_follows_on_the_agents_clock)


def tomorrow_at_nine_in_auckland() -> datetime:
    return (datetime.now(AUCKLAND) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


async def test_snoozing_until_tomorrow_morning_wakes_at_nine_on_the_agents_clock(server_in_utc, user: User):
    browser_in(user, "Pacific/Auckland")
    conversation_id = await open_thread(user)
    user.find(marker="snooze").click()
    user.find(marker="snooze-tomorrow").click()

    morning = tomorrow_at_nine_in_auckland()
    until = f"Snoozed until {morning.strftime('%a')} 09:00"
    await user.should_see(marker="snoozed-until", content=until, retries=30)
    assert (await conversations.get_conversation(conversation_id)).snoozed_until == morning.astimezone(UTC)
    set_value(user, "filter-status", "snoozed")

    async def row_says_until():
        return first_row(user)["snoozed"] == until

    await eventually(row_says_until)


async def test_a_picked_snooze_time_is_read_on_the_agents_clock(server_in_utc, user: User):
    browser_in(user, "Pacific/Auckland")
    conversation_id = await open_thread(user)
    user.find(marker="snooze").click()
    picked = (datetime.now(AUCKLAND) + timedelta(days=3)).replace(hour=14, minute=30, second=0, microsecond=0)
    set_value(user, "snooze-at", picked.strftime("%Y-%m-%dT%H:%M"))
    user.find(marker="snooze-custom").click()

    await user.should_see(marker="snoozed-until", content=f"Snoozed until {picked.strftime('%a')} 14:30", retries=30)
    assert (await conversations.get_conversation(conversation_id)).snoozed_until == picked.astimezone(UTC)


@pytest.mark.parametrize(
    "hostile",
    ["Mars/Olympus_Mons", "../../../etc/localtime", "Antarctica", "<img src=x onerror=alert(1)>", "A" * 300],
)
async def test_a_zone_the_server_does_not_know_means_the_servers_zone(server_in_utc, user: User, hostile: str):
    conversation_id = await conversation_from_webhook(
        user, sender="+15550001", text="Written in the night", timestamp="2024-02-14T12:30:00Z"
    )
    await sign_in(user)
    browser_in(user, hostile)
    await user.open(f"/conversations/{conversation_id}")
    await user.should_see("Wednesday, 14 February 2024")
    assert bubble_times(user)["Written in the night"] == "12:30"
    page = await user.http_client.get(f"/conversations/{conversation_id}")
    assert page.status_code == 200 and hostile not in page.text

    browser_in(user, "Pacific/Auckland")  # the same browser, telling a zone the server knows
    await user.open(f"/conversations/{conversation_id}")
    assert bubble_times(user)["Written in the night"] == "01:30"
