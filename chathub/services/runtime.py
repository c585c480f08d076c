"""What the running app shares between services: the settings, one HTTP client for providers, and the
background workers. Set up by `start()` at start-up and torn down by `stop()`."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from chathub.settings import Settings
from chathub.worker import Worker


@dataclass
class Runtime:
    settings: Settings | None = None
    http: httpx.AsyncClient | None = None
    # Requests to this very app, in-process: the simulator posts through the real webhook routes with it.
    loopback: httpx.AsyncClient | None = None
    workers: dict[str, Worker] = field(default_factory=dict)

    def wake(self, name: str) -> None:
        worker = self.workers.get(name)
        if worker is not None:
            worker.wake()


runtime = Runtime()


def settings() -> Settings:
    if runtime.settings is None:
        raise RuntimeError("ChatHub is not started")
    return runtime.settings


def start(app_settings: Settings, workers: list[Worker], asgi_app) -> None:
    runtime.settings = app_settings
    runtime.http = httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0), headers={"User-Agent": "ChatHub"})
    runtime.loopback = httpx.AsyncClient(transport=httpx.ASGITransport(asgi_app), base_url="http://chathub.internal")
    runtime.workers = {worker.name: worker for worker in workers}
    for worker in workers:
        worker.start()


async def stop_workers() -> None:
    for worker in runtime.workers.values():
        await worker.stop()


async def stop() -> None:
    await stop_workers()
    runtime.workers = {}
    for client in (runtime.http, runtime.loopback):
        if client is not None:
            await client.aclose()
    runtime.http = runtime.loopback = None
