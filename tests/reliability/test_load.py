"""Load. The first test is bench/load.py (200 senders for 60 s with 20 tabs) scaled down to run in CI: the
real server process (`python main.py`) takes 50 concurrent webhook senders for 10 s while four agent tabs
are open in Debian's headless Chromium (two inboxes, two busy threads). Nothing is refused, every
acknowledged webhook is exactly one stored message (counted in the SQLite file after the queue drained),
and every tab is still connected on the page it opened, showing the latest message, with no more list rows
than it loaded. A missing browser fails the test.

The second pins down what the bench found: an open inbox drew a row for every new customer and kept it, so
under load each tab's memory and the cost of every update grew without end (and the tabs lost their
connection while the server drew them)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from nicegui import ElementFilter
from nicegui.testing import User

from chathub.pages.components.conversation_list import PAGE_SIZE
from chathub.pages.components.conversation_rows import ConversationRows
from chathub.pages.components.live_pace import BUSY_INTERVAL_SECONDS
from chathub.services import conversations
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message

BENCH = Path(__file__).parents[2] / "bench"
sys.path.insert(0, str(BENCH))  # the bench's modules import each other by name

import load  # noqa: E402  (bench/load.py)


def test_fifty_senders_for_ten_seconds_lose_nothing_and_keep_four_tabs_live():
    if not (shutil.which("/usr/bin/chromium") and shutil.which("/usr/bin/chromedriver")):
        pytest.fail(
            "the load test needs /usr/bin/chromium and /usr/bin/chromedriver "
            "(apt-get install chromium chromium-driver; .ci/run installs them)"
        )
    args = load.parse_args(
        [
            "--start-server",
            "--senders",
            "50",
            "--duration",
            "10",
            "--tabs",
            "4",
            "--customers",
            "500",
            "--settle",
            "1",
            "--tab-timeout",
            "20",
            "--timeout",
            "60",
        ]
    )

    result = load.run(args)

    print(load.report(result))  # shown with -s
    assert result.errors == {}, load.report(result)
    assert result.acknowledged > 0 and result.sent == result.acknowledged
    assert result.drained_after_load_s is not None and result.webhooks_failed == 0
    assert result.counted_through.startswith("SQLite file")
    assert (result.stored, result.lost, result.unexpected) == (result.acknowledged, 0, 0)
    assert [tab.path for tab in result.tabs].count("/") == 2 and len(result.tabs) == 4
    for tab in result.tabs:
        assert tab.connected and tab.same_page and tab.disconnects == 0, load.report(result)
        assert tab.shows_latest, load.report(result)
        assert tab.inbox_rows <= PAGE_SIZE, load.report(result)


def inbox_rows(user: User) -> list[str]:
    """The links the inbox list draws, top to bottom (the browser draws them from the rows' data)."""
    with user.client:
        [rows] = ElementFilter(kind=ConversationRows)
    return [f"/conversations/{row['id']}" for row in rows.rows]


async def test_an_open_inbox_keeps_one_page_of_rows_as_new_customers_write_and_loads_the_rest(user: User):
    await sign_in(user)
    await user.open("/")
    customers = PAGE_SIZE + 5

    for number in range(customers):
        response = await post_webhook(
            user.http_client,
            seed_message(message_id=f"w{number}", sender=f"+1555{number:04d}", name=f"Customer {number:02d}"),
        )
        assert response.status_code == 200

    async def all_processed():
        return len((await conversations.list_conversations(limit=100)).items) == customers

    await eventually(all_processed, timeout=30)
    # the last batch reaches an open list with its next paced redraw: up to BUSY_INTERVAL_SECONDS later
    await user.should_see(f"Customer {customers - 1}", retries=int(BUSY_INTERVAL_SECONDS * 10) + 10)
    assert len(inbox_rows(user)) == PAGE_SIZE
    await user.should_not_see("Customer 04")  # pushed out by newer ones: behind "Load more"
    user.find(marker="load-more-conversations").click()
    await user.should_see("Customer 00", retries=20)
    await user.should_see("Customer 04")
    assert len(inbox_rows(user)) == customers
