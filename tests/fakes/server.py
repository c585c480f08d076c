"""A fake provider: a real HTTP server on 127.0.0.1 that records every request and answers like the
provider would. Each provider's fake (tests/fakes/telegram.py, …) subclasses `FakeProvider`, adds its
routes to `self.app` in `add_routes`, and answers from `self.script` when a test queued a response.

    with FakeTelegram() as fake:             # serving on fake.base_url in a background thread
        fake.script.queue("sendMessage", 429, {...})   # the next sendMessage answers this instead
        ...
        fake.requests_to("sendMessage")[0].json
        fake.latency["sendMessage"] = 1.0          # every sendMessage is answered a second late
        fake.hold("sendMessage")                   # ... or not at all until fake.release("sendMessage")
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    name: str  # the route's short name, e.g. "sendMessage"

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, list[str]]:
        """Fields of an application/x-www-form-urlencoded body (every value, in order)."""
        return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class ScriptedResponse:
    status: int
    body: Any = None  # dict/list -> JSON; bytes -> raw
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (for timeouts)

    def to_response(self) -> Response:
        if isinstance(self.body, (bytes, str)):
            return Response(self.body, status_code=self.status, headers=self.headers)
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


class Script:
    """Responses queued per route name; a route answers its normal way when nothing is queued."""

    def __init__(self) -> None:
        self._queued: dict[str, deque[ScriptedResponse]] = defaultdict(deque)
        self._lock = threading.Lock()

    def queue(
        self,
        name: str,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        with self._lock:
            for _ in range(times):
                self._queued[name].append(ScriptedResponse(status, body, headers or {}, delay))

    def next_for(self, name: str) -> ScriptedResponse | None:
        with self._lock:
            queued = self._queued.get(name)
            return queued.popleft() if queued else None


class FakeProvider:
    def __init__(self) -> None:
        self.app = FastAPI()
        self.requests: list[RecordedRequest] = []
        self.script = Script()
        self.latency: dict[str, float] = {}  # route name -> seconds each request waits before its answer
        self._holds: dict[str, threading.Event] = {}
        self.port = _free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.add_routes()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_routes(self) -> None:
        """Subclasses add their routes here; each route calls `await self.record(request, name)` first and
        returns `scripted` when it is not None."""

    async def record(self, request: Request, name: str) -> ScriptedResponse | None:
        body = await request.body()
        self.requests.append(
            RecordedRequest(
                request.method,
                request.url.path,
                dict(request.query_params),
                {k.lower(): v for k, v in request.headers.items()},
                body,
                name,
            )
        )
        if (gate := self._holds.get(name)) is not None:
            await asyncio.to_thread(gate.wait)
        scripted = self.script.next_for(name)
        delay = (scripted.delay if scripted is not None else 0.0) or self.latency.get(name, 0.0)
        if delay:
            await asyncio.sleep(delay)
        return scripted

    def hold(self, name: str) -> None:
        """Requests to this route arrive and are recorded, then wait unanswered until `release(name)`."""
        self._holds.setdefault(name, threading.Event())

    def release(self, name: str) -> None:
        gate = self._holds.pop(name, None)
        if gate is not None:
            gate.set()

    def requests_to(self, name: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.name == name]

    def start(self) -> FakeProvider:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name=type(self).__name__)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{type(self).__name__} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        for name in list(self._holds):
            self.release(name)
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
