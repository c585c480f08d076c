"""Run every benchmark in a row and write the figures, the machine and the commands to docs/benchmarks.md.

    python bench/run_all.py --out bench-results --docs docs/benchmarks.md             # the real run (~35 min)
    python bench/run_all.py --out /tmp/smoke --docs docs/benchmarks.md --smoke --note "busy machine"

Each benchmark runs as its own process with --json into --out; the large-inbox fill is kept there
(`<out>/large-inbox-data`) and served again for the memory figures. The ingest bench runs three times: on
SQLite (with the agent-tabs variants), on PostgreSQL, and on PostgreSQL with two instances behind HAProxy.
--smoke uses small N everywhere (ingest: 2 s runs, 1 round) but the large inbox (which is the point); its
figures are marked as smoke figures in the document.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def run(command: list[str], log: Path) -> None:
    print("$ " + " ".join("python" if part == PYTHON else part for part in command), flush=True)
    started = time.monotonic()
    with open(log, "w") as out:
        completed = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    print(f"  exit {completed.returncode} after {time.monotonic() - started:.0f} s (log: {log})", flush=True)


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    ram = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
            or "?"
        )
    except OSError:
        commit = "?"
    return {
        "cores (nproc)": str(os.cpu_count()),
        "CPU": cpu,
        "RAM": f"{ram / 2**20:.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "NiceGUI": metadata.version("nicegui"),
        "Chromium": _chromium(),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _chromium() -> str:
    try:
        return (
            subprocess.run(
                ["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=30
            ).stdout.strip()
            or "?"
        )
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def fmt(value, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


INGEST_RUNS = {  # run_all step -> how its figures are titled
    "ingest": "SQLite, 1 instance",
    "ingest_pg": "PostgreSQL, 1 instance",
    "ingest_pg2": "PostgreSQL, 2 instances behind HAProxy",
}
INGEST_COLUMNS = (  # heading, summary key, format
    ("requests/s", "requests_per_second", ".0f"),
    ("ack p50 ms", "ack_p50_ms", ".1f"),
    ("ack p99 ms", "ack_p99_ms", ".1f"),
    ("ack max ms", "ack_max_ms", ".1f"),
    ("processed s after last ack", "processed_after_last_ack_s", ".2f"),
    ("server CPU ms/webhook", "server_cpu_ms_per_webhook", ".3f"),
    ("PostgreSQL CPU ms/webhook", "database_cpu_ms_per_webhook", ".3f"),
    ("HAProxy CPU ms/webhook", "balancer_cpu_ms_per_webhook", ".3f"),
    ("wrk cores", "generator_cores", ".2f"),
    ("browser cores", "browser_cores", ".2f"),
)


def ingest_section(data: dict | None, command: str, title: str) -> list[str]:
    lines = [f"### {title}", "", f"`{command}`", ""]
    if not data:
        return lines + ["(no result: see the log)", ""]
    settings = data["settings"]
    columns = [c for c in INGEST_COLUMNS if any(s.get(c[1]) is not None for s in data["summaries"])]
    lines += [
        f"wrk -t2 for {settings['duration']:g} s per run at each concurrency, {settings['rounds']} round(s); "
        "medians over rounds, every run on fresh servers.",
        "",
        "| variant | C | rounds | " + " | ".join(c[0] for c in columns) + " | errors | lost |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in columns) + " | ---: | ---: |",
    ]
    for s in data["summaries"]:
        cells = [fmt(s.get(key), spec) for _, key, spec in columns]
        errors = s["errors"] + s["unprocessed_runs"] + s["failed_logs"]
        lines.append(
            f"| {s['variant']} | {s['concurrency']} | {s['rounds']} | {' | '.join(cells)} | {errors} | "
            f"{fmt(s['lost'], 'd')} |"
        )
    lines.append("")
    for name, by_c in data["ratios"].items():
        per_c = ", ".join(f"{value:.2f} at C={c}" for c, value in by_c.items())
        lines.append(f"- **{name.replace('_over_', ' / ')}: {per_c}** (median of each round's ratio)")
    lines += [f"- **{problem}**" for problem in data.get("problems", [])]
    return lines + [""]


def ingest_sections(results: dict[str, dict | None], commands: dict[str, str]) -> list[str]:
    lines = [
        "## Ingest: webhooks against the stack's own limit",
        "",
        "wrk (C, 2 threads) posts simulator webhooks, each with its own message id, to a bare FastAPI route that "
        "commits one row per request before answering (bench/bare_route.py: the stack's limit for a durable "
        "ack) and to ChatHub, alternating; ChatHub's figures include processing (`processed`: seconds from "
        "wrk's exit until nothing waits). CPU per acknowledged webhook, from wrk's start until all is processed. "
        "`lost`: acknowledged webhooks with no stored message, counted in the database.",
        "",
    ]
    for name, title in INGEST_RUNS.items():
        lines += ingest_section(results.get(name), commands[name], title)
    return lines


MB_IN_MIB = 1e6 / 2**20  # the issue's memory targets are in MB, the benches measure MiB


def targets_section(
    ingest: dict[str, dict | None] | None, large: dict | None, memory_empty: dict | None, memory_large: dict | None
) -> list[str]:
    """Issues 7's and 22's targets against this run's figures: met or not is computed (for ingest by
    bench/ingest.py, into its JSON), never written by hand. `ingest` maps each ingest step to its JSON."""
    rows: list[tuple[str, str, bool | None]] = []

    def target(name: str, figure, shown: str, met) -> None:
        rows.append((name, "not measured" if figure is None else shown, None if figure is None else met))

    for name, title in INGEST_RUNS.items():
        data = (ingest or {}).get(name)
        for verdict in (data or {}).get("verdicts", []):
            rows.append((f"{verdict['target']} ({title})", verdict["shown"], verdict["met"]))
        if not data and name == "ingest":
            rows.append(("ingest: issue 22's targets (SQLite)", "not measured", None))
    for name, limit in (("lists", 100), ("thread", 150), ("search", 200)):
        cases = [case for case in (large or {}).get("cases", []) if case["target_ms"] == limit]
        worst = max(
            (max(v for v in (case["service_ms"], case["rest_ms"]) if v is not None) for case in cases), default=None
        )
        counted = f"{len(cases)} case{'' if len(cases) == 1 else 's'}"
        target(
            f"large inbox: {name} < {limit} ms ({counted})",
            worst,
            f"slowest {fmt(worst)} ms",
            worst is not None and worst < limit,
        )
    fill = (large or {}).get("fill_seconds")
    target("large inbox filled well under 2 minutes (< 60 s)", fill, f"{fmt(fill)} s", fill is not None and fill < 60)
    idle = (memory_empty or {}).get("idle_mib")
    target("idle < 150 MB", idle, f"{fmt(idle)} MiB", idle is not None and idle < 150 * MB_IN_MIB)
    for label, data in (("empty database", memory_empty), ("large inbox", memory_large)):
        per_tab = (data or {}).get("per_tab_mib")
        target(
            f"each additional tab < 1 MB ({label})",
            per_tab,
            f"{fmt(per_tab, '.2f')} MiB",
            per_tab is not None and per_tab < MB_IN_MIB,
        )
    for label, data in (("empty database", memory_empty), ("large inbox", memory_large)):
        growth = (data or {}).get("churn_growth_percent_of_idle")
        tabs = (data or {}).get("tabs_opened")
        target(
            f"within 10 % of idle after tabs open and close ({label}, {tabs or '?'} tabs)",
            growth,
            f"{fmt(growth)} %",
            growth is not None and growth <= 10,
        )
    lines = [
        "## Targets",
        "",
        "Issues 7's and 22's targets against the figures below (computed from this run). "
        "[bench/README.md](../bench/README.md) says what limits the ones this machine misses.",
        "",
        "| target | this run | met |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {name} | {shown} | {'-' if met is None else 'yes' if met else '**no**'} |" for name, shown, met in rows
    ]
    return lines + [""]


def large_section(data: dict | None, command: str) -> list[str]:
    lines = ["## Large inbox: 100k conversations, 1M messages", "", f"`{command}`", ""]
    if not data:
        return lines + ["(no result: see the log)", ""]
    c = data["counts"]
    fill = f"filled in {data['fill_seconds']:.1f} s" if data.get("fill_seconds") else "reused"
    lines += [
        f"{c['customers']:,} customers, {c['conversations']:,} conversations, {c['messages']:,} messages, "
        f"{data['database_mib']:.0f} MiB on disk; {fill}. Medians of {data['runs']} runs after a warm-up. "
        "Service: the function the page and the API call, timed in-process (server time; CPU: the process's "
        "CPU time). REST: the HTTP round trip on 127.0.0.1.",
        "",
        "| case | service ms | (CPU ms) | REST ms | target ms | met |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for case in data["cases"]:
        worst = max(v for v in (case["service_ms"], case["rest_ms"]) if v is not None)
        met = "" if case["target_ms"] is None else ("yes" if worst < case["target_ms"] else "**no**")
        lines.append(
            f"| {case['name']} | {fmt(case['service_ms'], '.2f')} | {fmt(case['service_cpu_ms'], '.2f')} | "
            f"{fmt(case['rest_ms'], '.2f')} | {fmt(case['target_ms'], '.0f')} | {met} |"
        )
    if data.get("server_rss_mib_after_rest") is not None:
        lines += [
            "",
            f"Server RSS on this database: {data['server_rss_mib_started']} MiB after start, "
            f"{data['server_rss_mib_after_rest']} MiB after the REST runs.",
        ]
    return lines + [""]


def memory_section(empty: dict | None, large: dict | None, commands: list[str]) -> list[str]:
    lines = ["## Memory", ""] + [f"`{command}`  " for command in commands] + [""]
    rows = [
        ("idle, no tab open (MiB)", "idle_mib"),
        ("inbox open in one tab (MiB)", "inbox_open_mib"),
        ("20 more tabs open (MiB)", "batch_open_mib"),
        ("per additional tab, first 20 on a fresh server (MiB)", "per_tab_mib"),
        ("per additional tab, later rounds, median (MiB)", "per_tab_warm_mib"),
        ("after they closed (MiB)", "after_first_batch_closed_mib"),
        ("tabs opened and closed", "tabs_opened"),
        ("after all of them (MiB)", "after_churn_mib"),
        ("growth over inbox-open (MiB)", "churn_growth_mib"),
        ("growth, % of idle", "churn_growth_percent_of_idle"),
        ("growth after the first round (MiB)", "growth_after_first_round_mib"),
    ]
    lines += ["| server RSS | empty database | large inbox (100k / 1M) |", "| --- | ---: | ---: |"]
    for label, key in rows:
        spec = {"per_tab_mib": ".2f", "per_tab_warm_mib": ".2f", "tabs_opened": "d"}.get(key, ".1f")
        values = [fmt(d.get(key), spec) if d else "-" for d in (empty, large)]
        lines.append(f"| {label} | {values[0]} | {values[1]} |")
    lines.append("")
    lines.append(
        "Targets: idle < 150 MB; each additional tab < 1 MB; after 200 tabs open and close, back within 10 % of idle."
    )
    return lines + [""]


def live_section(data: dict | None, command: str) -> list[str]:
    lines = ["## Live latency: webhook POST to bubble in an open thread", "", f"`{command}`", ""]
    if not data:
        return lines + ["(no result: see the log)", ""]
    lines += ["| other agent tabs | p50 ms | p99 ms |", "| --- | ---: | ---: |"]
    for label, values in data.items():
        lines.append(f"| {label} | {values['p50']:.1f} | {values['p99']:.1f} |")
    return lines + [""]


HOW_TO_RUN = """\
Every benchmark starts its own server (free 127.0.0.1 port, temporary data folder), prints a table and writes
JSON with `--json PATH`; [bench/README.md](../bench/README.md) says what each measures and how to read it. The
browser ones drive Debian's headless Chromium (`apt-get install chromium chromium-driver`); the ingest one
sends with wrk (`apt-get install wrk`) and, on PostgreSQL, starts a throwaway cluster (`postgresql-15`) and
HAProxy (`haproxy`).

Reproduce everything with one command (it writes this file):

```bash
.venv/bin/python bench/run_all.py --out bench-results --docs docs/benchmarks.md
```

or one benchmark at a time, with the exact commands under each table below:

```bash
.venv/bin/python bench/ingest.py --tabs 20                      # wrk at C=50 and 300: requests/s, ack p50/p99,
                                                                # processing lag, CPU: ChatHub vs a bare route
.venv/bin/python bench/ingest.py --database postgresql          # the same on PostgreSQL (--instances 2: two
                                                                # of each behind HAProxy)
.venv/bin/python bench/large_inbox.py --start-server            # 100k conversations, 1M messages: list,
                                                                # filters, a 10k thread, search; REST
.venv/bin/python bench/tabs_memory.py --start-server -n 200     # RSS idle, per tab, after 200 tabs
.venv/bin/python bench/live_latency.py --start-server -n 200    # POST -> bubble on an open thread, p50/p99,
                                                                # alone and with 20 other agent tabs open
```

Crash safety (not part of `run_all.py`): kill the server (SIGKILL, then a graceful SIGTERM) while 2,000
webhooks arrive from 50 senders and replies wait on a slow simulator, restart it on the same data, re-send what
got no 2xx, and count from the database: sent, acknowledged, stored, lost, duplicated, replies sent once:

```bash
.venv/bin/python bench/crash.py                   # -n 2000 -c 50 --replies 40; --json crash.json
```
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results", help="JSON, logs and the large fill")
    parser.add_argument("--docs", type=Path, help="write the markdown here (e.g. docs/benchmarks.md)")
    parser.add_argument("--smoke", action="store_true", help="small N (not the large inbox): a quick check")
    parser.add_argument("--note", default="", help="a line to put under the title (e.g. who ran it, and how busy)")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["ingest", "ingest_pg", "ingest_pg2", "large", "memory", "live"],
        help="steps to leave out (ingest: all three ingest steps)",
    )
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    duration, rounds, tabs_n, live_n = ("2", "1", 40, 30) if args.smoke else ("10", "3", 200, 200)
    bench = lambda name: str(ROOT / "bench" / name)  # noqa: E731
    large_data = out / "large-inbox-data"
    ingest = [PYTHON, bench("ingest.py"), "--concurrency", "50,300", "--duration", duration, "--rounds", rounds]
    commands = {
        "ingest": [*ingest, "--tabs", "20", "--json", str(out / "ingest.json")],
        "ingest_pg": [*ingest, "--database", "postgresql", "--json", str(out / "ingest_pg.json")],
        "ingest_pg2": [*ingest, "--database", "postgresql", "--instances", "2", "--json", str(out / "ingest_pg2.json")],
        "large": [
            PYTHON,
            bench("large_inbox.py"),
            "--start-server",
            "--data-dir",
            str(large_data),
            "--json",
            str(out / "large_inbox.json"),
        ],
        "memory": [
            PYTHON,
            bench("tabs_memory.py"),
            "--start-server",
            "-n",
            str(tabs_n),
            "--json",
            str(out / "memory_empty.json"),
        ],
        "memory_large": [
            PYTHON,
            bench("tabs_memory.py"),
            "--start-server",
            "-n",
            "100",
            "--data-dir",
            str(large_data),
            "--json",
            str(out / "memory_large.json"),
        ],
        "live": [
            PYTHON,
            bench("live_latency.py"),
            "--start-server",
            "-n",
            str(live_n),
            "--json",
            str(out / "live_latency.json"),
        ],
    }
    if large_data.exists() and "large" not in args.skip:
        shutil.rmtree(large_data)  # a fresh fill: its time is one of the figures
    for name, command in commands.items():
        if name in args.skip or name.split("_")[0] in args.skip:
            continue
        run(command, out / f"{name}.log")

    def shown(name: str) -> str:
        return " ".join(
            ".venv/bin/python"
            if part == PYTHON
            else os.path.relpath(part, ROOT)
            if part.startswith(str(ROOT))
            else part
            for part in commands[name]
        )

    lines = ["# Benchmarks", ""]
    if args.smoke or args.note:
        lines += [f"> {'**Smoke figures** (small N): ' if args.smoke else ''}{args.note}".rstrip(), ""]
    lines += [
        *HOW_TO_RUN.splitlines(),
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
    ]
    lines += [f"| {key} | {value} |" for key, value in info.items()]
    lines.append("")
    ingest_results = {name: load(out / f"{name}.json") for name in INGEST_RUNS}
    results = {name: load(out / f"{name}.json") for name in ("large_inbox", "memory_empty", "memory_large")}
    lines += targets_section(ingest_results, *results.values())
    lines += ingest_sections(ingest_results, {name: shown(name) for name in INGEST_RUNS})
    lines += large_section(results["large_inbox"], shown("large"))
    lines += memory_section(results["memory_empty"], results["memory_large"], [shown("memory"), shown("memory_large")])
    lines += live_section(load(out / "live_latency.json"), shown("live"))
    text = "\n".join(lines)
    print(text)
    if args.docs:
        args.docs.parent.mkdir(parents=True, exist_ok=True)
        args.docs.write_text(text)


if __name__ == "__main__":
    main()
