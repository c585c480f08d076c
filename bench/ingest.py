"""Webhook ingest benchmark: N simulator webhooks at concurrency C, against ChatHub and against the baseline.

    python bench/ingest.py --start-server -n 5000 -c 50          # one command: baseline, ChatHub, ChatHub + 20 tabs
    python bench/ingest.py --start-server -n 5000 -c 50 --tabs 0 --rounds 1 --json ingest.json
    python bench/ingest.py --url http://127.0.0.1:8080 -n 5000 -c 50 --email a@b.c --password ...

With --start-server it starts two servers of its own on free 127.0.0.1 ports with temporary data: the
*baseline* (bench/baseline_server.py: a bare NiceGUI route, same uvicorn settings and SQLite pragmas, one row
committed per request before the answer: the stack's limit for a durable acknowledgement) and ChatHub
(`python main.py`). Each round runs every variant once: the two (which goes first alternates), then, with
--tabs N (default 20), ChatHub again while a headless Chromium holds N signed-in agent tabs open on it
(inboxes and a thread, all live): as tabs of one window (all but the last in the background, like one agent's
browser) and as N windows, all in view (N agents at their screens; see --tab-layouts). Medians over rounds.

Per run: webhooks/s (acknowledged), acknowledgement latency p50/p99, errors by HTTP status, the time until
every webhook is processed (GET /healthz until `webhooks_waiting` is 0) and how long after the last
acknowledgement that was, CPU per webhook. Ratios: ChatHub / baseline and ChatHub with tabs / without, each
run against its own round's reference, then the median (the machine's pace drifts from minute to minute).
With a token (or --email/--password) it also counts webhook logs that ended `failed` and the conversations
created. Only talks to 127.0.0.1 / localhost: it is a load generator.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from common import LOCAL_HOSTS, ROOT, browser, cpu_seconds, own_server, percentile, sign_in
from selenium.webdriver.support.ui import WebDriverWait


@dataclass
class Result:
    label: str
    n: int
    concurrency: int
    per_customer: int
    accepted: int = 0
    send_seconds: float = 0.0
    webhooks_per_second: float = 0.0
    ack_p50_ms: float = 0.0
    ack_p99_ms: float = 0.0
    ack_max_ms: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    all_processed_seconds: float | None = None
    processed_after_last_ack_seconds: float | None = None
    failed_logs: int | None = None
    conversations: int | None = None
    client_cpu_ms_per_webhook: float = 0.0
    server_cpu_ms_per_webhook: float | None = None
    browser_cores: float | None = None  # CPU seconds the agent tabs' browser used per second of sending


def process_tree(root: int) -> list[int]:
    """`root` and every process below it (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):  # ended meanwhile
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree, waiting = [], [root]
    while waiting:
        pid = waiting.pop()
        tree.append(pid)
        waiting.extend(children.get(pid, []))
    return tree


def tree_cpu_seconds(root: int) -> float:
    """CPU time of `root` and the processes below it now (not of those that already ended)."""
    return sum(cpu_seconds(pid) or 0.0 for pid in process_tree(root))


def payload(run: str, i: int, per_customer: int) -> dict:
    return {
        "from": f"bench-{run}-{i // per_customer:06d}",
        "name": f"Bench {run} customer {i // per_customer}",
        "message": f"bench message {i}",
        "type": "text",
        "message_id": f"bench-{run}-{i}",
        "timestamp": "2024-02-14T10:00:00Z",
    }


@dataclass
class PostStats:
    accepted: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)

    def latency_ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


class KeepAliveConnection:
    """One HTTP/1.1 keep-alive connection that posts a body and reads the status and the body of the answer.

    The webhook flood is sent this way, over plain asyncio streams, rather than with httpx: the load generator
    shares the server's two cores, and through httpx it spent about 0.8 ms of CPU per request. Its own event
    loop then lagged so far behind that the latencies it recorded were mostly its own: in one run the baseline's
    ack p99 read 364 ms through httpx and 83 ms this way."""

    def __init__(self, url: str, path: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.head = (
            f"POST {path} HTTP/1.1\r\nhost: {parts.netloc}\r\ncontent-type: application/json\r\ncontent-length: "
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(self.head + b"%d\r\n\r\n" % len(body) + body)
        head = (await self.reader.readuntil(b"\r\n\r\n")).lower()
        length = head.partition(b"content-length:")[2].partition(b"\r\n")[0]
        if not length:  # chunked, or until the connection closes: not what the servers here send
            raise ValueError("an answer without content-length")
        await self.reader.readexactly(int(length))
        if b"connection: close" in head:
            self.close()
        return int(head[9:12])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def post_concurrently(
    url: str,
    concurrency: int,
    next_body: Callable[[], tuple[Any, bytes] | None],
    on_accepted: Callable[[Any], None] | None = None,
) -> PostStats:
    """`concurrency` senders, each on a keep-alive connection of its own, post `next_body()`'s (key, body) to
    the simulator webhook until it gives None; `on_accepted(key)` hears of every 200."""
    stats = PostStats()

    async def sender() -> None:
        connection = KeepAliveConnection(url, "/webhooks/simulator")
        try:
            while (item := next_body()) is not None:
                key, body = item
                started = time.perf_counter()
                try:
                    async with asyncio.timeout(60):
                        status = await connection.post(body)
                except (
                    OSError,
                    TimeoutError,
                    ValueError,
                    asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError,
                ) as error:
                    stats.errors[type(error).__name__] += 1
                    connection.close()  # a fresh connection for the next body
                    continue
                stats.latencies.append(time.perf_counter() - started)
                if status != 200:
                    stats.errors[str(status)] += 1
                    continue
                stats.accepted += 1
                if on_accepted is not None:
                    on_accepted(key)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    stats.seconds = time.perf_counter() - started
    return stats


async def post_all(url: str, run: str, n: int, concurrency: int, per_customer: int, result: Result) -> None:
    bodies = iter([(i, json.dumps(payload(run, i, per_customer)).encode()) for i in range(n)])
    stats = await post_concurrently(url, concurrency, lambda: next(bodies, None))
    result.send_seconds = stats.seconds
    result.accepted = stats.accepted
    result.webhooks_per_second = result.accepted / result.send_seconds
    result.ack_p50_ms, result.ack_p99_ms = stats.latency_ms(50), stats.latency_ms(99)
    result.ack_max_ms = max(stats.latencies, default=0.0) * 1000
    result.errors = dict(stats.errors)


async def wait_processed(http: httpx.AsyncClient, started: float, timeout: float) -> float | None:
    """Seconds from `started` until /healthz reports no webhook waiting; None on timeout."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        health = (await http.get("/healthz")).json()
        if health["webhooks_waiting"] == 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.05)
    return None


async def api_token(http: httpx.AsyncClient, args: argparse.Namespace) -> str | None:
    if args.token:
        return args.token
    if args.email and args.password:
        response = await http.post("/api/v1/auth/login", json={"email": args.email, "password": args.password})
        response.raise_for_status()
        return response.json()["token"]
    return None


async def count_items(http: httpx.AsyncClient, path: str, headers: dict[str, str], **params) -> int:
    count, cursor = 0, None
    while True:
        query = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
        page = (await http.get(path, params=query, headers=headers)).json()
        count += len(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return count


async def bench(args: argparse.Namespace, label: str = "chathub", browser_pid: int | None = None) -> Result:
    """One run; with `browser_pid` (the agent tabs' chromedriver) also the CPU its browser used meanwhile."""
    result = Result(label=label, n=args.n, concurrency=args.c, per_customer=args.per_customer)
    async with httpx.AsyncClient(base_url=args.url, timeout=60.0) as http:
        token = await api_token(http, args)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        (await http.get("/healthz")).raise_for_status()
        run, since = uuid.uuid4().hex[:8], time.time()
        server_cpu, client_cpu = cpu_seconds(args.server_pid), time.process_time()
        browser_cpu = tree_cpu_seconds(browser_pid) if browser_pid else None
        started = time.perf_counter()
        await post_all(args.url, run, args.n, args.c, args.per_customer, result)
        if browser_cpu is not None:
            result.browser_cores = (tree_cpu_seconds(browser_pid) - browser_cpu) / result.send_seconds
        result.all_processed_seconds = await wait_processed(http, started, args.timeout)
        if result.all_processed_seconds is not None:
            result.processed_after_last_ack_seconds = max(0.0, result.all_processed_seconds - result.send_seconds)
        result.client_cpu_ms_per_webhook = (time.process_time() - client_cpu) * 1000 / args.n
        if server_cpu is not None:
            result.server_cpu_ms_per_webhook = (cpu_seconds(args.server_pid) - server_cpu) * 1000 / args.n
        if token:
            since_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since - 1))
            result.failed_logs = await count_items(
                http, "/api/v1/webhook-logs", headers, status="failed", since=since_iso
            )
            result.conversations = await count_items(http, "/api/v1/conversations", headers, q=f"Bench {run} ")
    return result


def report(result: Result) -> str:
    processed = (
        f"{result.all_processed_seconds:.2f} s after the first request, "
        f"{result.processed_after_last_ack_seconds:.2f} s after the last acknowledgement"
        if result.all_processed_seconds is not None
        else "NOT within the timeout"
    )
    lines = [
        f"[{result.label}]",
        f"webhooks:          {result.n} at concurrency {result.concurrency}, {result.accepted} accepted "
        f"in {result.send_seconds:.2f} s",
        f"throughput:        {result.webhooks_per_second:.0f} webhooks/s acknowledged",
        f"ack latency:       p50 {result.ack_p50_ms:.1f} ms, p99 {result.ack_p99_ms:.1f} ms, "
        f"max {result.ack_max_ms:.1f} ms",
        f"errors:            {', '.join(f'{k}: {v}' for k, v in sorted(result.errors.items())) or 'none'}",
        f"all processed:     {processed}",
    ]
    cpu = f"client {result.client_cpu_ms_per_webhook:.2f} ms"
    if result.server_cpu_ms_per_webhook is not None:
        cpu += f", server {result.server_cpu_ms_per_webhook:.2f} ms (intake + processing, while polling)"
    lines.append(f"CPU per webhook:   {cpu}")
    if result.failed_logs is not None:
        lines.append(f"failed logs:       {result.failed_logs}")
        lines.append(
            f"conversations:     {result.conversations} created (expected {-(-result.n // result.per_customer)})"
        )
    return "\n".join(lines)


SUMMARY_FIELDS = (
    "webhooks_per_second",
    "ack_p50_ms",
    "ack_p99_ms",
    "ack_max_ms",
    "all_processed_seconds",
    "processed_after_last_ack_seconds",
    "server_cpu_ms_per_webhook",
    "client_cpu_ms_per_webhook",
    "browser_cores",
)


def summarize(results: list[Result]) -> dict:
    """Medians over the rounds of one variant."""
    summary: dict = {"rounds": len(results)}
    for name in SUMMARY_FIELDS:
        values = [getattr(r, name) for r in results if getattr(r, name) is not None]
        summary[name] = round(statistics.median(values), 2) if values else None
    summary["errors"] = sum(sum(r.errors.values()) for r in results)
    summary["unprocessed_runs"] = sum(r.all_processed_seconds is None for r in results)
    summary["failed_logs"] = sum(r.failed_logs or 0 for r in results)
    return summary


def table(summaries: dict[str, dict], n: int, c: int) -> str:
    def cell(value, spec: str) -> str:
        return format(value, spec) if value is not None else format("-", ">" + spec.split(".")[0])

    lines = [
        f"ingest: {n} webhooks at concurrency {c}; medians over rounds",
        f"{'variant':<22} {'rounds':>6} {'webhooks/s':>10} {'ack p50':>8} {'ack p99':>8} {'ack max':>8} "
        f"{'processed':>10} {'after ack':>9} {'srv CPU/wh':>10} {'load CPU/wh':>11} {'browser':>7} {'errors':>6}",
        f"{'':<22} {'':>6} {'':>10} {'ms':>8} {'ms':>8} {'ms':>8} {'s':>10} {'s':>9} {'ms':>10} {'ms':>11} "
        f"{'cores':>7} {'':>6}",
    ]
    for label, s in summaries.items():
        lines.append(
            f"{label:<22} {s['rounds']:>6} {cell(s['webhooks_per_second'], '10.0f')} "
            f"{cell(s['ack_p50_ms'], '8.1f')} {cell(s['ack_p99_ms'], '8.1f')} {cell(s['ack_max_ms'], '8.1f')} "
            f"{cell(s['all_processed_seconds'], '10.2f')} {cell(s['processed_after_last_ack_seconds'], '9.2f')} "
            f"{cell(s['server_cpu_ms_per_webhook'], '10.2f')} "
            f"{cell(s.get('client_cpu_ms_per_webhook'), '11.2f')} {cell(s.get('browser_cores'), '7.2f')} "
            f"{s['errors'] + s['unprocessed_runs']:>6}"
        )
    return "\n".join(lines)


def ratios(runs: dict[str, list[Result]]) -> dict[str, float]:
    """Each variant against its reference (ChatHub against the baseline, a tabs variant against ChatHub without
    tabs), run by run within a round, then the median of those ratios."""
    out = {}
    for label in runs:
        reference = "baseline" if label == "chathub" else "chathub" if label.startswith("chathub_") else None
        pairs = [
            (run.webhooks_per_second, ref.webhooks_per_second)
            for run, ref in zip(runs[label], runs.get(reference, []))
            if run.webhooks_per_second and ref.webhooks_per_second
        ]
        if pairs:
            out[f"{label}_over_{reference}"] = round(statistics.median(a / b for a, b in pairs), 3)
    return out


BASELINE_COMMAND = [sys.executable, str(ROOT / "bench" / "baseline_server.py")]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="a running ChatHub (127.0.0.1 only)")
    parser.add_argument("-n", type=int, default=5000, help="webhooks to post per run (default 5000)")
    parser.add_argument("-c", type=int, default=50, help="concurrent requests (default 50)")
    parser.add_argument("--per-customer", type=int, default=10, help="messages per simulated customer")
    parser.add_argument("--token", help="API token, to check failed logs and conversations afterwards")
    parser.add_argument("--email", help="agent email, to sign in instead of --token")
    parser.add_argument("--password", help="agent password")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait until all are processed")
    parser.add_argument(
        "--start-server",
        action="store_true",
        help="start the baseline and `python main.py` on free ports with temporary data, then stop them",
    )
    parser.add_argument("--rounds", type=int, default=3, help="with --start-server: runs per variant (default 3)")
    parser.add_argument(
        "--tabs",
        type=int,
        default=20,
        help="with --start-server: agent tabs for the 'with tabs' variant (default 20, 0: skip)",
    )
    parser.add_argument(
        "--tab-layouts",
        type=lambda v: v.split(","),
        default=["tabs", "windows"],
        help="with --tabs: 'tabs' (one window: all but one tab in the background), 'windows' (each "
        "in view), or both: tabs,windows (default)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="with --start-server: ChatHub only")
    parser.add_argument("--keep-data", action="store_true", help="with --start-server: keep the temp folders")
    parser.add_argument("--server-pid", type=int, help="pid of the running server, to measure its CPU time")
    parser.add_argument("--json", type=Path, help="also write every run and the medians to this file")
    args = parser.parse_args(argv)
    if not set(args.tab_layouts) <= {"tabs", "windows"}:
        parser.error("--tab-layouts takes tabs, windows or tabs,windows")
    if args.n < 1 or args.c < 1 or args.per_customer < 1 or args.rounds < 1 or args.tabs < 0:
        parser.error("-n, -c, --per-customer and --rounds must be at least 1, --tabs at least 0")
    if not args.start_server and urlsplit(args.url).hostname not in LOCAL_HOSTS:
        parser.error("--url must point at 127.0.0.1 or localhost")
    return args


def open_agent_tabs(url: str, count: int, *, windows: bool = False):
    """A headless Chromium signed in as the bench admin with `count` live tabs: inboxes and a thread. As tabs
    of one window, all but the last are in the background (an agent's browser); with `windows`, each has a
    window of its own and all are in view (agents at their screens)."""
    driver = browser()
    try:
        sign_in(driver, url)  # lands on the inbox: the first tab
        for number in range(count):
            if number:
                driver.switch_to.new_window("window" if windows else "tab")
                driver.get(f"{url}/conversations/1" if number % 2 else f"{url}/")
            WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.did_handshake === true"))
    except BaseException:
        driver.quit()
        raise
    return driver


def run_rounds(args: argparse.Namespace) -> dict[str, list[Result]]:
    """Every variant once per round: baseline and ChatHub (alternating which goes first), then ChatHub with
    each layout of agent tabs, opened for that run and closed after it. The machine's pace drifts by the
    minute, so a tabs run is compared with the tab-less run of its own round (see `ratios`)."""
    runs: dict[str, list[Result]] = {}
    base_args = argparse.Namespace(**vars(args))
    with contextlib.ExitStack() as stack:
        if not args.no_baseline:
            stack.enter_context(own_server(base_args, command=BASELINE_COMMAND, label="baseline"))
            base_args.email = base_args.password = None  # the baseline has no API
        # a closed tab is let go 3 s after it dropped, not the 120 s kept for a reconnect: each round's tabs
        # must be gone before the next round's tab-less run
        args.server_env = {**getattr(args, "server_env", {}), "CHATHUB_RECONNECT_SECONDS": "3"}
        server = stack.enter_context(own_server(args, label="chathub"))
        for number in range(args.rounds):
            variants = [("chathub", args)] if args.no_baseline else [("baseline", base_args), ("chathub", args)]
            for label, target in variants if number % 2 == 0 else reversed(variants):
                record(runs, asyncio.run(bench(target, label)))
            for layout in args.tab_layouts if args.tabs else []:
                record(runs, run_with_tabs(args, layout, server.pid))
    return runs


def record(runs: dict[str, list[Result]], result: Result) -> None:
    runs.setdefault(result.label, []).append(result)
    print(report(result), file=sys.stderr, flush=True)


def run_with_tabs(args: argparse.Namespace, layout: str, server_pid: int) -> Result:
    driver = open_agent_tabs(args.url, args.tabs, windows=layout == "windows")
    try:
        tabs = httpx.get(f"{args.url}/healthz", timeout=10).json().get("open_tabs")
        print(f"{tabs} agent tabs open on the server (pid {server_pid}), as {layout}", file=sys.stderr, flush=True)
        return asyncio.run(bench(args, f"chathub_{args.tabs}_{layout}", browser_pid=driver.service.process.pid))
    finally:
        driver.quit()
        wait_tabs_gone(args.url)


def wait_tabs_gone(url: str, timeout: float = 30.0) -> None:
    """Until the server has let go of the closed tabs."""
    deadline = time.monotonic() + timeout
    while tabs := httpx.get(f"{url}/healthz", timeout=10).json().get("open_tabs"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{tabs} closed agent tabs still open on the server after {timeout:.0f} s")
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.start_server:
        runs = run_rounds(args)
    else:
        runs = {"chathub": [asyncio.run(bench(args))]}
    summaries = {label: summarize(results) for label, results in runs.items()}
    print(table(summaries, args.n, args.c))
    found = ratios(runs)
    for name, value in found.items():
        target = 0.6 if name == "chathub_over_baseline" else 0.8
        print(f"ratio {name.replace('_over_', ' / ')}: {value:.2f} (target >= {target})")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "n": args.n,
                    "concurrency": args.c,
                    "summaries": summaries,
                    "ratios": found,
                    "runs": {k: [asdict(r) for r in v] for k, v in runs.items()},
                },
                indent=2,
            )
        )
    results = [r for v in runs.values() for r in v]
    if any(r.errors or r.all_processed_seconds is None or r.failed_logs for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
