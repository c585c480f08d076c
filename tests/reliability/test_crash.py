"""Crash safety, end to end (bench/crash.py scaled down): the real server process takes 300 simulator webhooks
from 30 concurrent senders while 24 agent replies wait on a slow simulator; it is stopped part way — SIGKILL
(a crash) or SIGTERM (a graceful stop) — and started again on the same data folder. Every webhook that got a
2xx is exactly one message, every accepted webhook log ends `processed`, and the replies pending at the stop
are sent after the restart, each as one message. The replies go to a fake Telegram that answers each send a
second late: after a SIGKILL a reply whose send was cut short reaches it again, and each reply it got twice is
marked "possibly sent twice"; after a SIGTERM it gets every reply once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import crash

N, SENDERS, REPLIES = 300, 30, 24


@pytest.mark.parametrize("kind", ["kill", "term"])
async def test_a_stopped_server_loses_and_repeats_nothing_after_its_restart(kind: str, tmp_path: Path):
    figures = await crash.scenario(
        kind, n=N, concurrency=SENDERS, replies=REPLIES, latency_ms=1000, stop_after=0.5, workdir=tmp_path
    )

    assert figures.acknowledged_before_stop >= N // 2  # the stop came part way, with work in flight
    assert figures.acknowledged_before_stop + figures.acknowledged_after_restart == N
    assert (figures.stored, figures.lost, figures.duplicated) == (N, 0, 0)
    assert figures.logs_not_processed == {}
    assert figures.replies_pending_at_stop > 0  # replies were still waiting when the process went away
    assert (figures.replies_sent, figures.replies_sent_twice, figures.replies_unsent) == (REPLIES, 0, 0)
    assert (figures.replies_not_received, figures.duplicates_unflagged) == (0, 0)
    assert figures.provider_received == REPLIES + figures.provider_duplicates
    assert figures.drain_seconds is not None
    first_run_log = (tmp_path / "server-1.log").read_text()
    if kind == "kill":
        assert figures.exit_code == -9
        assert "Stopped:" not in first_run_log
        assert figures.replies_flagged >= figures.provider_duplicates
    else:  # the graceful path ran: in-flight replies saved, workers stopped, engine disposed
        assert "Stopped: replies under way were saved" in first_run_log
        assert figures.stop_seconds < 30
        assert (figures.provider_duplicates, figures.replies_flagged) == (0, 0)
