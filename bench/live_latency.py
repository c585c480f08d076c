"""Live latency benchmark: how long from a webhook's POST until its bubble is in an agent's open thread.

    python bench/live_latency.py --start-server -n 200            # one command: own server, temp data
    python bench/live_latency.py --start-server -n 200 --tabs 20  # the same with 20 other agent tabs open

A real headless Chromium (Debian's chromium + chromium-driver) holds the thread open; a MutationObserver in
the page stamps the moment each message's text appears (performance.timeOrigin + now, the same clock as
time.time() on this machine). Messages are posted one at a time, each after the previous one showed.
Prints p50/p90/p99/max in ms. Only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid

import httpx
from common import BENCH_EMAIL, BENCH_PASSWORD, browser, own_server, percentile, sign_in
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

OBSERVER_JS = """
window.__seen = {};
new MutationObserver((mutations) => {
  const now = performance.timeOrigin + performance.now();
  for (const mutation of mutations) {
    for (const node of mutation.addedNodes) {
      const element = node.nodeType === 1 ? node : node.parentElement;
      if (!element || !(element.closest('.chat-bubble') || element.querySelector('.chat-bubble'))) continue;
      for (const token of (element.textContent.match(/lat-[0-9a-f]{10}/g) || []))
        if (!(token in window.__seen)) window.__seen[token] = now;
    }
  }
}).observe(document.body, {childList: true, subtree: true, characterData: true});
"""


def open_other_tabs(driver: webdriver.Chrome, url: str, count: int) -> None:
    """Other agents' tabs: inboxes and the same thread, all subscribed to the bus."""
    for number in range(count):
        driver.switch_to.new_window("tab")
        driver.get(f"{url}/conversations/1" if number % 2 else f"{url}/")
    WebDriverWait(driver, 30).until(lambda d: "ChatHub" in d.title)


def measure(url: str, n: int, tabs: int, sender: str) -> list[float]:
    http = httpx.Client(base_url=url, timeout=10)
    http.post("/webhooks/simulator", json={"from": sender, "message": "warm-up", "message_id": f"warm-{sender}"})
    time.sleep(1)
    others = browser() if tabs else None
    agent = browser()
    try:
        if others:
            sign_in(others, url)
            open_other_tabs(others, url, tabs)
        sign_in(agent, url)
        conversation_id = http.get("/api/v1/conversations", headers=_auth(http)).json()["items"][0]["id"]
        agent.get(f"{url}/conversations/{conversation_id}")
        WebDriverWait(agent, 20).until(lambda d: "warm-up" in d.find_element(By.TAG_NAME, "body").text)
        agent.execute_script(OBSERVER_JS)
        latencies = []
        for _ in range(n):
            text = f"lat-{uuid.uuid4().hex[:10]}"
            posted = time.time() * 1000
            http.post("/webhooks/simulator", json={"from": sender, "message": text, "message_id": text})
            seen = WebDriverWait(agent, 10, poll_frequency=0.005).until(
                lambda d, text=text: d.execute_script(f"return window.__seen[{json.dumps(text)}]")
            )
            latencies.append(seen - posted)
        return latencies
    finally:
        agent.quit()
        if others:
            others.quit()


def _auth(http: httpx.Client) -> dict[str, str]:
    token = http.post("/api/v1/auth/login", json={"email": BENCH_EMAIL, "password": BENCH_PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def report(label: str, latencies: list[float]) -> str:
    values = sorted(latencies)
    return (
        f"{label:<28} n={len(values):<4} p50={percentile(values, 50):7.1f} ms  p90={percentile(values, 90):7.1f} ms"
        f"  p99={percentile(values, 99):7.1f} ms  max={values[-1]:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--start-server", action="store_true", help="start python main.py on a free port")
    parser.add_argument("-n", type=int, default=200, help="messages per run")
    parser.add_argument("--tabs", type=int, default=None, help="only this many other tabs (default: 0 then 20)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    args.keep_data, args.token = False, None
    runs = [args.tabs] if args.tabs is not None else [0, 20]
    results = {}

    def run_all() -> None:
        for tabs in runs:
            results[f"{tabs} other tabs"] = measure(args.url, args.n, tabs, sender=f"+1999{tabs:04d}")
            print(report(f"{tabs} other agent tabs open", results[f"{tabs} other tabs"]), flush=True)

    if args.start_server:
        with own_server(args):
            run_all()
    else:
        run_all()
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {k: {"p50": percentile(sorted(v), 50), "p99": percentile(sorted(v), 99)} for k, v in results.items()},
                out,
                indent=2,
            )


if __name__ == "__main__":
    sys.exit(main())
