"""The sign-in throttle counts every instance's failures: an attacker who spreads guesses over the instances behind
a load balancer gets no more of them than against one."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.helpers.instances import EMAIL, PASSWORD, Instances

RIGHT = {"email": EMAIL, "password": PASSWORD}
WRONG = {"email": EMAIL, "password": "Wrong-pass-9"}


async def test_five_failed_sign_ins_spread_over_two_instances_lock_both(tmp_path: Path, empty_postgres: str):
    instances = Instances(tmp_path, empty_postgres, 2)
    try:
        for instance in instances:  # one after the other: starting together is another test's concern
            instance.start()
        async with (
            httpx.AsyncClient(base_url=instances[0].url) as a,
            httpx.AsyncClient(base_url=instances[1].url) as b,
        ):
            failures = [await http.post("/api/v1/auth/login", json=WRONG) for http in (a, b, a, b, a)]
            assert [response.status_code for response in failures] == [401] * 5

            refused = [await http.post("/api/v1/auth/login", json=RIGHT) for http in (a, b)]
            assert [response.status_code for response in refused] == [429, 429]
            assert refused[1].json() == {"detail": "too many failed sign-ins: try again in 15 minutes"}
    finally:
        instances.stop_all()
