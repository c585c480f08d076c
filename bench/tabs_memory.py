"""Tab churn benchmark: open and close N agent tabs in a real headless Chromium and watch the server's
memory and its bus subscriptions. Subscriptions must come back to where they were; memory should level off.

    python bench/tabs_memory.py --start-server -n 200

The server runs with CHATHUB_RECONNECT_SECONDS=3 so a closed tab is reaped 3 s after it goes (the default
keeps a dropped tab 120 s for catch-up). Prints, per round, open tabs, subscribers and the server's RSS.
Only talks to 127.0.0.1.
"""
from __future__ import annotations

import argparse
import time

import httpx
from selenium.webdriver.support.ui import WebDriverWait

from ingest import own_server
from live_latency import browser, sign_in


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="tabs to open and close in all")
    parser.add_argument("--batch", type=int, default=20, help="tabs open at once")
    parser.add_argument("--start-server", action="store_true", help="required: the bench reads the server's RSS")
    args = parser.parse_args()
    args.keep_data, args.token, args.url = False, None, ""
    args.server_env = {"CHATHUB_RECONNECT_SECONDS": "3"}
    with own_server(args) as server:
        httpx.post(f"{args.url}/webhooks/simulator", json={"from": "+15550001", "message": "hi", "message_id": "m1"})
        driver = browser()
        try:
            sign_in(driver, args.url)
            driver.get(f"{args.url}/customers")  # the tab that stays
            time.sleep(3)
            base = wait_reaped(args.url, 10**9)
            print(f"{'round':>5} {'tabs':>5} {'subscribers':>11} {'rss MiB':>8}   (baseline: "
                  f"{base['bus_subscribers']} subscribers, {rss_mib(server.pid):.1f} MiB)")
            home = driver.current_window_handle
            for round_number in range(args.n // args.batch):
                for number in range(args.batch):
                    driver.switch_to.new_window("tab")
                    driver.get(f"{args.url}/conversations/1" if number % 2 else f"{args.url}/")
                    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return window.did_handshake === true"))
                opened = health(args.url)
                for handle in [h for h in driver.window_handles if h != home]:
                    driver.switch_to.window(handle)
                    driver.close()
                driver.switch_to.window(home)
                closed = wait_reaped(args.url, base["bus_subscribers"])
                print(f"{round_number + 1:>5} {opened['open_tabs']:>5} {opened['bus_subscribers']:>11} "
                      f"{rss_mib(server.pid):>8.1f}   -> after closing: {closed['open_tabs']} tabs, "
                      f"{closed['bus_subscribers']} subscribers")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
