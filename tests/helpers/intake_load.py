"""Issue 20's intake scenario: webhooks from many senders posted to several ChatHub instances at once, then what
the shared PostgreSQL database holds afterwards. Used by tests/multi_instance/test_intake.py and bench/instances.py."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

import httpx

from bench.common import percentile
from bench.crash import sign_in
from tests.helpers import postgres

CONCURRENCY = 20  # requests in flight, split over the instances


@dataclass
class IntakeFigures:
    webhooks: int
    acknowledged: int = 0
    errors: Counter = field(default_factory=Counter)
    ack_p50_seconds: float = 0.0
    ack_p99_seconds: float = 0.0
    acks_per_second: float = 0.0
    drain_seconds: float | None = None
    logs_not_processed: int = 0
    logs_attempted_again: int = 0  # logs whose `attempts` ended above 1
    messages_missing: int = 0
    messages_repeated: int = 0
    customers: int = 0
    identities: int = 0
    conversations: int = 0
    conversations_with_wrong_unread: int = 0  # unread_count differs from the messages stored there
    unread_total_in_api: int = 0
    deadlocks: int = 0  # PostgreSQL's count for the database, from the first post until all is processed

    def as_record(self) -> dict:
        return {**asdict(self), "errors": dict(self.errors)}


def simulator_webhook(run: str, i: int, senders: int, *, in_a_row: int = 0) -> bytes:
    """Webhook `i` from one of `senders` senders, who write in rotation; or, with `in_a_row`, each that many in a
    row, so new senders keep arriving, as customers do."""
    sender = i // in_a_row if in_a_row else i % senders
    return json.dumps(
        {
            "from": f"load-{run}-{sender:03d}",
            "name": f"Load sender {sender}",
            "message": f"load message {i}",
            "message_id": f"load-{run}-{i}",
        }
    ).encode()


async def run_intake(
    urls: list[str],
    database_url: str,
    run: str,
    *,
    webhooks: int = 2000,
    senders: int = 50,
    in_a_row: int = 0,
    drain_timeout: float = 180,
) -> IntakeFigures:
    """Post `webhooks` simulator webhooks from `senders` senders (see `simulator_webhook`), each sender's spread over
    every instance, wait until every log is processed, and count what the database and the API hold."""
    figures = IntakeFigures(webhooks=webhooks)
    bodies = {i: simulator_webhook(run, i, senders, in_a_row=in_a_row) for i in range(webhooks)}
    deadlocks_before = _deadlocks(database_url)
    latencies: list[float] = []
    started = time.monotonic()
    await asyncio.gather(
        *(
            _post_all(url, [bodies[i] for i in bodies if i % len(urls) == n], latencies, figures.errors, len(urls))
            for n, url in enumerate(urls)
        )
    )
    figures.acknowledged = len(latencies)
    figures.acks_per_second = round(len(latencies) / (time.monotonic() - started), 1)
    figures.ack_p50_seconds = round(percentile(latencies, 50), 4)
    figures.ack_p99_seconds = round(percentile(latencies, 99), 4)
    figures.drain_seconds = await _wait_drained(database_url, drain_timeout)
    figures.deadlocks = _deadlocks(database_url) - deadlocks_before
    _count_rows(figures, database_url, run)
    figures.unread_total_in_api = await _unread_total(urls[0])
    return figures


async def _post_all(url: str, bodies: list[bytes], latencies: list[float], errors: Counter, instances: int) -> None:
    pending = list(reversed(bodies))
    headers = {"content-type": "application/json"}
    concurrency = CONCURRENCY // instances
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30.0, connect=5.0), limits=limits) as http:

        async def sender() -> None:
            while pending:
                body = pending.pop()
                started = time.monotonic()
                try:
                    response = await http.post("/webhooks/simulator", content=body, headers=headers)
                except httpx.HTTPError as error:
                    errors[type(error).__name__] += 1
                    continue
                if response.status_code == 200:
                    latencies.append(time.monotonic() - started)
                else:
                    errors[str(response.status_code)] += 1

        await asyncio.gather(*(sender() for _ in range(concurrency)))


async def _wait_drained(database_url: str, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if _one(database_url, "SELECT count(*) FROM webhook_log WHERE status IN ('received', 'processing')") == 0:
            return round(time.monotonic() - started, 2)
        await asyncio.sleep(0.1)
    return None


def _count_rows(figures: IntakeFigures, database_url: str, run: str) -> None:
    like = f"load-{run}-%"
    figures.logs_not_processed = _one(database_url, "SELECT count(*) FROM webhook_log WHERE status <> 'processed'")
    figures.logs_attempted_again = _one(database_url, "SELECT count(*) FROM webhook_log WHERE attempts > 1")
    stored = _one(database_url, "SELECT count(DISTINCT external_id) FROM message WHERE external_id LIKE %s", like)
    rows = _one(database_url, "SELECT count(*) FROM message WHERE external_id LIKE %s", like)
    figures.messages_missing = figures.webhooks - stored
    figures.messages_repeated = rows - stored
    figures.customers = _one(database_url, "SELECT count(*) FROM customer WHERE name LIKE 'Load sender %%'")
    figures.identities = _one(database_url, "SELECT count(*) FROM customer_identity WHERE external_id LIKE %s", like)
    figures.conversations = _one(
        database_url,
        "SELECT count(*) FROM conversation c JOIN customer_identity i ON i.id = c.identity_id "
        "WHERE i.external_id LIKE %s",
        like,
    )
    figures.conversations_with_wrong_unread = _one(
        database_url,
        "SELECT count(*) FROM conversation c WHERE c.unread_count <> "
        "(SELECT count(*) FROM message m WHERE m.conversation_id = c.id AND m.direction = 'inbound')",
    )


def _deadlocks(database_url: str) -> int:
    return _one(database_url, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")


def _one(database_url: str, sql: str, *params) -> int:
    with postgres.connect(database_url) as connection:
        return connection.execute(sql, params).fetchone()[0]


async def _unread_total(url: str) -> int:
    """The unread messages the REST API shows, summed over every conversation it lists."""
    total, cursor = 0, None
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        auth = await sign_in(http)
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = (await http.get("/api/v1/conversations", headers=auth, params=params)).raise_for_status().json()
            total += sum(item["unread_count"] for item in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return total
