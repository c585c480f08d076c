"""docs/benchmarks.md's targets table: whether a target is met comes from the run's figures."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))  # the bench's modules import each other by name

from run_all import targets_section  # noqa: E402  (bench/run_all.py)


def ingest(*, p99_met: bool, lag_met: bool) -> dict:
    """What bench/ingest.py writes: the verdicts are computed there (tests/bench/test_ingest.py)."""
    rows = [
        {"target": "ack p99 < 50 ms at C=50", "shown": "41.0 ms (baseline 30.0 ms)", "met": p99_met},
        {"target": "all processed ≤ 2 s after the last ack at C=300", "shown": "2.50 s", "met": lag_met},
    ]
    return {"ingest": {"verdicts": rows}, "ingest_pg": None, "ingest_pg2": {"verdicts": rows[:1]}}


def memory(*, idle: float, per_tab: float, growth: float) -> dict:
    return {"idle_mib": idle, "per_tab_mib": per_tab, "churn_growth_percent_of_idle": growth, "tabs_opened": 200}


def verdicts(*results) -> dict[str, str]:
    rows = [line.split(" | ") for line in targets_section(*results) if line.startswith("| ") and "---" not in line]
    return {cells[0].lstrip("| "): cells[2].rstrip(" |") for cells in rows[1:]}


def test_each_target_reads_met_or_not_from_the_figures():
    large = {
        "fill_seconds": 46.2,
        "cases": [
            {"target_ms": 100, "service_ms": 3.5, "rest_ms": 6.7},
            {"target_ms": 150, "service_ms": 9.9, "rest_ms": 151.0},
            {"target_ms": 200, "service_ms": 52.0, "rest_ms": None},
        ],
    }
    slow = verdicts(
        ingest(p99_met=False, lag_met=True),
        large,
        memory(idle=121.8, per_tab=0.52, growth=8.7),
        memory(idle=150.0, per_tab=0.96, growth=22.3),
    )
    assert slow["ack p99 < 50 ms at C=50 (SQLite, 1 instance)"] == "**no**"
    assert slow["all processed ≤ 2 s after the last ack at C=300 (SQLite, 1 instance)"] == "yes"
    assert slow["ack p99 < 50 ms at C=50 (PostgreSQL, 2 instances behind HAProxy)"] == "**no**"
    assert not any("PostgreSQL, 1 instance" in name for name in slow)  # that step did not run
    assert slow["large inbox: thread < 150 ms (1 case)"] == "**no**"  # the REST round trip counts too
    assert slow["large inbox: search < 200 ms (1 case)"] == "yes"
    assert slow["idle < 150 MB"] == "yes"
    assert slow["each additional tab < 1 MB (large inbox)"] == "**no**"  # 0.96 MiB is over 1 MB
    assert slow["within 10 % of idle after tabs open and close (large inbox, 200 tabs)"] == "**no**"

    fast = verdicts(ingest(p99_met=True, lag_met=False), large, memory(idle=121.8, per_tab=0.52, growth=8.7), None)
    assert fast["ack p99 < 50 ms at C=50 (SQLite, 1 instance)"] == "yes"
    assert fast["all processed ≤ 2 s after the last ack at C=300 (SQLite, 1 instance)"] == "**no**"
    assert fast["each additional tab < 1 MB (large inbox)"] == "-"  # that bench did not run


def test_a_run_with_no_results_claims_nothing():
    assert set(verdicts(None, None, None, None).values()) == {"-"}
