"""Timed jobs run on every instance; each row they act on is acted on once. Snoozed conversations whose time
came, on two instances checking every 0.1 s: each reopens once, with one event (the instance that wakes a
conversation announces it on its bus and logs one "snooze ended" line for it; an agent would see a second wake
as a second update of the conversation, and an operator as a second line)."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.crash import post_webhooks, sign_in
from tests.helpers.instances import running_instances
from tests.helpers.waiting import eventually

CONVERSATIONS = 300  # more than one batch of the job (200): a wake takes long enough for the other to overlap
WOKE = re.compile(r"Conversation (\d+) woke: its snooze ended\.")


async def test_a_snoozed_conversation_wakes_once_with_one_event_across_two_instances(
    tmp_path: Path, empty_postgres: str
):
    env = {"CHATHUB_SNOOZE_CHECK_SECONDS": "0.1"}
    with running_instances(tmp_path, empty_postgres, 2, env) as instances:
        a, b = instances
        bodies = {i: _customer_message(i) for i in range(CONVERSATIONS)}
        acknowledged, _ = await post_webhooks(a.url, bodies, concurrency=10)
        assert len(acknowledged) == CONVERSATIONS
        async with httpx.AsyncClient(base_url=b.url, timeout=30) as http:
            auth = await sign_in(http)
            ids = await eventually(lambda: _conversation_ids(http, auth), timeout=60, interval=0.2)
            until = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
            for chunk in range(0, len(ids), 20):
                responses = await asyncio.gather(
                    *(
                        http.patch(
                            f"/api/v1/conversations/{conversation_id}",
                            headers=auth,
                            json={"status": "snoozed", "snoozed_until": until},
                        )
                        for conversation_id in ids[chunk : chunk + 20]
                    )
                )
                assert all(response.status_code == 200 for response in responses), responses[0].text
            await eventually(lambda: _all_open(http, auth), timeout=60, interval=0.5)
        logs = a.log_tail(10**8) + b.log_tail(10**8)

    wakes = Counter(int(found) for found in WOKE.findall(logs))
    assert set(wakes) == set(ids)
    assert [conversation_id for conversation_id, count in wakes.items() if count > 1] == []


def _customer_message(i: int) -> bytes:
    return json.dumps(
        {"from": f"snoozer-{i}", "name": f"Snoozer {i}", "message": "call me later", "message_id": f"snooze-{i}"}
    ).encode()


async def _conversation_ids(http: httpx.AsyncClient, auth: dict) -> list[int] | None:
    ids, cursor = [], None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/api/v1/conversations", params=params, headers=auth)).json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return ids if len(ids) == CONVERSATIONS else None


async def _all_open(http: httpx.AsyncClient, auth: dict) -> bool:
    page = (await http.get("/api/v1/conversations", params={"status": "snoozed", "limit": 1}, headers=auth)).json()
    return not page["items"]
