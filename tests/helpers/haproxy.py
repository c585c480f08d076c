"""HAProxy from Debian's package, run with the recipe operators copy (deploy/haproxy.cfg, unchanged): only its
addresses differ, given through the environment variables the file reads."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.crash import free_port
from bench.health import answers_health

ROOT = Path(__file__).parents[2]
RECIPE = ROOT / "deploy" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")  # Debian puts it in sbin
SERVER_NAMES = "ABC"  # the recipe's servers a, b, c: CHATHUB_INSTANCE_A ...


class Balancer:
    def __init__(self, process: subprocess.Popen, url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def recipe_environment(bind: str, instance_urls: Sequence[str]) -> dict[str, str]:
    """The recipe's variables for these instances; a server without an instance points at a closed port."""
    addresses = [url.removeprefix("http://") for url in instance_urls]
    addresses += [f"127.0.0.1:{free_port()}" for _ in range(len(SERVER_NAMES) - len(addresses))]
    return {"CHATHUB_LB_BIND": bind, **{f"CHATHUB_INSTANCE_{n}": a for n, a in zip(SERVER_NAMES, addresses)}}


@contextmanager
def running_haproxy(folder: Path, instance_urls: Sequence[str]) -> Iterator[Balancer]:
    """HAProxy in the foreground on a free 127.0.0.1 port in front of these instances (at most three)."""
    if HAPROXY is None:
        pytest.fail("load-balancer tests need Debian's haproxy (apt-get install haproxy; .ci/run installs it)")
    port = free_port()
    env = {**os.environ, **recipe_environment(f"127.0.0.1:{port}", instance_urls)}
    log = folder / "haproxy.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(RECIPE)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    balancer = Balancer(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_it_answers(balancer)
        yield balancer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_it_answers(balancer: Balancer, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if balancer.process.poll() is not None:
            raise RuntimeError(f"haproxy exited with {balancer.process.returncode}: {balancer.log_tail()}")
        if answers_health(balancer.url):
            return
        time.sleep(0.1)
    raise RuntimeError(f"haproxy did not answer within {timeout:.0f} s: {balancer.log_tail()}")
