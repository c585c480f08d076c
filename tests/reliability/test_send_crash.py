"""A reply whose send a crash cut short, through the real server process (`python main.py`): it is killed with
SIGKILL while a fake Telegram Bot API on 127.0.0.1 holds the reply's request open, then started again on the
same data folder. The reply is sent again (at-least-once) and marked "possibly sent twice" in the API and in
the thread a real browser shows."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from bench.crash import EMAIL, PASSWORD, ChatHubProcess, sign_in, telegram_conversation
from tests.fakes.telegram import FakeTelegram
from tests.helpers.browser import new_browser, screenshot, text_on_page, wait_for
from tests.helpers.browser import sign_in as sign_in_browser
from tests.helpers.waiting import eventually

REPLY = "Your refund is on its way"
MARK = "May have been sent twice"


async def test_a_send_cut_short_by_a_crash_is_sent_again_and_marked_possibly_sent_twice(tmp_path: Path):
    with FakeTelegram() as provider:
        server = ChatHubProcess(tmp_path / "data")
        server.data_dir.mkdir(parents=True)
        server.start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                auth = await sign_in(http)
                conversation_id = await telegram_conversation(http, auth, provider)
                provider.hold("sendMessage")
                queued = await http.post(
                    f"/api/v1/conversations/{conversation_id}/messages", headers=auth, json={"content": REPLY}
                )
                assert queued.status_code == 201, queued.text
                assert queued.json()["possibly_sent_twice"] is False
                await eventually(lambda: _sends_received(provider, 1))  # at the provider, unanswered

            assert server.stop(signal.SIGKILL) == -9
            provider.release("sendMessage")
            server.start()

            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                auth = await sign_in(http)
                sent = await eventually(lambda: _sent_message(http, auth, conversation_id), timeout=30)
            assert [call.params["text"] for call in provider.calls_to("sendMessage")] == [REPLY, REPLY]
            assert sent["possibly_sent_twice"] is True
            assert sent["id"] == queued.json()["id"]
            assert_thread_shows_the_mark(server, conversation_id)
        finally:
            server.stop(signal.SIGTERM)


async def _sends_received(provider: FakeTelegram, count: int) -> bool:
    return len(provider.calls_to("sendMessage")) >= count


async def _sent_message(http: httpx.AsyncClient, auth: dict, conversation_id: int) -> dict | None:
    items = (await http.get(f"/api/v1/conversations/{conversation_id}/messages", headers=auth)).json()["items"]
    return next((m for m in items if m["direction"] == "outbound" and m["status"] == "sent"), None)


def assert_thread_shows_the_mark(server: ChatHubProcess, conversation_id: int) -> None:
    browser = new_browser()
    try:
        sign_in_browser(browser, server, EMAIL, PASSWORD)
        browser.get(f"{server.url}/conversations/{conversation_id}")
        wait_for(browser, text_on_page(REPLY))
        wait_for(browser, text_on_page(MARK))
    finally:
        screenshot(browser, "send-cut-short-by-a-crash")
        browser.quit()
