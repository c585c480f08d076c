"""Crash-safety bench: kill ChatHub part way through a flood of webhooks, start it again, count what survived.

    python bench/crash.py                                  # 2,000 webhooks, SIGKILL then SIGTERM
    python bench/crash.py -n 5000 -c 100 --scenarios kill --json crash.json

Each scenario starts `python main.py` on a free 127.0.0.1 port with a fresh data folder, queues agent
replies to a Telegram customer on a slow fake provider (so some are still pending), fires N simulator
webhooks with unique message ids from C concurrent senders, and stops the server with SIGKILL (crash) or
SIGTERM (graceful stop) once a share of them was acknowledged. Then it starts the server again on the same
data folder, re-sends what got no 2xx (as a provider retries), waits until /healthz shows both queues empty
and reads the SQLite file:

- every webhook acknowledged with a 2xx is exactly one message (lost = acknowledged but not stored,
  duplicated = more than one message for one provider message id);
- every accepted webhook log ends `processed`;
- every queued reply is one message, sent (one provider message id per message);
- what the provider received: the replies go to a Telegram channel whose Bot API is the test suite's fake
  (tests/fakes/telegram.py, run by this process on 127.0.0.1, answering each sendMessage after
  `--latency-ms`), so a reply that reached the provider twice is counted even though the database holds one
  message for it. A crash during a send makes that possible (delivery is at-least-once); every such
  duplicate must be a message the agent sees marked "possibly sent twice".

Prints a table (sent, acknowledged, stored, lost, duplicated, ...); `--json PATH` writes the figures.
Only talks to 127.0.0.1: the server it starts and its own fake provider.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python bench/crash.py`: the fake provider lives in tests/fakes
    sys.path.insert(0, str(ROOT))

from bench.health import answers_health  # noqa: E402
from tests.fakes.telegram import TOKEN, FakeTelegram  # noqa: E402

EMAIL, PASSWORD = "crash@example.com", "crash-password-1"
TELEGRAM_SECRET = "crash-bench-secret"
CUSTOMER_CHAT = 5550001
CONNECTIONS_PER_CLIENT = 10  # one httpx pool scans its connections on every request: several small ones cost less
SIGNALS = {"kill": signal.SIGKILL, "term": signal.SIGTERM}


@dataclass
class Figures:
    scenario: str
    sent: int
    concurrency: int
    acknowledged_before_stop: int = 0  # 2xx before the server went away
    acknowledged_after_restart: int = 0  # the rest, re-sent to the restarted server (a provider's retry)
    stored: int = 0  # distinct webhook message ids stored as messages
    lost: int = 0  # acknowledged, but no message
    duplicated: int = 0  # messages beyond the first for one message id
    logs_not_processed: dict[str, int] = field(default_factory=dict)  # accepted logs by final status
    logs_waiting_at_stop: int = 0  # accepted logs left `received`/`processing` when the process ended
    replies_queued: int = 0
    replies_pending_at_stop: int = 0
    replies_sent: int = 0
    replies_sent_twice: int = 0
    replies_unsent: int = 0
    provider_received: int = 0  # sendMessage requests the fake provider got for the replies
    provider_duplicates: int = 0  # requests beyond the first for one reply
    replies_not_received: int = 0  # replies the provider never got
    replies_flagged: int = 0  # messages marked "possibly sent twice"
    duplicates_unflagged: int = 0  # provider duplicates of messages not so marked
    exit_code: int | None = None
    stop_seconds: float = 0.0  # signal -> process gone
    restart_seconds: float = 0.0  # start -> /healthz answers
    drain_seconds: float | None = None  # restart -> both queues empty
    errors_before_stop: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and not self.logs_not_processed
            and self.stored == self.sent
            and self.replies_sent == self.replies_queued
            and self.replies_sent_twice == 0
            and self.replies_unsent == 0
            and self.replies_not_received == 0
            and self.duplicates_unflagged == 0
            and self.drain_seconds is not None
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChatHubProcess:
    """`python main.py` on 127.0.0.1 with a given data folder; can be killed and started again on it."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.starts = 0
        self.started_at = 0.0

    @property
    def database(self) -> Path:
        return self.data_dir / "chathub.db"

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait until /healthz answers; returns the seconds that took."""
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process on a free port without waiting for it (see `wait_ready`)."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATHUB_") and k != "PYTEST_CURRENT_TEST"}
        env.update(
            CHATHUB_DATA_DIR=str(self.data_dir),
            CHATHUB_HOST="127.0.0.1",
            CHATHUB_PORT=str(port),
            CHATHUB_ADMIN_EMAIL=EMAIL,
            CHATHUB_ADMIN_PASSWORD=PASSWORD,
            **self.extra_env,
        )
        self.starts += 1
        log = open(self.data_dir.parent / f"server-{self.starts}.log", "wb")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py")],
            cwd=self.data_dir.parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Wait until the launched process answers /healthz; returns the seconds since its launch."""
        assert self.process is not None
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}: {self.log_tail()}")
            if answers_health(self.url):
                return time.monotonic() - self.started_at
            if time.monotonic() - self.started_at > timeout:
                self.stop(signal.SIGKILL)
                raise RuntimeError(f"the server did not answer within {timeout:.0f} s: {self.log_tail()}")
            time.sleep(0.05)

    def send(self, sig: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)

    def wait(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.process is None:
            return None
        self.send(sig)
        return self.wait(timeout)

    def log_tail(self, chars: int = 3000) -> str:
        path = self.data_dir.parent / f"server-{self.starts}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def query(database: Path, sql: str, *params) -> list[tuple]:
    """Read the SQLite file directly (read-only; the server may be running: WAL lets both read)."""
    connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def webhook(run: str, i: int) -> bytes:
    return json.dumps(
        {
            "from": f"crash-{run}-{i // 10:05d}",
            "name": f"Crash {run} {i // 10}",
            "message": f"crash message {i}",
            "message_id": f"crash-{run}-{i}",
            "timestamp": "2024-02-14T10:00:00Z",
        }
    ).encode()


async def post_webhooks(url: str, bodies: dict[int, bytes], concurrency: int, on_ack=None) -> tuple[set[int], Counter]:
    """Post every body from `concurrency` senders; returns the indexes answered 2xx and errors by kind."""
    pending = list(bodies)
    acknowledged: set[int] = set()
    errors: Counter = Counter()
    headers = {"content-type": "application/json"}

    async def sender(http: httpx.AsyncClient) -> None:
        while pending:
            i = pending.pop()
            try:
                response = await http.post("/webhooks/simulator", content=bodies[i], headers=headers)
            except httpx.HTTPError as error:
                errors[type(error).__name__] += 1
                continue
            if 200 <= response.status_code < 300:
                acknowledged.add(i)
                if on_ack is not None:
                    on_ack(len(acknowledged))
            else:
                errors[str(response.status_code)] += 1

    sizes = [
        min(CONNECTIONS_PER_CLIENT, concurrency - start) for start in range(0, concurrency, CONNECTIONS_PER_CLIENT)
    ]
    clients = [
        httpx.AsyncClient(
            base_url=url,
            timeout=httpx.Timeout(30.0, connect=5.0),
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
        )
        for size in sizes
    ]
    try:
        await asyncio.gather(*(sender(http) for http, size in zip(clients, sizes) for _ in range(size)))
    finally:
        for http in clients:
            await http.aclose()
    return acknowledged, errors


async def sign_in(http: httpx.AsyncClient) -> dict[str, str]:
    response = await http.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def telegram_conversation(
    http: httpx.AsyncClient, auth: dict[str, str], provider: FakeTelegram, text: str = "please answer"
) -> int:
    """A Telegram channel on the fake Bot API, and a customer who wrote to it; returns the conversation id."""
    provider.script.queue("setWebhook", 200, {"ok": True, "result": True})  # this server's URL is http
    created = await http.post(
        "/api/v1/channels",
        headers=auth,
        json={
            "type": "telegram",
            "name": "Crash bench bot",
            "config": {"bot_token": TOKEN, "secret_token": TELEGRAM_SECRET, "api_base_url": provider.base_url},
        },
    )
    created.raise_for_status()
    channel_id = created.json()["id"]
    customer = {"id": CUSTOMER_CHAT, "is_bot": False, "first_name": "Crash"}
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "from": customer,
            "chat": {**customer, "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }
    (
        await http.post(
            f"/webhooks/telegram/{channel_id}",
            json=update,
            headers={"x-telegram-bot-api-secret-token": TELEGRAM_SECRET},
        )
    ).raise_for_status()
    for _ in range(600):
        items = (await http.get("/api/v1/conversations", params={"channel_id": channel_id}, headers=auth)).json()
        if items["items"]:
            return items["items"][0]["id"]
        await asyncio.sleep(0.05)
    raise RuntimeError("the customer's first message never became a conversation")


async def queue_replies(
    http: httpx.AsyncClient, auth: dict[str, str], run: str, count: int, provider: FakeTelegram
) -> dict[str, str]:
    """`count` replies queued to a Telegram customer. Returns their texts by idempotency key."""
    conversation_id = await telegram_conversation(http, auth, provider)
    replies = {f"crash-{run}-reply-{j}": f"reply {j} of {run}" for j in range(count)}
    for key, text in replies.items():
        response = await http.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            headers={**auth, "Idempotency-Key": key},
            json={"content": text},
        )
        response.raise_for_status()
    return replies


async def wait_drained(url: str, timeout: float) -> float | None:
    """Seconds until /healthz shows no webhook waiting and no reply pending; None on timeout."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        while time.monotonic() - started < timeout:
            health = (await http.get("/healthz")).json()
            if health["webhooks_waiting"] == 0 and health["outbound_pending"] == 0:
                return time.monotonic() - started
            await asyncio.sleep(0.1)
    return None


def count(
    figures: Figures, database: Path, run: str, acknowledged: set[int], replies: dict[str, str], provider: FakeTelegram
) -> None:
    per_id = dict(
        query(
            database,
            "SELECT external_id, COUNT(*) FROM message WHERE direction = 'inbound' "
            "AND external_id LIKE ? GROUP BY external_id",
            f"crash-{run}-%",
        )
    )
    per_id.pop(f"crash-{run}-replies-0", None)
    figures.stored = len(per_id)
    figures.lost = sum(1 for i in acknowledged if f"crash-{run}-{i}" not in per_id)
    figures.duplicated = sum(n - 1 for n in per_id.values())
    statuses = dict(query(database, "SELECT status, COUNT(*) FROM webhook_log WHERE http_status = 200 GROUP BY status"))
    figures.logs_not_processed = {status: n for status, n in statuses.items() if status != "processed"}
    rows = query(
        database,
        "SELECT client_id, status, external_id, possibly_sent_twice FROM message "
        "WHERE direction = 'outbound' AND client_id LIKE ?",
        f"crash-{run}-reply-%",
    )
    rows_per_key = Counter(key for key, *_ in rows)
    sent = [
        (key, external) for key, status, external, _ in rows if status in ("sent", "delivered", "read") and external
    ]
    figures.replies_sent = len({key for key, _ in sent})
    figures.replies_sent_twice = (
        sum(n - 1 for n in rows_per_key.values()) + len(sent) - len({external for _, external in sent})
    )
    figures.replies_unsent = len(set(replies) - {key for key, _ in sent})
    flagged = {key for key, *_, possibly_sent_twice in rows if possibly_sent_twice}
    count_deliveries(
        figures, [str(call.params.get("text")) for call in provider.calls_to("sendMessage")], replies, flagged
    )


def count_deliveries(figures: Figures, received: list[str], replies: dict[str, str], flagged: set[str]) -> None:
    """What the provider received for the replies (`replies`: text by idempotency key; `received`: the text
    of every send request it got; `flagged`: keys of the messages marked possibly sent twice)."""
    per_text = Counter(text for text in received if text in set(replies.values()))
    figures.provider_received = sum(per_text.values())
    figures.provider_duplicates = sum(n - 1 for n in per_text.values())
    figures.replies_not_received = sum(1 for text in replies.values() if not per_text[text])
    figures.replies_flagged = len(flagged & set(replies))
    figures.duplicates_unflagged = sum(
        per_text[text] - 1 for key, text in replies.items() if per_text[text] > 1 and key not in flagged
    )


async def scenario(
    kind: str,
    *,
    n: int,
    concurrency: int,
    replies: int,
    latency_ms: int,
    stop_after: float,
    workdir: Path,
    timeout: float = 300.0,
) -> Figures:
    """One run: start, queue replies, flood, stop with SIGKILL/SIGTERM part way, restart, retry, drain, count."""
    figures = Figures(scenario=f"SIG{kind.upper()}", sent=n, concurrency=concurrency)
    server = ChatHubProcess(workdir / "data")
    server.data_dir.mkdir(parents=True)
    run = uuid.uuid4().hex[:8]
    bodies = {i: webhook(run, i) for i in range(n)}
    provider = FakeTelegram().start()
    provider.latency["sendMessage"] = latency_ms / 1000  # keeps replies pending, and some in flight at the stop
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            auth = await sign_in(http)
            reply_texts = await queue_replies(http, auth, run, replies, provider)
        figures.replies_queued = len(reply_texts)
        stop_at = max(1, int(n * stop_after))
        exited: list[asyncio.Future] = []

        def timed_wait(signalled: float) -> tuple[int, float]:
            return server.wait(60.0), time.monotonic() - signalled

        def stop_part_way(acknowledged: int) -> None:
            if acknowledged >= stop_at and not exited:
                server.send(SIGNALS[kind])
                exited.append(asyncio.get_running_loop().run_in_executor(None, timed_wait, time.monotonic()))

        acknowledged, errors = await post_webhooks(server.url, bodies, concurrency, stop_part_way)
        if not exited:  # every webhook was acknowledged before the threshold: stop now
            stop_part_way(stop_at)
        figures.exit_code, stop_seconds = await exited[0]
        figures.stop_seconds = round(stop_seconds, 2)
        figures.acknowledged_before_stop, figures.errors_before_stop = len(acknowledged), dict(errors)
        figures.logs_waiting_at_stop = query(
            server.database, "SELECT COUNT(*) FROM webhook_log WHERE status IN ('received', 'processing')"
        )[0][0]
        figures.replies_pending_at_stop = query(
            server.database,
            "SELECT COUNT(*) FROM message WHERE status = 'pending' AND client_id LIKE ?",
            f"crash-{run}-reply-%",
        )[0][0]

        figures.restart_seconds = round(server.start(), 2)
        restarted = time.monotonic()
        retried, _ = await post_webhooks(
            server.url, {i: bodies[i] for i in bodies if i not in acknowledged}, concurrency
        )
        figures.acknowledged_after_restart = len(retried)
        drained = await wait_drained(server.url, timeout)
        figures.drain_seconds = round(time.monotonic() - restarted, 2) if drained is not None else None
        count(figures, server.database, run, acknowledged | retried, reply_texts, provider)
        figures.lost += n - len(acknowledged | retried)  # never acknowledged at all, even when re-sent
    finally:
        server.stop(signal.SIGTERM)
        provider.stop()
    return figures


COLUMNS = [
    ("scenario", "scenario"),
    ("sent", "sent"),
    ("acked", "acknowledged"),
    ("stored", "stored"),
    ("lost", "lost"),
    ("duplicated", "duplicated"),
    ("logs left", "logs_waiting_at_stop"),
    ("not processed", "logs_not_processed"),
    ("replies", "replies_queued"),
    ("pending at stop", "replies_pending_at_stop"),
    ("replies sent", "replies_sent"),
    ("sent twice", "replies_sent_twice"),
    ("provider got", "provider_received"),
    ("provider dups", "provider_duplicates"),
    ("flagged", "replies_flagged"),
    ("unflagged dups", "duplicates_unflagged"),
    ("exit", "exit_code"),
    ("stop s", "stop_seconds"),
    ("drain s", "drain_seconds"),
]


def table(results: list[Figures]) -> str:
    rows = []
    for figures in results:
        values = asdict(figures)
        values["acknowledged"] = f"{figures.acknowledged_before_stop}+{figures.acknowledged_after_restart}"
        values["logs_not_processed"] = sum(figures.logs_not_processed.values())
        rows.append([str(values[key]) for _, key in COLUMNS])
    headers = [title for title, _ in COLUMNS]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in rows]
    lines.append(
        "acked = 2xx before the stop + 2xx when re-sent after the restart; lost = acked but not stored;"
        " logs left = accepted webhooks still queued when the process ended (processed after restart);"
        " sent twice = in the database; provider dups = replies the provider got more than once,"
        " flagged = marked possibly sent twice for the agent (a send cut short by the stop)"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="webhooks per scenario (default 2000)")
    parser.add_argument("-c", type=int, default=50, help="concurrent senders (default 50)")
    parser.add_argument("--replies", type=int, default=40, help="agent replies queued before the flood")
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=1500,
        help="the fake provider's answer time for a send (keeps replies pending; default 1500)",
    )
    parser.add_argument(
        "--stop-after", type=float, default=0.5, help="stop once this share of webhooks was acknowledged (default 0.5)"
    )
    parser.add_argument("--scenarios", default="kill,term", help="kill (SIGKILL), term (SIGTERM) or both")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary data folders and logs")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if not args.scenarios or set(args.scenarios) - set(SIGNALS):
        parser.error("--scenarios takes kill, term or kill,term")
    if args.n < 1 or args.c < 1 or args.replies < 0 or not 0 < args.stop_after < 1:
        parser.error("-n and -c must be at least 1, --replies at least 0, --stop-after between 0 and 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    results = []
    for kind in args.scenarios:
        workdir = Path(tempfile.mkdtemp(prefix=f"chathub-crash-{kind}-"))
        try:
            results.append(
                asyncio.run(
                    scenario(
                        kind,
                        n=args.n,
                        concurrency=args.c,
                        replies=args.replies,
                        latency_ms=args.latency_ms,
                        stop_after=args.stop_after,
                        workdir=workdir,
                    )
                )
            )
        finally:
            if args.keep_data:
                print(f"{kind}: data and server logs kept in {workdir}", file=sys.stderr)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) | {"ok": r.ok} for r in results], indent=2))
    if not all(r.ok for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
