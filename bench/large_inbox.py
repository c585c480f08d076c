"""Large inbox benchmark: 100k customers, 100k conversations, 1M messages; the inbox's queries timed.

    python bench/large_inbox.py --start-server                       # fill a temp DB, measure, print a table
    python bench/large_inbox.py --start-server --json large.json     # ... and write the figures
    python bench/large_inbox.py --data-dir /tmp/big --keep-data      # fill once (or reuse) and keep the folder
    python bench/large_inbox.py --data-dir /tmp/big --explain        # + EXPLAIN QUERY PLAN of every statement

1. Fill (bench/inbox_data.py): a fresh database through ChatHub's own Alembic schema, bulk inserts. A folder
   that already holds a database is reused, after upgrading it to the newest schema (that upgrade is timed:
   pointing at a fill made with an older ChatHub measures the migration on 1M messages).
2. Server time: the service functions the inbox page and the REST API call, in this process, on that
   database (medians of --runs after one warm-up): inbox first page, the next page, filters (unread, one
   channel), opening a thread with 10k messages, searching message text and names.
3. With --start-server: `python main.py` on that folder (127.0.0.1, free port), the same lists through the
   REST API over HTTP (round trip, so an upper bound of server time), and the server's RSS afterwards.
Only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from common import BENCH_EMAIL, BENCH_PASSWORD, own_server  # noqa: E402
from inbox_data import fill  # noqa: E402

TARGET_LIST_MS, TARGET_THREAD_MS, TARGET_SEARCH_MS = 100, 150, 200


@dataclass
class Case:
    name: str
    target_ms: float | None
    service_ms: float | None = None
    service_cpu_ms: float | None = None  # this process's CPU time (all threads): steadier on a busy machine
    service_max_ms: float | None = None
    rest_ms: float | None = None
    rows: int | None = None
    note: str = ""


@dataclass
class Result:
    data_dir: str
    fill_seconds: float | None
    upgrade_seconds: float
    counts: dict[str, int]
    database_mib: float
    runs: int
    cases: list[Case] = field(default_factory=list)
    server_rss_mib_started: float | None = None
    server_rss_mib_after_rest: float | None = None


@dataclass
class Context:
    """What the cases need to know about the filled database."""

    channel_id: int
    big_thread: int
    big_customer: int
    agent_id: int
    rare_word: str
    common_word: str
    unique_token: str
    phrase: str
    name: str
    phone_part: str


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> tuple[list[float], list[float], Any]:
    """Wall-clock and CPU seconds of each run (after one warm-up run), and the last result."""
    result = await fn()  # warm-up: the first run pays for cold pages and compiled statements
    wall, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = await fn()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return wall, cpu, result


def discover(database: Path) -> Context:
    """Pick the bench's subjects from the data itself (any fill, any seed)."""
    con = sqlite3.connect(database)
    one = lambda sql, *args: con.execute(sql, args).fetchone()  # noqa: E731
    channel_id = one("SELECT id FROM channel ORDER BY id DESC LIMIT 1")[0]
    big_thread = one("SELECT conversation_id FROM message GROUP BY conversation_id ORDER BY count(*) DESC LIMIT 1")[0]
    big_customer = one("SELECT customer_id FROM conversation WHERE id = ?", big_thread)[0]
    agent_id = one("SELECT id FROM agent ORDER BY id DESC LIMIT 1")[0]
    middle = one(
        "SELECT content FROM message WHERE id >= (SELECT max(id) / 2 FROM message) AND content GLOB "
        "'*[0-9][0-9][0-9][0-9][0-9][0-9]*' LIMIT 1"
    )
    unique_token = re.search(r"[A-Z]*\d{6,}", middle[0]).group(0) if middle else "zx81"
    name = one("SELECT name FROM customer WHERE id = (SELECT max(id) / 3 FROM customer)")[0].split()[-1]
    phone = one(
        "SELECT phone FROM customer WHERE phone IS NOT NULL AND id > (SELECT max(id) / 2 FROM customer) LIMIT 1"
    )
    con.close()
    return Context(
        channel_id=channel_id,
        big_thread=big_thread,
        big_customer=big_customer,
        agent_id=agent_id,
        rare_word="kayak",
        common_word="order",
        unique_token=unique_token,
        phrase="wrong door",
        name=name,
        phone_part=phone[0][3:9] if phone else "555",
    )


def service_cases(ctx: Context) -> list[tuple[str, float | None, Callable[[], Awaitable[Any]], str]]:
    from chathub.models import ConversationStatus
    from chathub.services import channels, conversations, customers, outbound

    open_ = ConversationStatus.open
    page1: dict[str, Any] = {}

    async def first_page():
        page = await conversations.list_conversations(status=open_, limit=30)
        page1["cursor"] = page.next_cursor
        return page

    async def open_thread():
        """What opening a thread runs before it draws: the conversation, its customer panel (customer,
        channels, their other conversations) and the latest 40 messages."""
        conversation = await conversations.get_conversation(ctx.big_thread)
        await customers.get_customer(conversation.customer.id)
        await channels.list_channels()
        await conversations.list_conversations(customer_id=conversation.customer.id, limit=10)
        return await outbound.list_messages(conversation_id=ctx.big_thread, limit=40)

    def search(q: str):
        return lambda: conversations.list_conversations(q=q, limit=30)

    return [
        ("inbox first page (open, 30 rows)", TARGET_LIST_MS, first_page, ""),
        (
            "inbox next page (keyset cursor)",
            TARGET_LIST_MS,
            lambda: conversations.list_conversations(status=open_, limit=30, cursor=page1.get("cursor")),
            "",
        ),
        ("inbox, all statuses", TARGET_LIST_MS, lambda: conversations.list_conversations(limit=30), ""),
        (
            "filter: unread (open)",
            TARGET_LIST_MS,
            lambda: conversations.list_conversations(status=open_, unread=True, limit=30),
            "",
        ),
        (
            "filter: one channel (open)",
            TARGET_LIST_MS,
            lambda: conversations.list_conversations(status=open_, channel_id=ctx.channel_id, limit=30),
            "",
        ),
        (
            "filter: unread + one channel",
            TARGET_LIST_MS,
            lambda: conversations.list_conversations(status=open_, unread=True, channel_id=ctx.channel_id, limit=30),
            "",
        ),
        (
            "filter: assigned to an agent",
            TARGET_LIST_MS,
            lambda: conversations.list_conversations(status=open_, assignee_id=ctx.agent_id, limit=30),
            "",
        ),
        ("filter: unread total (nav badge)", TARGET_LIST_MS, conversations.unread_conversation_count, ""),
        ("open 10k-message thread (all queries)", TARGET_THREAD_MS, open_thread, ""),
        (
            "thread: latest 40 messages only",
            TARGET_THREAD_MS,
            lambda: outbound.list_messages(conversation_id=ctx.big_thread, limit=40),
            "",
        ),
        (
            "thread: older page (cursor)",
            TARGET_THREAD_MS,
            lambda: outbound.list_messages(conversation_id=ctx.big_thread, limit=40, before=ctx_before(ctx)),
            "",
        ),
        (f"search rare word '{ctx.rare_word}'", TARGET_SEARCH_MS, search(ctx.rare_word), ""),
        (f"search common word '{ctx.common_word}'", TARGET_SEARCH_MS, search(ctx.common_word), ""),
        (f"search one token '{ctx.unique_token}'", TARGET_SEARCH_MS, search(ctx.unique_token), ""),
        (f"search phrase '{ctx.phrase}'", TARGET_SEARCH_MS, search(ctx.phrase), ""),
        (f"search name '{ctx.name}'", TARGET_SEARCH_MS, search(ctx.name), ""),
        (f"search phone digits '{ctx.phone_part}'", TARGET_SEARCH_MS, search(ctx.phone_part), ""),
        ("search hostile '\"* NEAR( OR'", TARGET_SEARCH_MS, search('"* NEAR( OR'), ""),
    ]


def ctx_before(ctx: Context) -> int:
    return ctx.__dict__.setdefault("_before", 10**12)


async def measure_services(database_url: str, ctx: Context, runs: int, explain: bool) -> list[Case]:
    from sqlalchemy import event

    from chathub import db

    async with db.database_only(database_url) as engine:
        statements: list[str] = []
        event.listen(
            engine.sync_engine,
            "before_cursor_execute",
            lambda conn, cursor, statement, parameters, context, many: statements.append((statement, parameters)),
        )
        cases = []
        async with db.read_session() as session:  # the older-page case starts 5,000 messages back
            from sqlalchemy import text

            ctx.__dict__["_before"] = (
                await session.exec(
                    text(
                        "SELECT id FROM message WHERE conversation_id = :c ORDER BY id DESC LIMIT 1 OFFSET 5000"
                    ).bindparams(c=ctx.big_thread)
                )
            ).scalar() or 10**12
        for name, target, fn, note in service_cases(ctx):
            statements.clear()
            samples, cpu, result = await timed(fn, runs)
            rows = len(result.items) if hasattr(result, "items") else None
            case = Case(
                name=name,
                target_ms=target,
                service_ms=median_ms(samples),
                service_cpu_ms=median_ms(cpu),
                service_max_ms=round(max(samples) * 1000, 2),
                rows=rows,
                note=note,
            )
            cases.append(case)
            print(
                f"  {name:<44} {case.service_ms:8.2f} ms, CPU {case.service_cpu_ms:8.2f} ms  (rows {rows})",
                file=sys.stderr,
                flush=True,
            )
            if explain:
                await _explain(db, statements[: len(statements) // (runs + 1) or 1])
    return cases


async def _explain(db, statements: list) -> None:
    from sqlalchemy import text

    async with db.read_session() as session:
        connection = await session.connection()
        for statement, parameters in statements:
            raw = await connection.get_raw_connection()
            cursor = await raw.driver_connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = await cursor.fetchall()
            print("    SQL: " + " ".join(statement.split())[:400], file=sys.stderr)
            for row in plan:
                print(f"      {'  ' * _depth(plan, row)}{row[3]}", file=sys.stderr)
    del text


def _depth(plan: list, row) -> int:
    parents = {r[0]: r[1] for r in plan}
    depth, parent = 0, row[1]
    while parent:
        depth, parent = depth + 1, parents.get(parent, 0)
    return depth


async def measure_rest(url: str, ctx: Context, runs: int, cases: list[Case]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        login = await http.post("/api/v1/auth/login", json={"email": BENCH_EMAIL, "password": BENCH_PASSWORD})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        first = (
            await http.get("/api/v1/conversations", params={"status": "open", "limit": 30}, headers=headers)
        ).json()
        rest = {
            "inbox first page (open, 30 rows)": ("/api/v1/conversations", {"status": "open", "limit": 30}),
            "inbox next page (keyset cursor)": (
                "/api/v1/conversations",
                {"status": "open", "limit": 30, "cursor": first["next_cursor"]},
            ),
            "inbox, all statuses": ("/api/v1/conversations", {"limit": 30}),
            "filter: unread (open)": ("/api/v1/conversations", {"status": "open", "unread": "true", "limit": 30}),
            "filter: one channel (open)": (
                "/api/v1/conversations",
                {"status": "open", "channel_id": ctx.channel_id, "limit": 30},
            ),
            "filter: unread + one channel": (
                "/api/v1/conversations",
                {"status": "open", "unread": "true", "channel_id": ctx.channel_id, "limit": 30},
            ),
            "filter: assigned to an agent": (
                "/api/v1/conversations",
                {"status": "open", "assignee_id": ctx.agent_id, "limit": 30},
            ),
            "thread: latest 40 messages only": (f"/api/v1/conversations/{ctx.big_thread}/messages", {"limit": 40}),
            "thread: older page (cursor)": (
                f"/api/v1/conversations/{ctx.big_thread}/messages",
                {"limit": 40, "before": ctx_before(ctx)},
            ),
        }
        for case in cases:
            if case.name.startswith("search "):
                query = re.search(r"'(.*)'", case.name).group(1)
                rest[case.name] = ("/api/v1/conversations", {"q": query, "limit": 30})
        for case in cases:
            if case.name not in rest:
                continue
            path, params = rest[case.name]

            async def call():
                response = await http.get(path, params=params, headers=headers)
                response.raise_for_status()
                return response

            samples, _, _ = await timed(call, runs)
            case.rest_ms = median_ms(samples)
            print(f"  REST {case.name:<39} {case.rest_ms:8.2f} ms", file=sys.stderr, flush=True)


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def report(result: Result) -> str:
    c = result.counts
    lines = [
        f"database: {c['customers']:,} customers, {c['conversations']:,} conversations, "
        f"{c['messages']:,} messages, {result.database_mib:.0f} MiB"
        + (f"; filled in {result.fill_seconds:.1f} s" if result.fill_seconds is not None else "; reused")
        + f"; schema upgrade {result.upgrade_seconds:.1f} s",
        f"medians of {result.runs} runs after one warm-up; service = server time in-process (wall clock; "
        "CPU: this process's CPU time, steadier on a busy machine); REST = HTTP round trip on 127.0.0.1; "
        "met: both under the target",
        "",
        f"{'case':<46} {'service ms':>10} {'(CPU ms)':>9} {'REST ms':>9} {'target':>7} {'rows':>5}  met",
        "-" * 96,
    ]
    for case in result.cases:
        worst = max(v for v in (case.service_ms, case.rest_ms) if v is not None)
        met = "" if case.target_ms is None else ("yes" if worst < case.target_ms else "NO")
        rest = f"{case.rest_ms:9.2f}" if case.rest_ms is not None else f"{'-':>9}"
        target = f"{case.target_ms:7.0f}" if case.target_ms else f"{'':>7}"
        rows = case.rows if case.rows is not None else ""
        lines.append(
            f"{case.name:<46} {case.service_ms:10.2f} {case.service_cpu_ms:9.2f} {rest} {target} {rows:>5}  {met}"
        )
    if result.server_rss_mib_after_rest is not None:
        lines += [
            "",
            f"server RSS: {result.server_rss_mib_started} MiB after start on this database, "
            f"{result.server_rss_mib_after_rest} MiB after the REST runs",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="fill this folder (or reuse the database in it); default: a temporary folder, removed afterwards",
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary folder")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--big-threads", type=int, default=5)
    parser.add_argument("--big-size", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9, help="timed runs per case (median reported)")
    parser.add_argument("--start-server", action="store_true", help="also measure the REST API on a server of its own")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN QUERY PLAN of every statement")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    temporary = args.data_dir is None
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="chathub-large-")) / "data"
    database = data_dir / "chathub.db"
    try:
        fill_seconds = None
        if not database.exists():
            print(f"filling {data_dir} ...", file=sys.stderr)
            fill_seconds = fill(
                data_dir,
                customers=args.customers,
                messages=args.messages,
                big_threads=args.big_threads,
                big_size=args.big_size,
            ).seconds
        from chathub import db

        url = f"sqlite+aiosqlite:///{database}"
        started = time.perf_counter()
        db.upgrade_schema(url)
        upgrade_seconds = time.perf_counter() - started
        con = sqlite3.connect(database)
        counts = {
            f"{table}s": con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("customer", "conversation", "message")
        }
        con.close()
        size = sum(p.stat().st_size for p in data_dir.glob("chathub.db*")) / 2**20
        result = Result(
            data_dir=str(data_dir),
            fill_seconds=fill_seconds,
            upgrade_seconds=round(upgrade_seconds, 2),
            counts=counts,
            database_mib=round(size, 1),
            runs=args.runs,
        )
        ctx = discover(database)
        print("service functions (server time):", file=sys.stderr)
        result.cases = asyncio.run(measure_services(url, ctx, args.runs, args.explain))
        if args.start_server:
            args.token, args.server_env = None, {}
            with own_server(args, data_dir=data_dir) as server:
                result.server_rss_mib_started = rss_mib(server.pid)
                asyncio.run(measure_rest(args.url, ctx, args.runs, result.cases))
                result.server_rss_mib_after_rest = rss_mib(server.pid)
    finally:
        if temporary and not args.keep_data:
            shutil.rmtree(data_dir.parent, ignore_errors=True)
        elif temporary:
            print(f"data kept in {data_dir}", file=sys.stderr)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2))


if __name__ == "__main__":
    main()
