"""The ingest bench's ratios: each run is compared with its own round's reference, so a machine that slows
down half-way through does not pass for a cost of the agent tabs."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))  # bench/ingest.py imports `common` by name

from ingest import Result, ratios  # noqa: E402  (bench/ingest.py)


def runs(label: str, *per_round: float) -> list[Result]:
    return [
        Result(label=label, n=5000, concurrency=50, per_customer=10, webhooks_per_second=rate) for rate in per_round
    ]


def test_a_tabs_run_is_compared_with_the_tab_less_run_of_its_own_round():
    found = ratios(
        {
            "baseline": runs("baseline", 900, 500, 500),
            "chathub": runs("chathub", 1000, 1000, 600),
            "chathub_20_tabs": runs("chathub_20_tabs", 900, 540, 540),
        }
    )
    # rounds 1 and 3 cost the tabs 10 %, round 2 46 %: the median says 10 % (medians alone would say 46 %)
    assert found == {"chathub_over_baseline": 1.2, "chathub_20_tabs_over_chathub": 0.9}


def test_without_a_baseline_there_is_no_baseline_ratio():
    assert ratios({"chathub": runs("chathub", 1000), "chathub_20_windows": runs("chathub_20_windows", 600)}) == {
        "chathub_20_windows_over_chathub": 0.6
    }
