"""The HAProxy recipe (deploy/haproxy.cfg, as docs/operations.md shows it) in front of real instances: a browser
stays on the instance that served its first page, and moves when that instance stops."""

from __future__ import annotations

import re
import signal

import httpx

from tests.helpers.haproxy import RECIPE, running_haproxy
from tests.helpers.instances import instances_started_in_turn

OPERATIONS = RECIPE.parents[1] / "docs" / "operations.md"
STICKY_COOKIE = "chathub_instance"


def test_the_operations_guide_shows_the_haproxy_recipe_the_tests_run():
    shown = re.findall(r"```haproxy\n(.*?)```", OPERATIONS.read_text(), flags=re.DOTALL)

    assert shown == [RECIPE.read_text()]


def test_the_balancer_keeps_a_browser_on_one_instance_and_moves_it_when_that_one_stops(tmp_path, empty_postgres):
    with (
        instances_started_in_turn(tmp_path, empty_postgres, count=2) as instances,
        running_haproxy(tmp_path, [instance.url for instance in instances]) as balancer,
    ):
        first_pages = [httpx.get(f"{balancer.url}/signin", timeout=10) for _ in range(2)]
        assigned = [page.cookies[STICKY_COOKIE] for page in first_pages]
        browser = httpx.Client(base_url=balancer.url, cookies=first_pages[0].cookies, timeout=10)
        later_pages = [browser.get("/signin") for _ in range(5)]

        instances[0 if assigned[0] == "a" else 1].stop(signal.SIGTERM)
        moved = _get_as_a_browser(browser, "/signin")
        browser.close()

    assert sorted(assigned) == ["a", "b"]  # new browsers are spread over the instances
    assert all(page.status_code == 200 and STICKY_COOKIE not in page.cookies for page in later_pages)
    assert moved.status_code == 200
    assert moved.cookies[STICKY_COOKIE] not in (assigned[0], "c")


def _get_as_a_browser(client: httpx.Client, path: str) -> httpx.Response:
    """A GET as a browser sends it: once more, on a new connection, when the kept-alive one is closed without an
    answer. HAProxy (Debian's 2.6.12-1+deb12u4) closes it so when the request met its reused connection to the
    instance that stopped, for the client to retry."""
    try:
        return client.get(path)
    except httpx.RemoteProtocolError:
        return client.get(path)
