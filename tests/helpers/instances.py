"""Several ChatHub processes (`python main.py`) on one PostgreSQL database, as an operator runs them behind a
load balancer: each with its own port and data folder, all with the same secret key and database."""

from __future__ import annotations

import secrets
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.crash import EMAIL, PASSWORD, ChatHubProcess

__all__ = ["EMAIL", "PASSWORD", "Instances", "running_instances"]


class Instances:
    """N instances named a, b, c ... under `root`; `launch_all` starts them together (no one waits for another)."""

    def __init__(self, root: Path, database_url: str, count: int, env: dict[str, str] | None = None) -> None:
        self.secret_key = secrets.token_urlsafe(32)
        shared = {"CHATHUB_DATABASE_URL": database_url, "CHATHUB_SECRET_KEY": self.secret_key, **(env or {})}
        self.processes: list[ChatHubProcess] = []
        for name in "abcdefgh"[:count]:
            data_dir = root / name / "data"
            data_dir.mkdir(parents=True)
            self.processes.append(ChatHubProcess(data_dir, shared))

    def __getitem__(self, index: int) -> ChatHubProcess:
        return self.processes[index]

    def __iter__(self) -> Iterator[ChatHubProcess]:
        return iter(self.processes)

    def launch_all(self, timeout: float = 90.0) -> list[float]:
        """Start every instance at once and wait for all; the seconds each took to answer /healthz."""
        for process in self.processes:
            process.launch()
        return [process.wait_ready(timeout) for process in self.processes]

    def stop_all(self, sig: signal.Signals = signal.SIGTERM) -> None:
        for process in self.processes:
            process.send(sig)
        for process in self.processes:
            process.stop(sig)


@contextmanager
def running_instances(root: Path, database_url: str, count: int = 2, env: dict[str, str] | None = None):
    instances = Instances(root, database_url, count, env)
    try:
        instances.launch_all()
        yield instances
    finally:
        instances.stop_all()


@contextmanager
def instances_started_in_turn(root: Path, database_url: str, count: int = 2, env: dict[str, str] | None = None):
    """Like `running_instances`, but each starts once the one before answers (the first prepares the database):
    for tests about what happens after start-up."""
    instances = Instances(root, database_url, count, env)
    try:
        for process in instances:
            process.start(timeout=90.0)
        yield instances
    finally:
        instances.stop_all()
