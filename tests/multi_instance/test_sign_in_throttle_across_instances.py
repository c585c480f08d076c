"""The sign-in throttle counts every instance's failures: an attacker who spreads guesses over the instances behind
a load balancer gets no more of them than against one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.helpers import postgres
from tests.helpers.instances import EMAIL, PASSWORD, Instances

RIGHT = {"email": EMAIL, "password": PASSWORD}
WRONG = {"email": EMAIL, "password": "Wrong-pass-9"}


@pytest.fixture(scope="module")
def two_instances(postgres_cluster: postgres.Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instances]:
    """Two instances on one empty database, started one after the other (starting together is another test's)."""
    database_url = postgres_cluster.url("sign_in_throttle_instances")
    postgres.execute(database_url, f'CREATE DATABASE "{make_url(database_url).database}"')
    instances = Instances(tmp_path_factory.mktemp("instances"), database_url, 2)
    try:
        for instance in instances:
            instance.start()
        yield instances
    finally:
        instances.stop_all()
        postgres.drop(database_url)


@asynccontextmanager
async def clients(instances: Instances) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """One HTTP client per instance, as a balancer would spread one attacker's requests."""
    async with (
        httpx.AsyncClient(base_url=instances[0].url, timeout=60) as a,
        httpx.AsyncClient(base_url=instances[1].url, timeout=60) as b,
    ):
        yield a, b


async def test_five_failed_sign_ins_spread_over_two_instances_lock_both(two_instances: Instances):
    async with clients(two_instances) as (a, b):
        failures = [await http.post("/api/v1/auth/login", json=WRONG) for http in (a, b, a, b, a)]
        assert [response.status_code for response in failures] == [401] * 5

        refused = [await http.post("/api/v1/auth/login", json=RIGHT) for http in (a, b)]
        assert [response.status_code for response in refused] == [429, 429]
        assert refused[1].json() == {"detail": "too many failed sign-ins: try again in 15 minutes"}


async def test_a_burst_of_guesses_over_two_instances_gets_no_more_than_five_password_checks(two_instances: Instances):
    guess = {"email": "someone@example.com", "password": "Guess-123"}
    async with clients(two_instances) as (a, b):
        responses = await asyncio.gather(*(http.post("/api/v1/auth/login", json=guess) for http in (a, b) * 15))

    assert sorted(response.status_code for response in responses) == [401] * 5 + [429] * 25
