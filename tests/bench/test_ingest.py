"""The ingest bench's pure parts: wrk's result line, the ratios (each run against its own round's reference)
and issue 22's verdicts. No test here runs wrk or a server: the bench is not part of CI."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))  # bench/ingest.py imports `common` by name

from ingest import Result, apply_wrk, parse_wrk, ratios, summarize, verdicts  # noqa: E402  (bench/ingest.py)

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8080/webhooks/simulator
  2 threads and 50 connections
  12000 requests in 10.00s, 1.96MB read
Requests/sec:   1200.00
WRK_RESULT {"requests":12000,"duration_us":10000000,"p50_us":35500,"p99_us":61250,"max_us":90125,"connect":0,\
"read":2,"write":0,"status":30,"timeout":1}
"""


def runs(variant: str, *per_round: float, concurrency: int = 50) -> list[Result]:
    return [
        Result(variant=variant, concurrency=concurrency, round=number, requests_per_second=rate)
        for number, rate in enumerate(per_round, start=1)
    ]


def test_a_tabs_run_is_compared_with_the_tab_less_run_of_its_own_round():
    found = ratios(
        [
            *runs("baseline", 900, 500, 500),
            *runs("chathub", 1000, 1000, 600),
            *runs("chathub_20_tabs", 900, 540, 540),
        ]
    )
    # rounds 1 and 3 cost the tabs 10 %, round 2 46 %: the median says 10 % (medians alone would say 46 %)
    assert found == {"chathub_over_baseline": {"50": 1.2}, "chathub_20_tabs_over_chathub": {"50": 0.9}}


def test_each_concurrency_has_its_own_ratio_from_runs_of_the_same_round():
    found = ratios(
        [
            *runs("baseline", 1000, 2000, concurrency=50),
            *runs("chathub", 500, 1000, concurrency=50),
            *runs("baseline", 1000, 1000, concurrency=300),
            *runs("chathub", 800, 700, 5000, concurrency=300),  # a third round without a baseline: not paired
        ]
    )
    assert found == {"chathub_over_baseline": {"50": 0.5, "300": 0.75}}


def test_without_a_baseline_there_is_no_baseline_ratio():
    found = ratios([*runs("chathub", 1000), *runs("chathub_20_windows", 600)])
    assert found == {"chathub_20_windows_over_chathub": {"50": 0.6}}


def test_wrks_result_line_gives_rate_latency_and_errors():
    result = Result(variant="chathub", concurrency=50)
    apply_wrk(result, parse_wrk(WRK_OUTPUT))
    assert result.requests == 12000 and result.acknowledged == 11970  # answers >= 400 are not acknowledgements
    assert result.requests_per_second == 1200.0
    assert (result.ack_p50_ms, result.ack_p99_ms, result.ack_max_ms) == (35.5, 61.25, 90.125)
    assert result.errors == {"status": 30, "read": 2, "timeout": 1}


def test_wrk_output_without_the_result_line_is_an_error():
    try:
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")
    except RuntimeError as error:
        assert "WRK_RESULT" in str(error)
    else:
        raise AssertionError("parse_wrk accepted output without a result line")


def chathub_run(concurrency: int, number: int, *, p99: float, lag: float | None, rate: float) -> Result:
    return Result(
        variant="chathub",
        concurrency=concurrency,
        round=number,
        requests_per_second=rate,
        ack_p99_ms=p99,
        processed_after_last_ack_s=lag,
        logs_by_status={"processed": 100},
        lost=0,
    )


def shown_verdicts(results: list[Result]) -> dict[str, bool | None]:
    return {row["target"]: row["met"] for row in verdicts(summarize(results), ratios(results))}


def test_verdicts_read_issue_22s_targets_from_the_medians():
    results = [
        *runs("baseline", 1000, 1000, 1000),
        chathub_run(50, 1, p99=40.0, lag=0.5, rate=700),
        chathub_run(50, 2, p99=49.0, lag=2.5, rate=500),
        chathub_run(50, 3, p99=80.0, lag=1.0, rate=650),
    ]
    met = shown_verdicts(results)
    assert met["ack p99 < 50 ms at C=50"] is True  # median 49 ms
    assert met["all processed ≤ 2 s after the last ack at C=50"] is True  # median 1.0 s
    assert met["ChatHub ≥ 0.6 × baseline requests/s at C=50"] is True  # ratios 0.7, 0.5, 0.65
    assert met["ack p99 < 500 ms at C=300"] is None  # not measured in this run
    assert met["ChatHub ≥ 0.6 × baseline requests/s at C=300"] is None


def test_a_run_not_processed_in_time_misses_the_processing_target():
    results = [
        *runs("baseline", 1000, 1000, concurrency=300),
        chathub_run(300, 1, p99=450.0, lag=0.4, rate=550),
        chathub_run(300, 2, p99=520.0, lag=None, rate=500),
    ]
    met = shown_verdicts(results)
    assert met["all processed ≤ 2 s after the last ack at C=300"] is False  # the one measured lag was fine
    assert met["ack p99 < 500 ms at C=300"] is True  # median of 450 and 520: 485 ms
    assert met["ChatHub ≥ 0.6 × baseline requests/s at C=300"] is False  # 0.55 and 0.5


def test_the_tabs_variants_get_their_own_verdict():
    results = [*runs("baseline", 1000), *runs("chathub", 1000), *runs("chathub_20_windows", 700)]
    assert shown_verdicts(results)["20 agent windows, all in view ≥ 0.8 × none at C=50"] is False
