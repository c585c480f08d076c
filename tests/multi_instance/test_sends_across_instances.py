"""Replies sent by two instances on one PostgreSQL database, through a fake Telegram Bot API on 127.0.0.1, with
one instance killed (SIGKILL) in the middle. Each instance claims a reply by a lease before calling the
provider: a reply reaches the provider once, except those the killed instance was sending when it died, which
the other instance sends again once their lease ran out, each marked "possibly sent twice"."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx

from bench.crash import Figures, count_deliveries, sign_in, telegram_conversation
from tests.fakes.telegram import FakeTelegram
from tests.helpers import postgres
from tests.helpers.instances import running_instances
from tests.helpers.waiting import eventually

REPLIES = 200
CONCURRENCY = 4  # sends each instance has under way: at most this many can be cut short by the kill
LEASE_SECONDS = 8
ENV = {
    "CHATHUB_WORK_LEASE_SECONDS": str(LEASE_SECONDS),
    "CHATHUB_WORK_POLL_SECONDS": "0.5",
    "CHATHUB_OUTBOUND_CONCURRENCY": str(CONCURRENCY),
}


async def test_each_reply_reaches_the_provider_once_except_those_cut_short_by_a_killed_instance(
    tmp_path: Path, empty_postgres: str
):
    with FakeTelegram() as provider, running_instances(tmp_path, empty_postgres, 2, ENV) as instances:
        provider.latency["sendMessage"] = 0.5  # keeps sends under way on both instances
        a, b = instances
        async with httpx.AsyncClient(base_url=a.url, timeout=30) as on_a:
            auth = await sign_in(on_a)
            conversation_id = await telegram_conversation(on_a, auth, provider)
        replies = {f"reply-{j}": f"reply {j} of {REPLIES}" for j in range(REPLIES)}
        async with httpx.AsyncClient(timeout=30) as http:
            for j, (key, text) in enumerate(replies.items()):
                if j == REPLIES // 2:  # A dies in the middle of its sends
                    await eventually(lambda: _sends_received(provider, REPLIES // 4), timeout=60)
                    assert a.stop(signal.SIGKILL) == -9
                server = a if j % 2 and j < REPLIES // 2 else b
                response = await http.post(
                    f"{server.url}/api/v1/conversations/{conversation_id}/messages",
                    headers={**auth, "Idempotency-Key": key},
                    json={"content": text},
                )
                assert response.status_code == 201, response.text
        await eventually(lambda: _all_sent(empty_postgres), timeout=120, interval=0.5)

    figures = Figures(scenario="SIGKILL of one instance", sent=0, concurrency=CONCURRENCY)
    rows = _outbound_rows(empty_postgres)
    flagged = {key for key, _, possibly_sent_twice in rows if possibly_sent_twice}
    received = [str(call.params.get("text")) for call in provider.calls_to("sendMessage")]
    count_deliveries(figures, received, replies, flagged)
    print(f"provider got {figures.provider_received} sends for {REPLIES} replies; lease expired: {len(flagged)}")
    assert figures.replies_not_received == 0
    assert figures.duplicates_unflagged == 0  # a reply got twice is one whose lease expired, and is marked
    assert figures.provider_duplicates <= figures.replies_flagged <= CONCURRENCY


async def _sends_received(provider: FakeTelegram, count: int) -> bool:
    return len(provider.calls_to("sendMessage")) >= count


def _outbound_rows(database_url: str) -> list[tuple[str, str, bool]]:
    with postgres.connect(database_url) as connection:
        return connection.execute(
            "SELECT client_id, status, possibly_sent_twice FROM message WHERE direction = 'outbound'"
        ).fetchall()


async def _all_sent(database_url: str) -> bool:
    rows = await asyncio.to_thread(_outbound_rows, database_url)
    return len(rows) == REPLIES and all(status in ("sent", "delivered", "read") for _, status, _ in rows)
