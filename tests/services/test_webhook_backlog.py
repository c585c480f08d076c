"""The webhook backlog lets waiting webhooks in first come, first served, as the worker takes webhooks; one whose
sender hung up while it waited takes no place. The events intake read wait there for the worker, in bounded
memory."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from chathub.services.webhook_backlog import Backlog


async def _log_one(backlog: Backlog, logged: list[str], name: str) -> None:
    async with backlog.place():
        logged.append(name)


async def test_waiting_webhooks_are_let_in_in_the_order_they_came_as_the_worker_takes_some():
    backlog, logged = Backlog(SimpleNamespace(webhook_backlog=2, webhook_backlog_wait_seconds=60), keep_events=400), []
    for name in ("first", "second"):
        await _log_one(backlog, logged, name)
    waiting = []
    for name in ("third", "fourth", "fifth"):
        waiting.append(asyncio.create_task(_log_one(backlog, logged, name)))
        await asyncio.sleep(0)
    assert logged == ["first", "second"]

    backlog.taken(2)  # a worker batch took two
    await asyncio.gather(*waiting[:2])
    assert logged == ["first", "second", "third", "fourth"] and not waiting[2].done()
    backlog.empty()
    await waiting[2]
    assert logged[-1] == "fifth" and backlog.waiting == 1


async def test_a_webhook_whose_sender_hung_up_while_waiting_takes_no_place():
    backlog, logged = Backlog(SimpleNamespace(webhook_backlog=1, webhook_backlog_wait_seconds=60), keep_events=400), []
    await _log_one(backlog, logged, "first")
    hung_up = asyncio.create_task(_log_one(backlog, logged, "hung up"))
    patient = asyncio.create_task(_log_one(backlog, logged, "patient"))
    await asyncio.sleep(0)
    hung_up.cancel()
    backlog.taken(1)
    await patient
    assert logged == ["first", "patient"] and backlog.waiting == 1


async def test_a_webhook_let_in_as_its_sender_hung_up_gives_its_place_back():
    backlog, logged = Backlog(SimpleNamespace(webhook_backlog=1, webhook_backlog_wait_seconds=60), keep_events=400), []
    await _log_one(backlog, logged, "first")
    hung_up = asyncio.create_task(_log_one(backlog, logged, "hung up"))
    await asyncio.sleep(0)
    backlog.taken(1)  # its turn came ...
    hung_up.cancel()  # ... as it went
    await asyncio.gather(hung_up, return_exceptions=True)
    assert logged == ["first"] and backlog.waiting == 0


def test_events_handed_to_the_worker_are_taken_once_and_the_oldest_untaken_are_dropped_past_the_bound():
    backlog = Backlog(SimpleNamespace(webhook_backlog=1000, webhook_backlog_wait_seconds=60), keep_events=400)
    bound = 2 * 1000
    for log_id in range(1, bound + 101):  # e.g. another instance's worker took these logs, unheard of here
        backlog.hand_over(log_id, [f"event of {log_id}"])
    assert backlog.take([100, 101]) == {101: ["event of 101"]}  # 100 was dropped: the worker reads its body instead
    assert backlog.take([101]) == {}  # taken once
    assert backlog.take([bound + 100])[bound + 100] == [f"event of {bound + 100}"]


async def test_a_place_opens_for_a_webhook_acknowledged_here_whichever_instances_worker_claims_it():
    backlog, logged = Backlog(SimpleNamespace(webhook_backlog=2, webhook_backlog_wait_seconds=60), keep_events=400), []
    for log_id, name in ((10, "first"), (11, "second")):
        await _log_one(backlog, logged, name)
        backlog.hand_over(log_id, [name])
    third = asyncio.create_task(_log_one(backlog, logged, "third"))
    await asyncio.sleep(0)
    backlog.take([7, 8])  # another instance's webhooks, claimed by the worker here: no place here
    backlog.take_claimed_elsewhere([[3, 9]])
    await asyncio.sleep(0)
    assert not third.done()
    backlog.take_claimed_elsewhere([[10, 10]])  # another instance's worker took the first
    await asyncio.wait_for(third, 1)
    assert logged == ["first", "second", "third"] and backlog.waiting == 2
    assert backlog.take([11, 12]) == {11: ["second"]}  # the first's events left with its claim elsewhere
    assert backlog.waiting == 1


async def test_webhooks_whose_claim_elsewhere_went_unheard_give_their_places_back_when_a_later_one_is_claimed():
    backlog, logged = Backlog(SimpleNamespace(webhook_backlog=2, webhook_backlog_wait_seconds=60), keep_events=400), []
    for log_id, name in ((1, "first"), (2, "second")):
        await _log_one(backlog, logged, name)
        backlog.hand_over(log_id, [name])
    waiting = [asyncio.create_task(_log_one(backlog, logged, name)) for name in ("third", "fourth")]
    await asyncio.sleep(0)
    # another instance took 1 and 2 (its notice was lost); this worker now takes 3, acknowledged there
    assert backlog.take([3]) == {1: ["first"], 2: ["second"]}
    await asyncio.wait_for(asyncio.gather(*waiting), 1)
    assert logged == ["first", "second", "third", "fourth"] and backlog.waiting == 2
