"""Issue 20's intake scenario on two ChatHub instances sharing one PostgreSQL database, against one instance as
the baseline, in the same run: webhooks from many senders (each sender's spread over the instances), then
ack latency, throughput, drain time and what the database holds. A throwaway PostgreSQL cluster is started on
127.0.0.1 (as the tests do) and each round gets an empty database.

    .venv/bin/python -m bench.instances --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.helpers import postgres
from tests.helpers.instances import Instances
from tests.helpers.intake_load import IntakeFigures, run_intake

MEDIANS = ["ack_p50_seconds", "ack_p99_seconds", "acks_per_second", "drain_seconds"]
TOTALS = ["logs_attempted_again", "messages_missing", "messages_repeated", "conversations_with_wrong_unread"]


def one_round(cluster: postgres.Cluster, instances: int, number: int, args: argparse.Namespace) -> IntakeFigures:
    database_url = cluster.url(f"bench_{instances}_{number}")
    postgres.execute(database_url, f'CREATE DATABASE "{make_url(database_url).database}"')
    try:
        with tempfile.TemporaryDirectory(prefix="chathub-instances-") as root:
            running = Instances(Path(root), database_url, instances)
            try:
                for process in running:
                    process.start()
                urls = [process.url for process in running]
                return asyncio.run(
                    run_intake(urls, database_url, f"r{number}", webhooks=args.webhooks, senders=args.senders)
                )
            finally:
                running.stop_all()
    finally:
        postgres.drop(database_url)


def summary(instances: int, rounds: list[IntakeFigures]) -> str:
    medians = [f"{name} {statistics.median(getattr(r, name) or 0 for r in rounds):g}" for name in MEDIANS]
    totals = [f"{name} {sum(getattr(r, name) for r in rounds)}" for name in TOTALS]
    return f"{instances} instance(s), {len(rounds)} rounds, medians: {', '.join(medians)}; totals: {', '.join(totals)}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--webhooks", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=50)
    args = parser.parse_args(argv)
    results: dict[int, list[IntakeFigures]] = {1: [], 2: []}
    with postgres.running_cluster() as cluster:
        for number in range(args.rounds):
            for instances in (1, 2):  # interleaved, so both see the same machine load
                figures = one_round(cluster, instances, number, args)
                results[instances].append(figures)
                print(f"round {number + 1}, {instances} instance(s): {figures.as_record()}", flush=True)
    for instances, rounds in results.items():
        print(summary(instances, rounds))


if __name__ == "__main__":
    main()
