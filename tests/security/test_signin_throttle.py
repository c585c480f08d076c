"""Sign-in throttling: after 5 failures for one email (or 20 from one address) within 15 minutes, sign-in is
refused for a while — on the page with a sentence, on the API with 429 and Retry-After — even with the
right password. A success clears the email's failures."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from nicegui.testing import User

from chathub.services import throttle
from tests.helpers.app import ADMIN_EMAIL, ADMIN_PASSWORD, running_app
from tests.helpers.waiting import eventually

RIGHT = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
WRONG = {"email": ADMIN_EMAIL, "password": "Wrong-pass-9"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(throttle.sign_ins(), "clock", fake)  # the started app's: ask for `client`/`user` first
    return fake


def from_address(ip: str) -> httpx.AsyncClient:
    """A client whose requests come from `ip` (the app sees it as request.client.host)."""
    from chathub import app as chathub_app  # what uvicorn serves: the API, with the pages mounted under it

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(chathub_app.http_app, client=(ip, 40000)), base_url="http://test"
    )


async def login_status(http: httpx.AsyncClient, credentials: dict[str, str]) -> int:
    return (await http.post("/api/v1/auth/login", json=credentials)).status_code


async def test_api_refuses_the_right_password_with_429_after_five_failures_until_the_window_passes(client, clock):
    assert [await login_status(client, WRONG) for _ in range(5)] == [401] * 5

    refused = await client.post("/api/v1/auth/login", json=RIGHT)

    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "900"
    assert refused.json() == {"detail": "too many failed sign-ins: try again in 15 minutes"}
    assert "token" not in refused.json()
    clock.now += 600
    later = await client.post("/api/v1/auth/login", json=RIGHT)
    assert (later.status_code, later.headers["retry-after"]) == (429, "300")
    clock.now += 301
    assert await login_status(client, RIGHT) == 200


async def test_a_success_clears_the_emails_failures(client, clock):
    assert [await login_status(client, WRONG) for _ in range(4)] == [401] * 4
    assert await login_status(client, RIGHT) == 200

    assert [await login_status(client, WRONG) for _ in range(4)] == [401] * 4
    assert await login_status(client, RIGHT) == 200


async def test_an_email_locked_from_one_address_is_locked_from_every_address(client, clock):
    async with from_address("203.0.113.7") as attacker, from_address("198.51.100.20") as office:
        assert [await login_status(attacker, WRONG) for _ in range(5)] == [401] * 5
        assert await login_status(office, RIGHT) == 429


async def test_one_address_guessing_many_emails_is_refused_after_twenty_failures(client, clock):
    async with from_address("203.0.113.7") as attacker, from_address("198.51.100.20") as office:
        guesses = [{"email": f"user{i}@example.com", "password": "Guess-123"} for i in range(20)]
        assert [await login_status(attacker, guess) for guess in guesses] == [401] * 20

        assert await login_status(attacker, RIGHT) == 429  # the right password, from that address
        assert await login_status(office, RIGHT) == 200  # the admin elsewhere is not locked out


async def test_a_burst_of_parallel_guesses_gets_no_more_than_five_password_checks(client, clock):
    statuses = await asyncio.gather(*(login_status(client, WRONG) for _ in range(30)))

    assert sorted(statuses) == [401] * 5 + [429] * 25


async def test_a_restart_keeps_counting_failed_sign_ins():
    async with running_app() as http:
        assert [await login_status(http, WRONG) for _ in range(5)] == [401] * 5
        assert await login_status(http, RIGHT) == 429
    async with running_app() as http:  # the counts are in the database
        assert await login_status(http, RIGHT) == 429


async def _try_page_sign_in(user: User, password: str) -> None:
    """Type and click; returns once the attempt was answered (a refused one empties the password field)."""
    user.find("Email").clear().type(ADMIN_EMAIL)
    (field,) = user.find("Password").clear().type(password).elements
    user.find(marker="sign-in").click()
    await eventually(lambda: _answered(user, field), timeout=20)


async def _answered(user: User, field) -> bool:
    try:
        user.find(marker="sign-in")
    except AssertionError:
        return True  # signed in: the form has gone
    return field.value == ""


async def test_sign_in_page_refuses_after_five_failures_with_a_clear_message(user: User, clock):
    await user.open("/signin")
    for _ in range(5):
        await _try_page_sign_in(user, "Wrong-pass-9")
        await user.should_see("Wrong email or password.")

    await _try_page_sign_in(user, ADMIN_PASSWORD)
    await user.should_see("Too many failed sign-ins: try again in 15 minutes.")
    await user.open("/customers")  # still a stranger
    await user.should_see("Answer every channel from one inbox.")

    clock.now += 15 * 60 + 1
    await _try_page_sign_in(user, ADMIN_PASSWORD)
    await user.should_see("Customers", retries=100)
    await user.should_not_see(marker="sign-in")


async def test_failures_on_the_page_and_the_api_count_together(user: User, clock):
    for _ in range(5):
        response = await user.http_client.post("/api/v1/auth/login", json=WRONG)
        assert response.status_code == 401
    await user.open("/signin")
    await _try_page_sign_in(user, ADMIN_PASSWORD)
    await user.should_see("Too many failed sign-ins", retries=50)
