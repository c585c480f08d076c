"""Webhook ingest benchmark: post N simulator webhooks with concurrency C to a running ChatHub.

    python bench/ingest.py --start-server -n 5000 -c 50          # one command: own server, temp data
    python bench/ingest.py --url http://127.0.0.1:8080 -n 5000 -c 50 --email a@b.c --password ...

Prints webhooks/s (acknowledged), the acknowledgement latency p50/p99, errors by HTTP status and the time
until every webhook is processed (GET /healthz until `webhooks_waiting` is 0). With a token (or
--email/--password) it also counts webhook logs that ended `failed` and the conversations created.
Only talks to 127.0.0.1 / localhost: it is a load generator.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench-password-1"


@dataclass
class Result:
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
    failed_logs: int | None = None
    conversations: int | None = None
    client_cpu_ms_per_webhook: float = 0.0
    server_cpu_ms_per_webhook: float | None = None


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def payload(run: str, i: int, per_customer: int) -> dict:
    return {"from": f"bench-{run}-{i // per_customer:06d}", "name": f"Bench {run} customer {i // per_customer}",
            "message": f"bench message {i}", "type": "text", "message_id": f"bench-{run}-{i}",
            "timestamp": "2024-02-14T10:00:00Z"}


# One httpx pool scans its connections on every request: at 50 connections in one client the load
# generator spent ~6 ms CPU per request (vs ~1.2 ms at 10), on the same 2 cores as the server. So the
# senders share several small clients instead.
CONNECTIONS_PER_CLIENT = 10


async def post_all(url: str, run: str, n: int, concurrency: int, per_customer: int, result: Result) -> None:
    bodies = [json.dumps(payload(run, i, per_customer)).encode() for i in range(n)]
    headers = {"content-type": "application/json"}
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    next_index = 0

    async def sender(http: httpx.AsyncClient) -> None:
        nonlocal next_index
        while next_index < n:
            body = bodies[next_index]
            next_index += 1
            started = time.perf_counter()
            try:
                response = await http.post("/webhooks/simulator", content=body, headers=headers)
            except httpx.HTTPError as error:
                errors[type(error).__name__] += 1
                continue
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors[str(response.status_code)] += 1

    sizes = [min(CONNECTIONS_PER_CLIENT, concurrency - start)
             for start in range(0, concurrency, CONNECTIONS_PER_CLIENT)]
    clients = [httpx.AsyncClient(base_url=url, timeout=60.0, limits=httpx.Limits(
        max_connections=size, max_keepalive_connections=size)) for size in sizes]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(sender(http) for http, size in zip(clients, sizes) for _ in range(size)))
        result.send_seconds = time.perf_counter() - started
    finally:
        for http in clients:
            await http.aclose()
    result.accepted = n - sum(errors.values())
    result.webhooks_per_second = result.accepted / result.send_seconds
    result.ack_p50_ms = percentile(latencies, 50) * 1000
    result.ack_p99_ms = percentile(latencies, 99) * 1000
    result.ack_max_ms = max(latencies, default=0.0) * 1000
    result.errors = dict(errors)


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


async def bench(args: argparse.Namespace) -> Result:
    result = Result(n=args.n, concurrency=args.c, per_customer=args.per_customer)
    async with httpx.AsyncClient(base_url=args.url, timeout=60.0) as http:
        token = await api_token(http, args)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        (await http.get("/healthz")).raise_for_status()
        run, since = uuid.uuid4().hex[:8], time.time()
        server_cpu, client_cpu = cpu_seconds(args.server_pid), time.process_time()
        started = time.perf_counter()
        await post_all(args.url, run, args.n, args.c, args.per_customer, result)
        result.all_processed_seconds = await wait_processed(http, started, args.timeout)
        result.client_cpu_ms_per_webhook = (time.process_time() - client_cpu) * 1000 / args.n
        if server_cpu is not None:
            result.server_cpu_ms_per_webhook = (cpu_seconds(args.server_pid) - server_cpu) * 1000 / args.n
        if token:
            since_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since - 1))
            result.failed_logs = await count_items(http, "/api/v1/webhook-logs", headers,
                                                   status="failed", since=since_iso)
            result.conversations = await count_items(http, "/api/v1/conversations", headers, q=f"Bench {run} ")
    return result


def report(result: Result) -> str:
    processed = (f"{result.all_processed_seconds:.2f} s after the first request"
                 if result.all_processed_seconds is not None else "NOT within the timeout")
    lines = [
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
        lines.append(f"conversations:     {result.conversations} created "
                     f"(expected {-(-result.n // result.per_customer)})")
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def own_server(args: argparse.Namespace):
    """`python main.py` on a free 127.0.0.1 port with a temporary data folder; stopped on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="chathub-bench-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATHUB_") and k != "PYTEST_CURRENT_TEST"}
    env.update(CHATHUB_DATA_DIR=str(workdir / "data"), CHATHUB_HOST="127.0.0.1", CHATHUB_PORT=str(port),
               CHATHUB_ADMIN_EMAIL=BENCH_EMAIL, CHATHUB_ADMIN_PASSWORD=BENCH_PASSWORD)
    env.update(getattr(args, "server_env", {}))  # what a bench needs set on its server
    log_path = workdir / "server.log"
    command = [sys.executable, str(ROOT / "main.py")]
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(command, cwd=workdir, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer within 60 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        args.url, args.email, args.password, args.token = url, BENCH_EMAIL, BENCH_PASSWORD, None
        args.server_pid = server.pid
        print(f"server: pid {server.pid} on {url}, data in {workdir}", file=sys.stderr)
        yield server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if args.keep_data:
            print(f"server data and log kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="a running ChatHub (127.0.0.1 only)")
    parser.add_argument("-n", type=int, default=5000, help="webhooks to post (default 5000)")
    parser.add_argument("-c", type=int, default=50, help="concurrent requests (default 50)")
    parser.add_argument("--per-customer", type=int, default=10, help="messages per simulated customer")
    parser.add_argument("--token", help="API token, to check failed logs and conversations afterwards")
    parser.add_argument("--email", help="agent email, to sign in instead of --token")
    parser.add_argument("--password", help="agent password")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait until all are processed")
    parser.add_argument("--start-server", action="store_true",
                        help="start `python main.py` on a free port with a temporary data folder, then stop it")
    parser.add_argument("--keep-data", action="store_true", help="with --start-server: keep the temp folder")
    parser.add_argument("--server-pid", type=int, help="pid of the running server, to measure its CPU time")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    if args.n < 1 or args.c < 1 or args.per_customer < 1:
        parser.error("-n, -c and --per-customer must be at least 1")
    if not args.start_server and urlsplit(args.url).hostname not in LOCAL_HOSTS:
        parser.error("--url must point at 127.0.0.1 or localhost")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.start_server:
        with own_server(args):
            result = asyncio.run(bench(args))
    else:
        result = asyncio.run(bench(args))
    print(json.dumps(asdict(result)) if args.json else report(result))
    if result.errors or result.all_processed_seconds is None or result.failed_logs:
        sys.exit(1)


if __name__ == "__main__":
    main()
