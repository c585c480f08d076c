"""Slow request bodies, against the real server process (`python main.py` on 127.0.0.1) and raw sockets that
send their headers and then trickle the body a byte at a time, as a slowloris client does. The body must
arrive within CHATHUB_BODY_TIMEOUT_SECONDS (1 s here): then a 408 that closes the connection, a log line,
and for a webhook a rejected log row; meanwhile the server keeps answering /healthz, even when the tricklers
would otherwise take every file descriptor it may open."""

from __future__ import annotations

import asyncio
import os
import resource
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from bench.crash import EMAIL, PASSWORD, ChatHubProcess
from chathub.settings import SettingsError, load_settings
from tests.helpers.waiting import eventually

BODY_TIMEOUT = 1  # seconds: CHATHUB_BODY_TIMEOUT_SECONDS of the server under test
PATIENCE = 30.0  # seconds: far beyond the deadline; an answer later than this is no answer
DECLARED = 1000  # the Content-Length the tricklers announce and never reach
ROOM = 30  # connections the server may still open in the starvation test


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChatHubProcess]:
    process = ChatHubProcess(tmp_path / "data", {"CHATHUB_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT)})
    process.start()
    yield process
    process.stop()


class Trickler:
    """One raw connection: headers and the first bytes of the body, then one byte every half second until the
    server answers (or closes).

    A plain non-blocking socket, not asyncio streams: the server closes while a trickled byte is still unread, so
    its kernel answers with a reset, and a StreamReader that has seen the reset drops the answer it had already
    buffered. recv() hands out what arrived before the reset first."""

    def __init__(self, url: str, path: str, first_bytes: bytes) -> None:
        self.address = urlsplit(url)
        self.path, self.first_bytes = path, first_bytes
        self.sent = b""

    async def answer(self) -> bytes:
        """Everything the server sent until it closed or reset the connection."""
        loop = asyncio.get_running_loop()
        with socket.socket() as connection:
            connection.setblocking(False)
            await loop.sock_connect(connection, (self.address.hostname, self.address.port))
            await loop.sock_sendall(
                connection,
                f"POST {self.path} HTTP/1.1\r\nHost: {self.address.netloc}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {DECLARED}\r\n\r\n".encode()
                + self.first_bytes,
            )
            self.sent = self.first_bytes
            trickle = asyncio.create_task(self._trickle(connection))
            try:
                return await self._read_until_closed(connection)
            finally:
                trickle.cancel()

    @staticmethod
    async def _read_until_closed(connection: socket.socket) -> bytes:
        loop, received = asyncio.get_running_loop(), b""
        while True:
            try:
                chunk = await loop.sock_recv(connection, 65536)
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk

    async def _trickle(self, connection: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while len(self.sent) < DECLARED - 1:
            await asyncio.sleep(0.5)
            try:
                await loop.sock_sendall(connection, b" ")
            except OSError:  # closed or reset by the server: its answer is what counts
                return
            self.sent += b" "


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


async def test_a_trickled_webhook_body_is_answered_408_and_logged_while_healthz_answers(server):
    trickler = Trickler(server.url, "/webhooks/simulator", b'{"from": "+1555", "message": "slow')
    answer = asyncio.create_task(asyncio.wait_for(trickler.answer(), PATIENCE))
    async with httpx.AsyncClient(base_url=server.url, timeout=PATIENCE) as http:
        health = await http.get("/healthz")
        answered = await answer

        assert health.status_code == 200
        assert status_of(answered) == 408, answered
        head, _, body = answered.partition(b"\r\n\r\n")
        assert b"connection: close" in head.lower()
        assert b"did not arrive in time" in body
        token = (await http.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})).json()["token"]
        [entry] = (await http.get("/api/v1/webhook-logs", headers={"Authorization": f"Bearer {token}"})).json()["items"]
    assert (entry["status"], entry["http_status"]) == ("rejected", 408)
    assert "did not arrive in time" in entry["error"]
    assert "did not arrive in time" in server.log_tail()


async def test_an_api_body_that_does_not_arrive_is_answered_408(server):
    answered = await asyncio.wait_for(Trickler(server.url, "/api/v1/auth/login", b'{"email": ').answer(), PATIENCE)

    assert status_of(answered) == 408, answered
    assert b"did not arrive in time" in answered
    assert "POST '/api/v1/auth/login'" in server.log_tail()


async def test_trickling_clients_cannot_starve_healthz_of_file_descriptors(server):
    """With its file limit lowered, the server has room for ROOM more connections; more tricklers than that come.
    When it runs out, the event loop turns new connections away (libuv accepts and closes them), so /healthz is
    asked again until it answers: it can, once the tricklers' deadlines free their descriptors."""
    in_use = len(os.listdir(f"/proc/{server.process.pid}/fd"))
    _, hard = resource.prlimit(server.process.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(server.process.pid, resource.RLIMIT_NOFILE, (in_use + ROOM, hard))
    tricklers = [Trickler(server.url, "/api/v1/auth/login", b'{"email": ') for _ in range(ROOM + 20)]
    answers = [asyncio.create_task(asyncio.wait_for(trickler.answer(), PATIENCE)) for trickler in tricklers]

    async with httpx.AsyncClient(base_url=server.url, timeout=PATIENCE) as http:
        health = await eventually(lambda: healthy(http), timeout=PATIENCE, interval=0.2)

    assert health["status"] == "ok"
    statuses = [status_of(answer) for answer in await asyncio.gather(*answers)]
    assert set(statuses) == {408, 0}  # answered 408, or turned away while the server had no descriptor left
    assert statuses.count(408) >= ROOM // 2  # the room, less what the server itself opened meanwhile


async def healthy(http: httpx.AsyncClient) -> dict | None:
    try:
        response = await http.get("/healthz")
    except httpx.TransportError:  # turned away: no descriptor for this connection
        return None
    return response.json() if response.status_code == 200 else None


def test_a_body_timeout_of_zero_is_refused(monkeypatch, chathub_env):
    monkeypatch.setenv("CHATHUB_BODY_TIMEOUT_SECONDS", "0")

    with pytest.raises(SettingsError, match="CHATHUB_BODY_TIMEOUT_SECONDS"):
        load_settings()
