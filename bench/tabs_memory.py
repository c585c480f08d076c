"""Memory benchmark: the server's RSS idle, with the inbox open, per additional agent tab, and after tab churn.

    python bench/tabs_memory.py --start-server -n 200                      # empty database
    python bench/tabs_memory.py --start-server -n 200 --data-dir /tmp/big  # the large inbox (bench/inbox_data.py)
    python bench/tabs_memory.py --start-server -n 200 --json memory.json

A real headless Chromium (Debian's chromium + chromium-driver) signs in and opens the inbox (the tab that
stays); then rounds of --batch tabs (inboxes and a thread, every one live on the bus) open and close until
N tabs have come and gone. Read from /proc: RSS after start (idle, no tab), with the inbox loaded, with
--batch more tabs open, and after every round once the closed tabs are reaped (the server runs with
CHATHUB_RECONNECT_SECONDS=3; the default keeps a dropped tab 120 s for catch-up). Per additional tab is
given twice: for the first round on the fresh server (it includes one-time warm-up: caches, the allocator's
high-water mark) and as the median of the later rounds, each over the previous round's closed figure (what
one more tab costs a server that has been running). Bus subscriptions must come back to where they were.
Only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from common import browser, own_server, sign_in
from selenium.webdriver.support.ui import WebDriverWait


@dataclass
class Result:
    database: str
    idle_mib: float = 0.0
    inbox_open_mib: float = 0.0
    batch: int = 0
    batch_open_mib: float = 0.0
    per_tab_mib: float = 0.0  # the first --batch tabs on a fresh server: includes its one-time warm-up
    per_tab_warm_mib: float | None = None  # median over the later rounds: what one more tab costs a running server
    after_first_batch_closed_mib: float = 0.0
    tabs_opened: int = 0
    after_churn_mib: float = 0.0
    churn_growth_mib: float = 0.0  # after all rounds, over the inbox-open figure
    churn_growth_percent_of_idle: float = 0.0
    growth_after_first_round_mib: float = (
        0.0  # after all rounds, over the first round's closed figure: a leak shows here
    )
    subscribers_baseline: int = 0
    subscribers_after: int = 0
    rounds: list[dict] = field(default_factory=list)


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def health(url: str) -> dict:
    return httpx.get(f"{url}/healthz", timeout=10).json()


def wait_reaped(url: str, baseline: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = health(url)
        if state["bus_subscribers"] <= baseline or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


def settle(pid: int, seconds: float = 2.0) -> float:
    """RSS once the server has been quiet for a moment."""
    time.sleep(seconds)
    return round(rss_mib(pid), 1)


def open_batch(driver, url: str, count: int) -> None:
    for number in range(count):
        driver.switch_to.new_window("tab")
        driver.get(f"{url}/conversations/1" if number % 2 else f"{url}/")
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.did_handshake === true"))


def close_others(driver, home: str) -> None:
    for handle in [h for h in driver.window_handles if h != home]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(home)


def report(result: Result) -> str:
    return "\n".join(
        [
            f"server RSS ({result.database})",
            f"{'idle, no tab open':<44} {result.idle_mib:8.1f} MiB",
            f"{'inbox open in one tab':<44} {result.inbox_open_mib:8.1f} MiB",
            f"{f'{result.batch} more agent tabs open':<44} {result.batch_open_mib:8.1f} MiB  "
            f"-> {result.per_tab_mib:.2f} MiB per additional tab (fresh server)",
            f"{'per additional tab, later rounds (median)':<44} "
            f"{'-' if result.per_tab_warm_mib is None else f'{result.per_tab_warm_mib:8.2f}'} MiB",
            f"{'after they closed (reaped)':<44} {result.after_first_batch_closed_mib:8.1f} MiB",
            f"{f'after {result.tabs_opened} tabs opened and closed':<44} {result.after_churn_mib:8.1f} MiB  "
            f"-> +{result.churn_growth_mib:.1f} MiB over the inbox-open figure "
            f"({result.churn_growth_percent_of_idle:.1f} % of idle; +{result.growth_after_first_round_mib:.1f} MiB "
            f"after the first round)",
            f"{'bus subscribers before / after':<44} {result.subscribers_baseline} / {result.subscribers_after}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="tabs to open and close in all")
    parser.add_argument("--batch", type=int, default=20, help="tabs open at once")
    parser.add_argument("--start-server", action="store_true", help="required: the bench reads the server's RSS")
    parser.add_argument("--data-dir", type=Path, help="serve this CHATHUB_DATA_DIR (kept) instead of an empty one")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not args.start_server:
        parser.error("--start-server is required: the bench reads the server's RSS")
    args.keep_data, args.token, args.url = False, None, ""
    args.server_env = {"CHATHUB_RECONNECT_SECONDS": "3"}
    result = Result(database=str(args.data_dir) if args.data_dir else "empty database", batch=args.batch)
    with own_server(args, data_dir=args.data_dir) as server:
        if args.data_dir is None:  # a conversation for the thread tabs
            httpx.post(
                f"{args.url}/webhooks/simulator", json={"from": "+15550001", "message": "hi", "message_id": "m1"}
            )
        result.idle_mib = settle(server.pid)
        driver = browser()
        try:
            sign_in(driver, args.url)  # lands on the inbox: the tab that stays
            WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.did_handshake === true"))
            base = wait_reaped(args.url, 10**9)
            result.subscribers_baseline = base["bus_subscribers"]
            result.inbox_open_mib = settle(server.pid)
            print(
                f"{'round':>5} {'tabs':>5} {'subscribers':>11} {'rss MiB':>8}   (baseline: "
                f"{base['bus_subscribers']} subscribers, {result.inbox_open_mib:.1f} MiB with the inbox open)",
                flush=True,
            )
            home = driver.current_window_handle
            for round_number in range(max(1, args.n // args.batch)):
                open_batch(driver, args.url, args.batch)
                opened = health(args.url)
                open_mib = settle(server.pid, 1.0)
                close_others(driver, home)
                closed = wait_reaped(args.url, base["bus_subscribers"])
                closed_mib = settle(server.pid, 1.0)
                result.tabs_opened += args.batch
                if round_number == 0:
                    result.batch_open_mib, result.after_first_batch_closed_mib = open_mib, closed_mib
                    result.per_tab_mib = round((open_mib - result.inbox_open_mib) / args.batch, 3)
                result.rounds.append(
                    {
                        "round": round_number + 1,
                        "open_tabs": opened["open_tabs"],
                        "subscribers": opened["bus_subscribers"],
                        "open_mib": open_mib,
                        "closed_mib": closed_mib,
                        "subscribers_after": closed["bus_subscribers"],
                    }
                )
                print(
                    f"{round_number + 1:>5} {opened['open_tabs']:>5} {opened['bus_subscribers']:>11} "
                    f"{open_mib:>8.1f}   -> after closing: {closed['open_tabs']} tabs, "
                    f"{closed['bus_subscribers']} subscribers, {closed_mib:.1f} MiB",
                    flush=True,
                )
            result.subscribers_after = health(args.url)["bus_subscribers"]
            result.after_churn_mib = settle(server.pid)
        finally:
            driver.quit()
    result.churn_growth_mib = round(result.after_churn_mib - result.inbox_open_mib, 1)
    result.growth_after_first_round_mib = round(result.after_churn_mib - result.after_first_batch_closed_mib, 1)
    warm = [
        (later["open_mib"] - earlier["closed_mib"]) / args.batch
        for earlier, later in zip(result.rounds, result.rounds[1:])
    ]
    result.per_tab_warm_mib = round(statistics.median(warm), 3) if warm else None
    result.churn_growth_percent_of_idle = round(100 * result.churn_growth_mib / result.idle_mib, 1)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2))


if __name__ == "__main__":
    main()
