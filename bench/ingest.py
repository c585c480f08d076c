"""Webhook ingest benchmark: ChatHub against the stack's own limit for a durable acknowledgement, driven by wrk.

    python bench/ingest.py                                              # SQLite, C=50 and 300, 10 s, 3 rounds
    python bench/ingest.py --duration 2 --rounds 1 --tabs 0             # a smoke run
    python bench/ingest.py --database postgresql --instances 2 --json ingest-pg2.json

Two variants, each on FRESH servers for every run (a new data folder, or a new PostgreSQL database), so every
run starts from the same state:

- **baseline** (bench/bare_route.py): a bare FastAPI route on uvicorn, no NiceGUI mounted, that commits each
  body as one row before answering: the stack's limit for a durable acknowledgement.
- **chathub**: `python main.py`; the webhook is logged durably (group commit) before the 200, then processed
  by the webhook worker. With --tabs N also **chathub_N_tabs** / **chathub_N_windows**: the same with N
  signed-in agent tabs open in a headless Chromium (at the first concurrency only; see bench/README.md).

Each round runs, for each concurrency, both variants (which goes first alternates between rounds). A run: the
server(s) start; a warm-up (wrk 1 s at -c 10, its own run label) until processed; then
`wrk -t2 -c C -d D --timeout 10s -s bench/ingest.lua URL/webhooks/simulator` with a run label that makes
every message id unique across the bench, 5 messages per customer. Recorded: requests/s (wrk's completed
requests / its duration), ack p50/p99/max (wrk's latency), errors (answers >= 400 and socket errors), the
server's CPU per acknowledged webhook (every process of the variant, summed over instances, from wrk's start
until all is processed; on PostgreSQL the cluster's CPU beside it), wrk's own CPU in cores (it must stay well
under one: the generator is not the bottleneck), and the seconds from wrk's exit until GET /healthz shows no
webhook waiting (polled every 20 ms). For ChatHub the database is then read directly: webhook logs by status
and this run's inbound messages, which must be at least wrk's 2xx count (a shortfall, or any `failed` log,
is printed loudly and makes the exit status 1).

--database postgresql runs a throwaway cluster (tests/helpers/postgres.py) with a fresh database per run;
--instances 2 runs two processes of each variant on that database behind HAProxy (deploy/haproxy.cfg) and
points wrk at HAProxy. Needs wrk: `apt-get install -y wrk`. Only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from common import ROOT, browser, cpu_seconds, own_server, sign_in
from selenium.webdriver.support.ui import WebDriverWait

WRK = shutil.which("wrk")
LUA = ROOT / "bench" / "ingest.lua"
BARE_ROUTE = [sys.executable, str(ROOT / "bench" / "bare_route.py")]
CHATHUB = [sys.executable, str(ROOT / "main.py")]
PER_CUSTOMER = 5
P99_TARGET_MS = {50: 50.0, 300: 500.0}  # issue 22: ack p99 at C=50 and at C=300
PROCESSED_TARGET_S = 2.0  # everything processed within 2 s of the last ack
RATIO_TARGET = 0.6  # ChatHub >= 0.6 x the bare route, at each concurrency
TABS_RATIO_TARGET = 0.8  # N agent tabs >= 0.8 x none


@dataclass
class Result:
    """One wrk run against one variant."""

    variant: str  # baseline, chathub, chathub_20_tabs ...
    concurrency: int
    round: int = 1
    run_label: str = ""
    duration_s: float = 0.0
    requests: int = 0  # completed (wrk), whatever their status
    acknowledged: int = 0  # 2xx: requests less answers >= 400
    requests_per_second: float = 0.0
    ack_p50_ms: float = 0.0
    ack_p99_ms: float = 0.0
    ack_max_ms: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)  # status (>= 400), connect, read, write, timeout
    processed_after_last_ack_s: float | None = None  # None: not within --timeout
    server_cpu_ms_per_webhook: float | None = None  # every process of the variant, summed over instances
    database_cpu_ms_per_webhook: float | None = None  # the PostgreSQL cluster's processes
    balancer_cpu_ms_per_webhook: float | None = None  # HAProxy, with --instances 2
    generator_cores: float = 0.0  # wrk's own CPU seconds per second of its run
    browser_cores: float | None = None  # the agent tabs' Chromium, CPU seconds per second of the run
    logs_by_status: dict[str, int] | None = None  # ChatHub: webhook_log rows (warm-up included)
    inbound_messages: int | None = None  # ChatHub: this run's inbound messages in the database
    lost: int | None = None  # ChatHub: acknowledged less stored (never below 0)


def parse_wrk(output: str) -> dict:
    """The `WRK_RESULT {json}` line that bench/ingest.lua prints at the end."""
    for line in output.splitlines():
        if line.startswith("WRK_RESULT "):
            return json.loads(line.removeprefix("WRK_RESULT "))
    raise RuntimeError(f"wrk printed no WRK_RESULT line:\n{output[-2000:]}")


def apply_wrk(result: Result, figures: dict) -> None:
    result.duration_s = figures["duration_us"] / 1e6
    result.requests = figures["requests"]
    result.acknowledged = max(0, figures["requests"] - figures["status"])
    result.requests_per_second = result.requests / result.duration_s if result.duration_s else 0.0
    result.ack_p50_ms, result.ack_p99_ms = figures["p50_us"] / 1000, figures["p99_us"] / 1000
    result.ack_max_ms = figures["max_us"] / 1000
    result.errors = {k: figures[k] for k in ("status", "connect", "read", "write", "timeout") if figures[k]}


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


def tree_cpu_seconds(*roots: int) -> float:
    """CPU time of the `roots` and the processes below them now (not of those that already ended)."""
    return sum(cpu_seconds(pid) or 0.0 for root in roots for pid in process_tree(root))


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(url: str, label: str, concurrency: int, duration: float) -> dict:
    command = [WRK, "-t2", f"-c{concurrency}", f"-d{duration:g}s", "--timeout", "10s", "-s", str(LUA)]
    env = {**os.environ, "RUN": label, "PER_CUSTOMER": str(PER_CUSTOMER)}
    done = subprocess.run([*command, f"{url}/webhooks/simulator"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return parse_wrk(done.stdout)


def wait_processed(url: str, timeout: float) -> float | None:
    """Seconds until GET /healthz shows no webhook waiting (polled every 20 ms); None on timeout."""
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=10.0) as http:
        while time.monotonic() - started < timeout:
            if http.get("/healthz").json()["webhooks_waiting"] == 0:
                return time.monotonic() - started
            time.sleep(0.02)
    return None


# --- the servers of one run -------------------------------------------------------------------------------


@dataclass
class Target:
    """What one run sends to: the URL wrk posts to, the URL polled for /healthz, the pids to measure."""

    url: str
    health_url: str
    server_pids: list[int]
    database_url: str | None = None  # PostgreSQL
    sqlite_file: Path | None = None  # ChatHub on SQLite
    balancer_pid: int | None = None


class Database:
    """Where a run's servers keep their data: a fresh folder (SQLite) or a fresh database in one throwaway
    PostgreSQL cluster for the whole bench."""

    def __init__(self, kind: str, stack: contextlib.ExitStack) -> None:
        self.cluster = None
        if kind == "postgresql":
            from tests.helpers import postgres

            self.postgres = postgres
            self.cluster = stack.enter_context(postgres.running_cluster())
            print(f"PostgreSQL cluster on 127.0.0.1:{self.cluster.port}", file=sys.stderr, flush=True)

    def cluster_pid(self) -> int | None:
        if self.cluster is None:
            return None
        return int((self.cluster.data / "postmaster.pid").read_text().split()[0])

    @contextlib.contextmanager
    def fresh(self, name: str) -> Iterator[str | None]:
        """A new empty database for one run (PostgreSQL: its URL; SQLite: None, each server has its folder).
        Commits wait for their WAL write (synchronous_commit on; the cluster itself runs without fsync, like
        SQLite's synchronous=NORMAL, which does not sync each commit either)."""
        if self.cluster is None:
            yield None
            return
        database_url = self.cluster.url(name)
        self.postgres.execute(
            database_url, f'CREATE DATABASE "{name}"', f'ALTER DATABASE "{name}" SET synchronous_commit = on'
        )
        try:
            yield database_url
        finally:
            self.postgres.drop(database_url)


@contextlib.contextmanager
def running_variant(
    command: list[str], folder: Path, database_url: str | None, instances: int, label: str
) -> Iterator[Target]:
    """`instances` processes of one variant, each with its own data folder (and the one database), started in
    turn; with two, HAProxy in front of them."""
    shared = {"CHATHUB_SECRET_KEY": secrets.token_urlsafe(32)}
    if database_url:
        shared["CHATHUB_DATABASE_URL"] = database_url
    with contextlib.ExitStack() as stack:
        servers = []
        for number in range(instances):
            settings = argparse.Namespace(server_env=shared)
            data_dir = folder / f"{label}-{number}" / "data"
            data_dir.mkdir(parents=True)
            process = stack.enter_context(own_server(settings, data_dir=data_dir, command=command, label=label))
            servers.append((process, settings.url))
        target = Target(
            url=servers[0][1],
            health_url=servers[0][1],  # the count is the database's: one instance tells it
            server_pids=[process.pid for process, _ in servers],
            database_url=database_url,
            sqlite_file=None if database_url else folder / f"{label}-0" / "data" / "chathub.db",
        )
        if instances > 1:
            from tests.helpers.haproxy import running_haproxy

            balancer = stack.enter_context(running_haproxy(folder, [url for _, url in servers]))
            wait_spare_servers_down(balancer.log)
            target.url, target.balancer_pid = balancer.url, balancer.process.pid
        yield target


def wait_spare_servers_down(log: Path, timeout: float = 15.0) -> None:
    """The recipe has three servers; the one without an instance points at a closed port. Until HAProxy's
    checks mark it down, requests sent there are retried elsewhere and cost a detour: wait for that first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "/c is DOWN" in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    print("warning: HAProxy did not mark its spare server down; measuring anyway", file=sys.stderr, flush=True)


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


# --- one run ----------------------------------------------------------------------------------------------


def count_in_database(target: Target, run_label: str) -> tuple[dict[str, int], int]:
    """ChatHub's webhook logs by status, and the run's inbound messages, read from the database itself."""
    logs = "SELECT status, count(*) FROM webhook_log GROUP BY status"
    messages = "SELECT count(*) FROM message WHERE direction = 'inbound' AND external_id LIKE "
    pattern = f"b-{run_label}-%"
    if target.database_url:
        from tests.helpers import postgres

        with postgres.connect(target.database_url) as connection:
            by_status = dict(connection.execute(logs).fetchall())
            stored = connection.execute(messages + "%s", (pattern,)).fetchone()[0]
    else:
        with contextlib.closing(sqlite3.connect(f"file:{target.sqlite_file}?mode=ro", uri=True)) as connection:
            by_status = dict(connection.execute(logs).fetchall())
            stored = connection.execute(messages + "?", (pattern,)).fetchone()[0]
    return {str(k): v for k, v in by_status.items()}, stored


def warm_up(target: Target, result: Result, args: argparse.Namespace) -> None:
    """wrk for 1 s at C=10 with a run label of its own, until processed: the server's first requests, caches
    and connections are not measured (and the agent tabs' thread has a conversation to show)."""
    run_wrk(target.url, f"w{result.run_label}", 10, 1)
    if wait_processed(target.health_url, args.timeout) is None:
        raise RuntimeError(f"{result.variant}: the warm-up was not processed within {args.timeout:g} s")


def measure(
    target: Target, result: Result, args: argparse.Namespace, cluster_pid: int | None, browser_pid: int | None
) -> Result:
    """One wrk run, then wait until all is processed; CPU from wrk's start until then."""
    others = [pid for pid in (cluster_pid, target.balancer_pid, browser_pid) if pid]
    before = {pid: tree_cpu_seconds(pid) for pid in others}
    server_before, wrk_before = tree_cpu_seconds(*target.server_pids), children_cpu_seconds()
    figures = run_wrk(target.url, result.run_label, result.concurrency, args.duration)
    wrk_cpu = children_cpu_seconds() - wrk_before
    browser_cpu = tree_cpu_seconds(browser_pid) - before[browser_pid] if browser_pid else None
    result.processed_after_last_ack_s = wait_processed(target.health_url, args.timeout)
    server_cpu = tree_cpu_seconds(*target.server_pids) - server_before
    apply_wrk(result, figures)
    result.generator_cores = wrk_cpu / result.duration_s
    per_webhook = 1000 / max(1, result.acknowledged)
    result.server_cpu_ms_per_webhook = server_cpu * per_webhook
    if cluster_pid:
        result.database_cpu_ms_per_webhook = (tree_cpu_seconds(cluster_pid) - before[cluster_pid]) * per_webhook
    if target.balancer_pid:
        balancer_cpu = tree_cpu_seconds(target.balancer_pid) - before[target.balancer_pid]
        result.balancer_cpu_ms_per_webhook = balancer_cpu * per_webhook
    if browser_cpu is not None:
        result.browser_cores = browser_cpu / result.duration_s
    if result.variant != "baseline":
        result.logs_by_status, result.inbound_messages = count_in_database(target, result.run_label)
        result.lost = max(0, result.acknowledged - result.inbound_messages)
    return result


def one_run(
    variant: str, concurrency: int, number: int, args: argparse.Namespace, database: Database, root: Path
) -> Result:
    """`variant` on fresh servers (and a fresh database), measured once."""
    label = f"r{number}-c{concurrency}-{variant.replace('_', '-')}"  # in every message id: letters, digits, dashes
    result = Result(variant=variant, concurrency=concurrency, round=number, run_label=label)
    folder = root / label
    folder.mkdir()
    command = BARE_ROUTE if variant == "baseline" else CHATHUB
    name = f"ingest_{label.replace('-', '_')}"
    with (
        database.fresh(name) as database_url,
        running_variant(command, folder, database_url, args.instances, variant) as target,
        contextlib.ExitStack() as stack,
    ):
        warm_up(target, result, args)
        browser_pid = None
        if variant.startswith("chathub_"):  # chathub_20_tabs, chathub_20_windows
            driver = open_agent_tabs(target.url, args.tabs, windows=variant.endswith("_windows"))
            stack.callback(driver.quit)
            browser_pid = driver.service.process.pid
        measure(target, result, args, database.cluster_pid(), browser_pid)
    if not args.keep_data:
        shutil.rmtree(folder, ignore_errors=True)
    print(run_line(result), file=sys.stderr, flush=True)
    return result


def run_line(r: Result) -> str:
    processed = "NOT processed" if r.processed_after_last_ack_s is None else f"{r.processed_after_last_ack_s:.2f} s"
    line = (
        f"[round {r.round}, C={r.concurrency}, {r.variant}] {r.requests_per_second:.0f} req/s, ack p50 "
        f"{r.ack_p50_ms:.1f} / p99 {r.ack_p99_ms:.1f} / max {r.ack_max_ms:.1f} ms, errors {r.errors or 'none'}, "
        f"processed {processed} after the last ack, server CPU {r.server_cpu_ms_per_webhook:.3f} ms/webhook, "
        f"wrk {r.generator_cores:.2f} cores"
    )
    if r.database_cpu_ms_per_webhook is not None:
        line += f", PostgreSQL CPU {r.database_cpu_ms_per_webhook:.3f} ms/webhook"
    if r.balancer_cpu_ms_per_webhook is not None:
        line += f", HAProxy CPU {r.balancer_cpu_ms_per_webhook:.3f} ms/webhook"
    if r.browser_cores is not None:
        line += f", browser {r.browser_cores:.2f} cores"
    if r.logs_by_status is not None:
        line += f"; logs {r.logs_by_status}, {r.inbound_messages} inbound messages for {r.acknowledged} acks"
    return line


def run_rounds(args: argparse.Namespace) -> list[Result]:
    """Each round: for each concurrency both variants (which goes first alternates between rounds), then at
    the first concurrency the agent-tabs variants. Every run on fresh servers."""
    pair = ["baseline", "chathub"]
    tabs_variants = [f"chathub_{args.tabs}_{layout}" for layout in args.tab_layouts] if args.tabs else []
    results = []
    with contextlib.ExitStack() as stack:
        database = Database(args.database, stack)
        root = Path(tempfile.mkdtemp(prefix="chathub-ingest-"))
        if not args.keep_data:
            stack.callback(shutil.rmtree, root, ignore_errors=True)
        for number in range(1, args.rounds + 1):
            for concurrency in args.concurrency:
                variants = pair if number % 2 else pair[::-1]
                if concurrency == args.concurrency[0]:
                    variants = variants + tabs_variants
                for variant in variants:
                    results.append(one_run(variant, concurrency, number, args, database, root))
    return results


# --- summary, ratios, verdicts ----------------------------------------------------------------------------

SUMMARY_FIELDS = (
    "requests_per_second",
    "ack_p50_ms",
    "ack_p99_ms",
    "ack_max_ms",
    "processed_after_last_ack_s",
    "server_cpu_ms_per_webhook",
    "database_cpu_ms_per_webhook",
    "balancer_cpu_ms_per_webhook",
    "generator_cores",
    "browser_cores",
)


def summarize(results: list[Result]) -> list[dict]:
    """Medians over the rounds, per (variant, concurrency), in the order first run."""
    groups: dict[tuple[str, int], list[Result]] = {}
    for result in results:
        groups.setdefault((result.variant, result.concurrency), []).append(result)
    summaries = []
    for (variant, concurrency), runs in groups.items():
        summary: dict = {"variant": variant, "concurrency": concurrency, "rounds": len(runs)}
        for name in SUMMARY_FIELDS:
            values = [getattr(r, name) for r in runs if getattr(r, name) is not None]
            summary[name] = round(statistics.median(values), 3) if values else None
        summary["errors"] = sum(sum(r.errors.values()) for r in runs)
        summary["unprocessed_runs"] = sum(r.processed_after_last_ack_s is None for r in runs)
        summary["lost"] = sum(r.lost or 0 for r in runs) if variant != "baseline" else None
        summary["failed_logs"] = sum((r.logs_by_status or {}).get("failed", 0) for r in runs)
        summaries.append(summary)
    return summaries


def reference_of(variant: str) -> str | None:
    """What a variant is compared with: ChatHub with the baseline, a tabs variant with ChatHub without tabs."""
    return "baseline" if variant == "chathub" else "chathub" if variant.startswith("chathub_") else None


def ratios(results: list[Result]) -> dict[str, dict[str, float]]:
    """Requests/s of each variant over its reference's, run by run within the same round and concurrency,
    then the median of those ratios per concurrency: {"chathub_over_baseline": {"50": 0.21, "300": 0.3}}.
    The machine's pace drifts by the minute, so medians of each side alone could pair a fast minute with a
    slow one."""
    rates = {(r.variant, r.concurrency, r.round): r.requests_per_second for r in results}
    found: dict[str, dict[str, list[float]]] = {}
    for (variant, concurrency, number), rate in rates.items():
        reference = reference_of(variant)
        against = rates.get((reference, concurrency, number))
        if reference and rate and against:
            found.setdefault(f"{variant}_over_{reference}", {}).setdefault(str(concurrency), []).append(rate / against)
    return {
        name: {c: round(statistics.median(values), 3) for c, values in by_c.items()} for name, by_c in found.items()
    }


def verdicts(summaries: list[dict], found: dict[str, dict[str, float]]) -> list[dict]:
    """Issue 22's targets against these figures (ChatHub's medians over rounds): each row says the target,
    the figure as shown, and `met`: True, False, or None when this run did not measure it."""
    rows: list[dict] = []

    def target(name: str, figure, shown: str, met: bool) -> None:
        measured = figure is not None
        rows.append({"target": name, "shown": shown if measured else "not measured", "met": met if measured else None})

    chathub = {s["concurrency"]: s for s in summaries if s["variant"] == "chathub"}
    baseline = {s["concurrency"]: s for s in summaries if s["variant"] == "baseline"}
    concurrencies = sorted({*P99_TARGET_MS, *chathub})
    for c in concurrencies:
        if c in P99_TARGET_MS:
            p99, limit = chathub.get(c, {}).get("ack_p99_ms"), P99_TARGET_MS[c]
            shown = f"{_num(p99, '.1f')} ms (baseline {_num(baseline.get(c, {}).get('ack_p99_ms'), '.1f')} ms)"
            target(f"ack p99 < {limit:g} ms at C={c}", p99, shown, p99 is not None and p99 < limit)
    for c in concurrencies:
        summary = chathub.get(c, {})
        lag, late = summary.get("processed_after_last_ack_s"), summary.get("unprocessed_runs")
        shown = f"{_num(lag, '.2f')} s" + (f" ({late} run(s) NOT processed within the timeout)" if late else "")
        met = lag is not None and lag <= PROCESSED_TARGET_S and not late
        target(f"all processed ≤ {PROCESSED_TARGET_S:g} s after the last ack at C={c}", summary or None, shown, met)
    for c in concurrencies:
        ratio = found.get("chathub_over_baseline", {}).get(str(c))
        met = ratio is not None and ratio >= RATIO_TARGET
        target(f"ChatHub ≥ {RATIO_TARGET:g} × baseline requests/s at C={c}", ratio, _num(ratio, ".2f"), met)
    for name, by_c in found.items():
        if name == "chathub_over_baseline":
            continue
        _, tabs, layout = name.removesuffix("_over_chathub").split("_")  # chathub_20_tabs, chathub_20_windows
        what = "tabs of one window" if layout == "tabs" else "windows, all in view"
        for c, ratio in by_c.items():
            target(
                f"{tabs} agent {what} ≥ {TABS_RATIO_TARGET:g} × none at C={c}",
                ratio,
                f"{ratio:.2f}",
                ratio >= TABS_RATIO_TARGET,
            )
    return rows


def _num(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


COLUMNS = (  # heading, unit, summary key, width, format
    ("variant", "", "variant", 20, "s"),
    ("C", "", "concurrency", 4, "d"),
    ("rounds", "", "rounds", 6, "d"),
    ("req/s", "", "requests_per_second", 7, ".0f"),
    ("ack p50", "ms", "ack_p50_ms", 8, ".1f"),
    ("ack p99", "ms", "ack_p99_ms", 8, ".1f"),
    ("ack max", "ms", "ack_max_ms", 8, ".1f"),
    ("processed", "s after ack", "processed_after_last_ack_s", 11, ".2f"),
    ("server CPU", "ms/webhook", "server_cpu_ms_per_webhook", 10, ".3f"),
    ("db CPU", "ms/webhook", "database_cpu_ms_per_webhook", 10, ".3f"),
    ("LB CPU", "ms/webhook", "balancer_cpu_ms_per_webhook", 10, ".3f"),
    ("wrk", "cores", "generator_cores", 5, ".2f"),
    ("browser", "cores", "browser_cores", 7, ".2f"),
    ("errors", "", "errors", 6, "d"),
    ("lost", "", "lost", 5, "d"),
)


def table(summaries: list[dict], args: argparse.Namespace) -> str:
    """Medians per (variant, concurrency); a column nobody has a figure for is left out."""
    shown = [c for c in COLUMNS if any(s.get(c[2]) is not None for s in summaries)]
    many = "s" if args.instances > 1 else ""
    lines = [
        f"ingest ({args.database}, {args.instances} instance{many}): wrk -t2, {args.duration:g} s per run, "
        f"{args.rounds} round(s); medians over rounds",
        " ".join(format(heading, f"{_align(key)}{width}") for heading, _, key, width, _ in shown),
        " ".join(format(unit, f"{_align(key)}{width}") for _, unit, key, width, _ in shown),
    ]
    for s in summaries:
        cells = []
        for _, _, key, width, spec in shown:
            value = s["errors"] + s["unprocessed_runs"] if key == "errors" else s.get(key)
            cells.append(format("-", f">{width}") if value is None else format(value, f"{_align(key)}{width}{spec}"))
        lines.append(" ".join(cells))
    return "\n".join(lines)


def _align(key: str) -> str:
    return "<" if key == "variant" else ">"


def report(summaries: list[dict], found: dict, rows: list[dict], args: argparse.Namespace) -> str:
    lines = [table(summaries, args), ""]
    for name, by_c in found.items():
        per_c = ", ".join(f"C={c}: {ratio:.2f}" for c, ratio in by_c.items())
        lines.append(f"ratio {name.replace('_over_', ' / ')} (median of the rounds' ratios): {per_c}")
    lines.append("")
    for row in rows:
        verdict = "-" if row["met"] is None else "met" if row["met"] else "NOT met"
        lines.append(f"target {row['target']}: {row['shown']} -> {verdict}")
    return "\n".join(lines)


def shortfalls(results: list[Result]) -> list[str]:
    """What makes the run fail: webhooks acknowledged but not stored, failed logs, unprocessed runs, errors."""
    found = []
    for r in results:
        where = f"round {r.round}, C={r.concurrency}, {r.variant}"
        if r.lost:
            found.append(
                f"{where}: {r.lost} acknowledged webhooks NOT stored as messages ({r.inbound_messages} "
                f"stored for {r.acknowledged} 2xx answers)"
            )
        if (r.logs_by_status or {}).get("failed"):
            found.append(f"{where}: {r.logs_by_status['failed']} webhook logs FAILED")
        if r.processed_after_last_ack_s is None:
            found.append(f"{where}: NOT all processed within the timeout")
        if r.errors:
            found.append(f"{where}: errors {r.errors}")
    return found


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--concurrency",
        type=lambda v: [int(c) for c in v.split(",")],
        default=[50, 300],
        help="connections wrk keeps busy, comma-separated (default 50,300)",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds of wrk per run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per variant and concurrency (default 3)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--instances", type=int, choices=[1, 2], default=1, help="2: two processes per variant behind HAProxy"
    )
    parser.add_argument(
        "--tabs", type=int, default=0, help="agent tabs for the 'with tabs' variants, at the first concurrency"
    )
    parser.add_argument(
        "--tab-layouts",
        type=lambda v: v.split(","),
        default=["tabs", "windows"],
        help="with --tabs: 'tabs' (one window: all but one tab in the background), 'windows' (each "
        "in view), or both: tabs,windows (default)",
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait until all are processed")
    parser.add_argument("--keep-data", action="store_true", help="keep each run's folder (data and logs)")
    parser.add_argument("--json", type=Path, help="also write every run, the medians and the verdicts here")
    args = parser.parse_args(argv)
    if not set(args.tab_layouts) <= {"tabs", "windows"}:
        parser.error("--tab-layouts takes tabs, windows or tabs,windows")
    if min(args.concurrency) < 2 or args.duration < 1 or args.rounds < 1 or args.tabs < 0:
        parser.error("--concurrency must be at least 2 (wrk -t2), --duration 1, --rounds 1, --tabs 0")
    if args.instances == 2 and args.database == "sqlite":
        parser.error("--instances 2 needs --database postgresql (instances share one database)")
    if args.tabs and args.instances == 2:
        parser.error("--tabs runs with one instance")
    if WRK is None:
        parser.error("wrk is not installed: apt-get install -y wrk")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the servers and drop the data on SIGTERM too
    results = run_rounds(args)
    summaries = summarize(results)
    found = ratios(results)
    rows = verdicts(summaries, found)
    print(report(summaries, found, rows, args))
    problems = shortfalls(results)
    for problem in problems:
        print(f"!!! {problem}", file=sys.stderr)
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k not in ("json",)}
        args.json.write_text(
            json.dumps(
                {
                    "settings": settings,
                    "summaries": summaries,
                    "ratios": found,
                    "verdicts": rows,
                    "problems": problems,
                    "runs": [asdict(r) for r in results],
                },
                indent=2,
                default=str,
            )
        )
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
