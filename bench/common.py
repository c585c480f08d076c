"""What the benchmarks share: the admin they sign in as, a ChatHub of their own on a free 127.0.0.1 port, a
headless Chromium signed in to it, process CPU time and percentiles, and bench/load.py's webhook senders. Each
bench imports from here, never from another bench.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python bench/NAME.py`: this folder is on the path, the project is not
    sys.path.insert(0, str(ROOT))

from bench.health import answers_health  # noqa: E402

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench-password-1"
HEADLESS_CHROME_ARGS = (  # the flags the tests use too
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)
CHROME_ARGS = [*HEADLESS_CHROME_ARGS, "--window-size=1280,900"]


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def own_server(
    args: argparse.Namespace, *, data_dir: Path | None = None, command: list[str] | None = None, label: str = "server"
):
    """`python main.py` (or `command`) on a free 127.0.0.1 port with a temporary data folder, or `data_dir`
    (kept); stopped on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="chathub-bench-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATHUB_") and k != "PYTEST_CURRENT_TEST"}
    env.update(
        CHATHUB_DATA_DIR=str((data_dir or workdir / "data").resolve()),
        CHATHUB_HOST="127.0.0.1",
        CHATHUB_PORT=str(port),
        CHATHUB_ADMIN_EMAIL=BENCH_EMAIL,
        CHATHUB_ADMIN_PASSWORD=BENCH_PASSWORD,
    )
    env.update(getattr(args, "server_env", {}))  # what a bench needs set on its server
    log_path = workdir / "server.log"
    command = command or [sys.executable, str(ROOT / "main.py")]
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(command, cwd=workdir, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
            if answers_health(url):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer within 60 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        args.url, args.email, args.password, args.token = url, BENCH_EMAIL, BENCH_PASSWORD, None
        args.server_pid = server.pid
        print(f"{label}: pid {server.pid} on {url}, data in {data_dir or workdir}", file=sys.stderr)
        yield server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if getattr(args, "keep_data", False):
            print(f"{label} data and log kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in CHROME_ARGS:
        options.add_argument(argument)
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"), options=options)


def sign_in(driver: webdriver.Chrome, url: str) -> None:
    driver.get(f"{url}/signin")
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "input[type=email]"))
    driver.find_element(By.CSS_SELECTOR, "input[type=email]").send_keys(BENCH_EMAIL)
    driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(BENCH_PASSWORD + "\n")
    WebDriverWait(driver, 20).until(lambda d: d.current_url.rstrip("/") == url)


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

    bench/load.py's senders post this way, over plain asyncio streams, rather than with httpx: the load
    generator shares the server's two cores, and through httpx it spent about 0.8 ms of CPU per request; its
    event loop then lagged so far behind that the latencies it recorded were mostly its own. Where the
    generator must not be the bottleneck (bench/ingest.py), wrk sends instead: a Python sender on these
    2 cores tops out near 1,000 requests/s and takes a core from the server."""

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
