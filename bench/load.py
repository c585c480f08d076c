"""Load benchmark: many concurrent webhook senders for a while, with agent tabs open in a real browser.

    python bench/load.py --start-server                                   # 200 senders, 60 s, 20 tabs
    python bench/load.py --start-server --senders 50 --duration 10 --tabs 4 --json load.json
    python bench/load.py --url http://127.0.0.1:8080 --email a@b.c --password ... --server-pid PID \\
        --db data/chathub.db

Each sender posts simulator webhooks one after another (a new one as soon as the last is answered), every
one with its own message_id, from many customers; a share of them goes to a few "busy" customers whose
threads are open in the tabs. Half the tabs (headless Debian Chromium, as bench/live_latency.py) show the
inbox, the other half those busy threads.

Reports the requests sent, acknowledged (200) and the error responses by status (must be none); once the
queue drained (GET /healthz until nothing waits) the messages stored for this run, read from the SQLite file
(`--db`, or the server it started) or else through the API (must be exactly the acknowledged ones: none lost,
none extra); the server's RSS before the load, at its peak, when the senders stopped, once the queue drained
and `--settle` seconds after that, with the tabs still open (after draining it must not grow by more than
`--rss-tolerance` MiB); and whether every tab is still connected, never dropped its connection, is on the
page it opened (never reloaded) and shows the latest message. A table, and with `--json PATH` the same
figures as JSON. Exits 1 when a check fails. Only talks to 127.0.0.1 / localhost.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from common import LOCAL_HOSTS, browser, cpu_seconds, own_server, post_concurrently
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from tabs_memory import rss_mib

ARM_JS = """
window.__loadRun = arguments[0];
window.__disconnects = 0;
window.socket.on('disconnect', () => { window.__disconnects += 1; });
"""
TAB_STATE_JS = """
const row = document.querySelector('a[href^="/conversations/"]');
return {connected: !!(window.socket && window.socket.connected && window.did_handshake),
        same_page: window.__loadRun === arguments[0], disconnects: window.__disconnects ?? null,
        bubbles: Array.from(document.querySelectorAll('.chat-bubble'), b => b.innerText).join('\\n'),
        first_row: row ? row.innerText : '',
        rows: document.querySelectorAll('a[href^="/conversations/"]').length};
"""


@dataclass
class Tab:
    path: str
    conversation_id: int | None = None  # a busy thread; None for the inbox
    connected: bool = False
    same_page: bool = False  # False when the page reloaded during the run
    disconnects: int | None = None
    expected: str = ""  # the latest message this tab must show
    shows_latest: bool = False
    inbox_rows: int = 0  # conversation rows in the tab's list at the end

    @property
    def ok(self) -> bool:
        return self.connected and self.same_page and self.disconnects == 0 and self.shows_latest


@dataclass
class Result:
    senders: int
    duration_s: float
    tabs_open: int
    customers: int
    busy_share: float
    sent: int = 0
    acknowledged: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    acknowledged_per_second: float = 0.0
    ack_p50_ms: float = 0.0
    ack_p99_ms: float = 0.0
    ack_max_ms: float = 0.0
    drained_after_load_s: float | None = None
    server_cpu_ms_per_webhook: float | None = None  # from the first request until the queue drained
    webhooks_failed: int | None = None
    stored: int | None = None
    lost: int | None = None  # acknowledged but not stored
    unexpected: int | None = None  # stored but never acknowledged (a request that errored may still land)
    counted_through: str = ""
    rss_before_mib: float | None = None
    rss_peak_mib: float | None = None
    rss_end_of_load_mib: float | None = None
    rss_drained_mib: float | None = None
    rss_after_mib: float | None = None
    settle_s: float = 0.0
    rss_growth_after_load_mib: float | None = None  # from "drained" (the load's last webhook done) to "after"
    rss_tolerance_mib: float = 0.0
    tabs: list[Tab] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = []
        if self.errors:
            found.append(f"error responses: {self.errors}")
        if self.drained_after_load_s is None:
            found.append("the webhook queue did not drain")
        if self.webhooks_failed:
            found.append(f"{self.webhooks_failed} webhooks failed processing")
        if self.stored != self.acknowledged or self.lost or self.unexpected:
            found.append(
                f"stored {self.stored} != acknowledged {self.acknowledged} "
                f"(lost {self.lost}, unexpected {self.unexpected})"
            )
        if self.rss_growth_after_load_mib is not None and self.rss_growth_after_load_mib > self.rss_tolerance_mib:
            found.append(f"memory grew {self.rss_growth_after_load_mib:.1f} MiB after the load ended")
        if len(self.tabs) != self.tabs_open or not all(tab.ok for tab in self.tabs):
            found.append("tabs not live: " + ", ".join(tab.path for tab in self.tabs if not tab.ok))
        return found


# --- what is sent --------------------------------------------------------------------------------------------


def message_id(run: str, index: int) -> str:
    return f"load-{run}-{index}"


def customer_of(index: int, customers: int, busy: int, busy_share: float) -> int:
    """Every 1/busy_share-th message goes to one of the busy customers (0 .. busy-1), the rest spread over
    all `customers`."""
    if busy and busy_share > 0 and index % max(1, round(1 / busy_share)) == 0:
        return index // max(1, round(1 / busy_share)) % busy
    return index % customers


def webhook(run: str, index: int, customer: int, *, seed: bool = False) -> dict:
    """One customer message; `seed` ones open the busy threads and are not counted as load."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "from": f"load-{run}-{customer:05d}",
        "name": f"Load {run} customer {customer}",
        "message": f"load {run} {'opening' if seed else 'message'} {index}",
        "type": "text",
        "message_id": f"seed-{run}-{index}" if seed else message_id(run, index),
        "timestamp": now,
    }


class Sampler:
    """The server's RSS every half second while running; `peak` is the largest seen."""

    def __init__(self, pid: int | None) -> None:
        self.pid, self.peak, self._task = pid, None, None

    def sample(self) -> float | None:
        if self.pid is None:
            return None
        value = rss_mib(self.pid)
        self.peak = value if self.peak is None else max(self.peak, value)
        return value

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.5)

    def __enter__(self) -> Sampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc) -> None:
        self._task.cancel()


async def send_load(args: argparse.Namespace, run: str, busy: int, result: Result, sampler: Sampler) -> set[str]:
    """`args.senders` senders posting for `args.duration` seconds; returns the acknowledged message ids."""
    acknowledged: set[str] = set()
    counter = itertools.count()
    deadline = time.perf_counter() + args.duration

    def next_body() -> tuple[str, bytes] | None:
        if time.perf_counter() >= deadline:
            return None
        index = next(counter)
        customer = customer_of(index, args.customers, busy, args.busy_share)
        return message_id(run, index), json.dumps(webhook(run, index, customer)).encode()

    with sampler:
        stats = await post_concurrently(args.url, args.senders, next_body, acknowledged.add)
    result.sent = next(counter)  # the indexes drawn so far: one per request
    result.acknowledged = len(acknowledged)
    result.errors = dict(stats.errors)
    result.acknowledged_per_second = len(acknowledged) / stats.seconds
    result.ack_p50_ms, result.ack_p99_ms = stats.latency_ms(50), stats.latency_ms(99)
    result.ack_max_ms = max(stats.latencies, default=0.0) * 1000
    return acknowledged


# --- the server's side ---------------------------------------------------------------------------------------


async def sign_in(http: httpx.AsyncClient, args: argparse.Namespace) -> dict[str, str]:
    if args.token:
        return {"Authorization": f"Bearer {args.token}"}
    response = await http.post("/api/v1/auth/login", json={"email": args.email, "password": args.password})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def wait_drained(http: httpx.AsyncClient, timeout: float) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if (await http.get("/healthz")).json()["webhooks_waiting"] == 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.1)
    return None


async def seed_busy_threads(http: httpx.AsyncClient, auth: dict, run: str, busy: int) -> list[int]:
    """The busy customers write first, so their threads exist before the tabs open; their conversation ids."""
    for customer in range(busy):
        (await http.post("/webhooks/simulator", json=webhook(run, customer, customer, seed=True))).raise_for_status()
    if await wait_drained(http, 60) is None:
        raise SystemExit("the first webhooks were not processed within 60 s")
    found: dict[str, int] = {}
    cursor = None
    while True:
        page = (
            await http.get(
                "/api/v1/conversations",
                headers=auth,
                params={
                    "q": f"Load {run} customer",
                    "status": "open",
                    "limit": 100,
                    **({"cursor": cursor} if cursor else {}),
                },
            )
        ).json()
        found |= {item["customer"]["name"]: item["id"] for item in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return [found[f"Load {run} customer {customer}"] for customer in range(busy)]


def stored_ids_in_file(db: Path, run: str) -> set[str]:
    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=30) as connection:
        rows = connection.execute(
            "SELECT external_id FROM message WHERE direction = 'inbound' AND external_id LIKE ?", (f"load-{run}-%",)
        ).fetchall()
    return {row[0] for row in rows}


async def stored_ids_through_api(http: httpx.AsyncClient, auth: dict, run: str) -> set[str]:
    ids: set[str] = set()

    async def pages(path: str, **params):
        cursor = None
        while True:
            page = (
                await http.get(
                    path, headers=auth, params={**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
                )
            ).json()
            yield page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async for conversations in pages("/api/v1/conversations", q=f"Load {run} customer"):
        for conversation in conversations:
            async for messages in pages(f"/api/v1/conversations/{conversation['id']}/messages"):
                ids |= {m["external_id"] for m in messages if (m["external_id"] or "").startswith(f"load-{run}-")}
    return ids


async def latest_messages(http: httpx.AsyncClient, auth: dict, busy_ids: list[int]) -> tuple[str, dict[int, str]]:
    """What the tabs must show: the inbox's top conversation's preview, and each busy thread's last message."""
    top = (await http.get("/api/v1/conversations", headers=auth, params={"status": "open", "limit": 1})).json()
    threads = {}
    for conversation_id in busy_ids:
        items = (
            await http.get(f"/api/v1/conversations/{conversation_id}/messages", headers=auth, params={"limit": 1})
        ).json()["items"]
        threads[conversation_id] = items[-1]["content"]
    return top["items"][0]["last_message_preview"], threads


# --- the tabs ------------------------------------------------------------------------------------------------


class AgentTabs:
    """One headless Chromium, signed in, with `inbox` tabs on / and one tab per busy thread."""

    def __init__(self, url: str, email: str, password: str) -> None:
        self.url = url
        self.driver = browser()
        self.handles: dict[str, Tab] = {}
        self.driver.get(f"{url}/signin")
        WebDriverWait(self.driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "input[type=email]"))
        self.driver.find_element(By.CSS_SELECTOR, "input[type=email]").send_keys(email)
        self.driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(password + "\n")
        WebDriverWait(self.driver, 30).until(lambda d: d.current_url.rstrip("/") == url)
        self._first = self.driver.current_window_handle

    def open(self, tabs: list[Tab], run: str) -> None:
        for number, tab in enumerate(tabs):
            if number:
                self.driver.switch_to.new_window("tab")
            self.driver.get(self.url + tab.path)
            WebDriverWait(self.driver, 30).until(lambda d: d.execute_script("return window.did_handshake === true"))
            self.driver.execute_script(ARM_JS, run)
            self.handles[self.driver.current_window_handle] = tab

    def check(self, run: str, inbox_top: str, threads: dict[int, str], timeout: float) -> list[Tab]:
        """Each tab's state; waits up to `timeout` s in all for tabs still catching up with the last updates."""
        deadline = time.monotonic() + timeout
        for handle, tab in self.handles.items():
            self.driver.switch_to.window(handle)
            tab.expected = inbox_top if tab.conversation_id is None else threads[tab.conversation_id]
            while True:
                state = self.driver.execute_script(TAB_STATE_JS, run)
                shown = state["first_row"] if tab.conversation_id is None else state["bubbles"]
                tab.connected, tab.same_page = state["connected"], state["same_page"]
                tab.disconnects, tab.shows_latest = state["disconnects"], tab.expected in shown
                tab.inbox_rows = state["rows"]
                if tab.ok or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        return list(self.handles.values())

    def quit(self) -> None:
        self.driver.quit()


def plan_tabs(count: int, busy_ids: list[int]) -> list[Tab]:
    inbox = count // 2
    return [Tab("/") for _ in range(inbox)] + [Tab(f"/conversations/{c}", c) for c in busy_ids[: count - inbox]]


# --- the run -------------------------------------------------------------------------------------------------


def run_load(args: argparse.Namespace) -> Result:
    """The whole bench against args.url (a started server); the caller prints or asserts."""
    run = uuid.uuid4().hex[:8]
    busy = args.tabs - args.tabs // 2
    result = Result(
        senders=args.senders,
        duration_s=args.duration,
        tabs_open=args.tabs,
        customers=args.customers,
        busy_share=args.busy_share,
        settle_s=args.settle,
        rss_tolerance_mib=args.rss_tolerance,
    )
    sampler = Sampler(args.server_pid)

    async def prepare() -> tuple[dict, list[int], int]:
        async with httpx.AsyncClient(base_url=args.url, timeout=60) as http:
            auth = await sign_in(http, args)
            busy_ids = await seed_busy_threads(http, auth, run, busy)
            return auth, busy_ids, (await http.get("/healthz")).json()["webhooks_failed_24h"]

    auth, busy_ids, failed_before = asyncio.run(prepare())
    tabs = AgentTabs(args.url, args.email, args.password) if args.tabs else None
    try:
        if tabs:
            tabs.open(plan_tabs(args.tabs, busy_ids), run)
        time.sleep(2)  # the tabs settle
        result.rss_before_mib = sampler.sample()

        async def load() -> tuple[set[str], set[str], str, dict[int, str]]:
            cpu_before = cpu_seconds(args.server_pid)
            acknowledged = await send_load(args, run, busy, result, sampler)
            result.rss_end_of_load_mib = sampler.sample()
            async with httpx.AsyncClient(base_url=args.url, timeout=60) as http:
                result.drained_after_load_s = await wait_drained(http, args.timeout)
                result.rss_drained_mib = sampler.sample()
                if cpu_before is not None and acknowledged:
                    cpu = cpu_seconds(args.server_pid) - cpu_before
                    result.server_cpu_ms_per_webhook = cpu * 1000 / len(acknowledged)
                result.webhooks_failed = (await http.get("/healthz")).json()["webhooks_failed_24h"] - failed_before
                if args.db:
                    stored, result.counted_through = stored_ids_in_file(Path(args.db), run), f"SQLite file {args.db}"
                else:
                    stored, result.counted_through = await stored_ids_through_api(http, auth, run), "the REST API"
                inbox_top, threads = await latest_messages(http, auth, busy_ids)
            return acknowledged, stored, inbox_top, threads

        acknowledged, stored, inbox_top, threads = asyncio.run(load())
        result.stored = len(stored)
        result.lost, result.unexpected = len(acknowledged - stored), len(stored - acknowledged)
        if tabs:
            result.tabs = tabs.check(run, inbox_top, threads, timeout=args.tab_timeout)
        settle_until = time.monotonic() + args.settle  # the tabs stay open: only the load has ended
        while time.monotonic() < settle_until:
            sampler.sample()
            time.sleep(0.5)
        result.rss_after_mib = sampler.sample()
    finally:
        if tabs:
            tabs.quit()
    result.rss_peak_mib = sampler.peak
    if result.rss_after_mib is not None:
        result.rss_growth_after_load_mib = result.rss_after_mib - result.rss_drained_mib
    return result


def report(result: Result) -> str:
    def mib(value: float | None) -> str:
        return "n/a (no --server-pid)" if value is None else f"{value:.1f} MiB"

    errors = ", ".join(f"{k}: {v}" for k, v in sorted(result.errors.items())) or "0"
    tabs_ok = sum(tab.ok for tab in result.tabs)
    threads = sum(tab.conversation_id is not None for tab in result.tabs)
    rows = [
        (
            "load",
            f"{result.senders} senders for {result.duration_s:g} s, {result.customers} customers, "
            f"{result.busy_share:.0%} to the {threads} busy threads open in tabs",
        ),
        ("requests sent", str(result.sent)),
        ("acknowledged (200)", f"{result.acknowledged} ({result.acknowledged_per_second:.0f}/s)"),
        ("error responses", errors),
        (
            "ack latency",
            f"p50 {result.ack_p50_ms:.0f} ms, p99 {result.ack_p99_ms:.0f} ms, max {result.ack_max_ms:.0f} ms",
        ),
        (
            "queue drained",
            "NOT within the timeout"
            if result.drained_after_load_s is None
            else f"{result.drained_after_load_s:.1f} s after the load ended",
        ),
        (
            "server CPU per webhook",
            "n/a"
            if result.server_cpu_ms_per_webhook is None
            else f"{result.server_cpu_ms_per_webhook:.1f} ms (intake, processing and the tabs' updates)",
        ),
        ("webhooks failed", str(result.webhooks_failed)),
        (
            "messages stored",
            f"{result.stored} (lost {result.lost}, unexpected {result.unexpected}; "
            f"counted through {result.counted_through})",
        ),
        ("RSS before the load", mib(result.rss_before_mib)),
        ("RSS peak (whole run)", mib(result.rss_peak_mib)),
        ("RSS at the end of the load", mib(result.rss_end_of_load_mib)),
        ("RSS once drained", mib(result.rss_drained_mib)),
        (f"RSS {result.settle_s:g} s after draining", mib(result.rss_after_mib)),
        (
            "growth after the load",
            "n/a"
            if result.rss_growth_after_load_mib is None
            else f"{result.rss_growth_after_load_mib:+.1f} MiB since drained (tolerance {result.rss_tolerance_mib:g} "
            f"MiB), {result.rss_after_mib - result.rss_end_of_load_mib:+.1f} MiB since the senders stopped",
        ),
        ("tabs live and up to date", f"{tabs_ok} of {result.tabs_open}"),
    ]
    rows += [
        (
            f"  tab {tab.path}",
            ("ok" if tab.ok else "NOT OK") + f": connected={tab.connected} "
            f"same_page={tab.same_page} disconnects={tab.disconnects} shows {tab.expected!r}={tab.shows_latest} "
            f"list rows={tab.inbox_rows}",
        )
        for tab in result.tabs
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines.append("verdict".ljust(width) + "  " + ("ok" if not result.problems else "; ".join(result.problems)))
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="a running ChatHub (127.0.0.1 only)")
    parser.add_argument("--senders", type=int, default=200, help="concurrent webhook senders (default 200)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--tabs", type=int, default=20, help="agent tabs open, half inbox, half busy threads")
    parser.add_argument("--customers", type=int, default=2000, help="distinct customers writing (default 2000)")
    parser.add_argument(
        "--busy-share",
        type=float,
        default=0.1,
        help="share of the messages that go to the busy threads open in tabs (default 0.1)",
    )
    parser.add_argument("--settle", type=float, default=30, help="seconds after draining before the last RSS")
    parser.add_argument(
        "--rss-tolerance",
        type=float,
        default=8.0,
        help="MiB the RSS may move after the load without failing the run (default 8)",
    )
    parser.add_argument("--tab-timeout", type=float, default=30, help="seconds for the tabs to catch up")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the queue to drain")
    parser.add_argument("--token", help="API token of an agent (or --email/--password)")
    parser.add_argument("--email", help="agent email: signs in the API and the tabs")
    parser.add_argument("--password", help="agent password")
    parser.add_argument("--server-pid", type=int, help="pid of the running server, for its RSS")
    parser.add_argument("--db", help="the server's SQLite file, to count stored messages (else: the API)")
    parser.add_argument(
        "--start-server",
        action="store_true",
        help="start `python main.py` on a free port with a temporary data folder, then stop it",
    )
    parser.add_argument("--keep-data", action="store_true", help="with --start-server: keep the temp folder")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.senders < 1 or args.duration <= 0 or args.tabs < 0 or args.customers < 1:
        parser.error("--senders and --customers must be at least 1, --duration positive, --tabs not negative")
    if args.tabs - args.tabs // 2 > args.customers:
        parser.error("--customers must be at least the number of busy threads")
    if not 0 <= args.busy_share <= 1:
        parser.error("--busy-share must be between 0 and 1")
    if not args.start_server:
        if urlsplit(args.url).hostname not in LOCAL_HOSTS:
            parser.error("--url must point at 127.0.0.1 or localhost")
        if not (args.email and args.password):
            parser.error("--email and --password are needed (the tabs sign in; --token alone cannot)")
    return args


def run(args: argparse.Namespace) -> Result:
    """Start a server when asked, run the bench, and return its figures."""
    if not args.start_server:
        return run_load(args)
    data = Path(tempfile.mkdtemp(prefix="chathub-load-"))
    args.server_env = {"CHATHUB_DATA_DIR": str(data)}  # so the bench knows where the SQLite file is
    args.db = str(data / "chathub.db")
    try:
        with own_server(args):
            return run_load(args)
    finally:
        if args.keep_data:
            print(f"database kept in {data}", file=sys.stderr)
        else:
            shutil.rmtree(data, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(args)
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(result) | {"problems": result.problems}, indent=2))
    sys.exit(1 if result.problems else 0)


if __name__ == "__main__":
    main()
