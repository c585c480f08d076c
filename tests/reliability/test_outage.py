"""A provider outage, through the running app against a fake Twilio REST API on 127.0.0.1: Twilio answers
500s and hangs past ChatHub's HTTP timeout for a while, then recovers. Replies wait with growing gaps and go
out after the recovery; the tries stop at CHATHUB_MAX_ATTEMPTS and the message fails with the reason; a
failed message retried by hand goes out; and a retry scheduled before a restart (by the backoff or by
Twilio's Retry-After) goes out after it, not before its time, exactly once.

That a single 429 with Retry-After is honoured while the app keeps running is proven by
tests/routes/test_twilio_channel.py::test_rate_limiting_is_retried_after_twilios_wait; here it is the
restart angle (the wait is kept in the database, not in memory).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
import pytest

from chathub import db, process_state
from chathub.models import Message, MessageStatus, utcnow
from tests.fakes.twilio import FakeTwilio, twilio_error
from tests.helpers.app import login, running_app
from tests.helpers.waiting import eventually
from tests.routes.test_twilio_channel import conversation_with_a_customer

pytestmark = pytest.mark.usefixtures("https_public_url")  # Twilio signs, and calls back, the public URL

CLIENT_TIMEOUT = 0.5  # seconds; the app's provider client waits 15 s, far too long for a test
HANG = 2.0  # a scripted answer this late is a timeout for ChatHub
SERVER_ERROR = twilio_error(20500, "Internal Server Error", 500)
EPSILON = timedelta(milliseconds=5)  # SQLite keeps microseconds; leave room for rounding only


class TimedTwilio(FakeTwilio):
    """The fake Twilio, noting when each Messages.json request arrived (the app's clock: same process)."""

    def __init__(self) -> None:
        self.arrivals: list[datetime] = []
        super().__init__()

    async def record(self, request, name):
        if name == "messages":
            self.arrivals.append(utcnow())
        return await super().record(request, name)


@pytest.fixture
def fake():
    with TimedTwilio() as server:
        yield server


def short_provider_timeout() -> None:
    """ChatHub has no setting for its provider timeout (15 s read, 5 s connect); shorten it on the running
    app's one client, so a hanging Twilio is a timeout within the test."""
    process_state.current().http.timeout = httpx.Timeout(CLIENT_TIMEOUT)


async def stored(message_id: int) -> Message:
    async with db.read_session() as session:
        return await session.get(Message, message_id)


async def reply(client: httpx.AsyncClient, auth: dict, conversation: dict, text: str) -> int:
    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=auth, json={"content": text}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def api_message(client: httpx.AsyncClient, auth: dict, conversation_id: int, message_id: int) -> dict:
    items = (await client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=auth)).json()["items"]
    return next(m for m in items if m["id"] == message_id)


async def reaches(message_id: int, status: MessageStatus, timeout: float = 10.0) -> Message:
    async def check():
        row = await stored(message_id)
        return row if row.status == status else None

    return await eventually(check, timeout=timeout)


async def watch_attempts(message_id: int, until: MessageStatus, timeout: float) -> dict[int, Message]:
    """The message as it stood after each attempt (attempts -> row), until it reaches `until`."""
    seen: dict[int, Message] = {}
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        row = await stored(message_id)
        if row.attempts and row.attempts not in seen:
            seen[row.attempts] = row
        if row.status == until:
            return seen
        await asyncio.sleep(0.01)
    raise AssertionError(f"message {message_id} did not become {until.value} within {timeout} s: {seen}")


def sent_bodies(fake: FakeTwilio) -> list[str]:
    return [request.form["Body"][0] for request in fake.requests_to("messages")]


@asynccontextmanager
async def app_with(monkeypatch: pytest.MonkeyPatch, **settings: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict]]:
    """The running app with these CHATHUB_ settings, its provider timeout shortened, and an admin's auth."""
    for name, value in settings.items():
        monkeypatch.setenv(f"CHATHUB_{name.upper()}", value)
    async with running_app() as client:
        short_provider_timeout()
        yield client, await login(client)


async def test_replies_wait_longer_after_each_failure_and_go_out_once_twilio_recovers(fake, monkeypatch):
    base = 0.5
    async with app_with(monkeypatch, retry_base_seconds=str(base), max_attempts="5") as (client, auth):
        _, conversation = await conversation_with_a_customer(client, auth, fake)
        fake.script.queue("messages", 500, SERVER_ERROR)
        fake.script.queue("messages", 503, SERVER_ERROR | {"status": 503})
        fake.script.queue("messages", 201, {}, delay=HANG)  # an answer that comes too late: a timeout

        message_id = await reply(client, auth, conversation, "Your refund is on its way")
        after = await watch_attempts(message_id, until=MessageStatus.sent, timeout=15)

        assert sorted(after) == [1, 2, 3, 4]
        assert [after[n].status for n in (1, 2, 3)] == [MessageStatus.pending] * 3
        assert after[1].error == "Twilio had a server error (HTTP 500): Internal Server Error"
        assert after[2].error == "Twilio had a server error (HTTP 503): Internal Server Error"
        assert after[3].error == "Twilio could not be reached: ReadTimeout"
        sent = await stored(message_id)
        assert (sent.status, sent.attempts, sent.error) == (MessageStatus.sent, 4, None)
        assert sent.external_id.startswith("SM")
        shown = await api_message(client, auth, conversation["id"], message_id)
        assert (shown["status"], shown["attempts"], shown["error"]) == ("sent", 4, None)
        # four requests, all of them this reply, and only one for each attempt
        assert sent_bodies(fake) == ["Your refund is on its way"] * 4
        arrivals = fake.arrivals[-4:]
        waits = []
        for attempt in (1, 2, 3):
            scheduled = after[attempt].next_attempt_at
            waited = (scheduled - arrivals[attempt - 1]).total_seconds()  # from a try to the next one's time
            backoff = base * 2 ** (attempt - 1)
            took = CLIENT_TIMEOUT if attempt == 3 else 0.0  # the timed-out try itself lasted that long
            assert backoff + took - 0.05 <= waited <= backoff + took + 1.5, (attempt, waited)
            assert arrivals[attempt] >= scheduled - EPSILON, f"try {attempt + 1} went out before its time"
            waits.append(waited)
        assert waits[0] < waits[1] < waits[2], waits  # the wait grows with each failure


async def test_tries_stop_at_the_configured_cap_and_the_reply_fails_with_twilios_reason(fake, monkeypatch):
    async with app_with(monkeypatch, max_attempts="4") as (client, auth):  # not the default of 3
        _, conversation = await conversation_with_a_customer(client, auth, fake)
        fake.script.queue("messages", 500, SERVER_ERROR, times=2)
        fake.script.queue("messages", 201, {}, delay=HANG)
        fake.script.queue("messages", 500, SERVER_ERROR, times=10)  # still down when ChatHub gives up

        message_id = await reply(client, auth, conversation, "Are you still there?")
        await reaches(message_id, MessageStatus.failed)

        shown = await api_message(client, auth, conversation["id"], message_id)
        assert shown["status"] == "failed" and shown["attempts"] == 4
        assert shown["error"] == (
            "Twilio had a server error (HTTP 500): Internal Server Error (gave up after 4 attempts)"
        )
        await asyncio.sleep(1.0)  # many times the last backoff: nothing more is tried
        assert sent_bodies(fake) == ["Are you still there?"] * 4
        assert (await client.get("/healthz")).json()["outbound_pending"] == 0


async def test_a_failed_reply_retried_by_hand_goes_out_once_twilio_is_back(client, auth, fake):
    _, conversation = await conversation_with_a_customer(client, auth, fake)
    fake.script.queue("messages", 500, SERVER_ERROR, times=3)  # CHATHUB_MAX_ATTEMPTS defaults to 3
    message_id = await reply(client, auth, conversation, "Your parcel is at the depot")
    await reaches(message_id, MessageStatus.failed)
    assert len(fake.requests_to("messages")) == 3

    retried = await client.post(f"/api/v1/messages/{message_id}/retry", headers=auth)

    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"], retried.json()["error"]) == ("pending", 0, None)
    sent = await reaches(message_id, MessageStatus.sent)
    assert sent.attempts == 1 and sent.error is None and sent.external_id.startswith("SM")
    await asyncio.sleep(0.5)
    assert sent_bodies(fake) == ["Your parcel is at the depot"] * 4
    again = await client.post(f"/api/v1/messages/{message_id}/retry", headers=auth)
    assert again.status_code == 409 and "only failed outbound messages" in again.json()["detail"]


WAIT = 4  # seconds until the scheduled retry: longer than a stop and a start of the app


@pytest.mark.parametrize("outage", ["server error, then the backoff", "429 with Retry-After"])
async def test_a_retry_scheduled_before_a_restart_goes_out_after_it_on_time_and_once(fake, monkeypatch, outage):
    if outage == "429 with Retry-After":  # the backoff stays at conftest's 0.05 s: only Twilio's wait explains 4 s
        fake.script.queue(
            "messages", 429, twilio_error(20429, "Too Many Requests", 429), headers={"Retry-After": str(WAIT)}
        )
    else:
        monkeypatch.setenv("CHATHUB_RETRY_BASE_SECONDS", str(WAIT))
        fake.script.queue("messages", 500, SERVER_ERROR)

    async with running_app() as client:
        auth = await login(client)
        _, conversation = await conversation_with_a_customer(client, auth, fake)
        message_id = await reply(client, auth, conversation, "We will call you back")

        async def first_try_failed():
            row = await stored(message_id)
            return row if row.attempts == 1 else None

        waiting = await eventually(first_try_failed)
        assert waiting.status == MessageStatus.pending and waiting.error
        due = waiting.next_attempt_at
        assert due - fake.arrivals[-1] >= timedelta(seconds=WAIT) - EPSILON
    assert len(fake.requests_to("messages")) == 1

    async with running_app() as client:
        auth = await login(client)
        assert utcnow() < due - timedelta(seconds=0.5), "the restart took too long to show the wait is kept"
        while utcnow() < due - timedelta(seconds=0.1):  # up to its time, nothing goes out
            assert len(fake.requests_to("messages")) == 1
            await asyncio.sleep(0.05)
        sent = await reaches(message_id, MessageStatus.sent, timeout=WAIT + 5)
        await asyncio.sleep(1.0)  # a second send would have shown by now

        assert sent_bodies(fake) == ["We will call you back"] * 2
        assert fake.arrivals[-1] >= due - EPSILON
        assert sent.attempts == 2 and sent.error is None
        assert (await client.get("/healthz")).json()["outbound_pending"] == 0
