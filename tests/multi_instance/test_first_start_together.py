"""Two instances started together on an empty PostgreSQL database: one runs the migrations and seeds the first
admin and the simulator channel while the other waits for it (an advisory lock); both then serve."""

from __future__ import annotations

from pathlib import Path

import httpx

from bench.crash import EMAIL, sign_in
from tests.helpers import postgres
from tests.helpers.instances import Instances


async def test_two_instances_starting_together_on_an_empty_database_both_serve_with_one_admin_and_one_simulator(
    tmp_path: Path, empty_postgres: str
):
    instances = Instances(tmp_path, empty_postgres, 2)
    try:
        instances.launch_all()
        for instance in instances:
            async with httpx.AsyncClient(base_url=instance.url, timeout=30) as http:
                assert (await http.get("/healthz")).status_code == 200
                assert await sign_in(http)
        logs = [instance.log_tail(10**8) for instance in instances]
    finally:
        instances.stop_all()

    with postgres.connect(empty_postgres) as connection:
        agents = connection.execute("SELECT email, password_hash FROM agent").fetchall()
        simulators = connection.execute("SELECT COUNT(*) FROM channel WHERE type = 'simulator'").fetchone()[0]
        versions = connection.execute("SELECT COUNT(*) FROM alembic_version").fetchone()[0]
    assert [email for email, _ in agents] == [EMAIL]
    assert (simulators, versions) == (1, 1)
    assert sum(f"Created the first admin {EMAIL}" in log for log in logs) == 1
    password_hash = agents[0][1]
    assert not any(password_hash in log or password_hash.split("$")[-1] in log for log in logs)
