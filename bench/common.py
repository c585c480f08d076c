"""What the benchmarks share: the admin they sign in as, a ChatHub of their own on a free 127.0.0.1 port, a
headless Chromium signed in to it, process CPU time and percentiles. Each bench imports from here, never
from another bench.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

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
