"""The webhook logs dashboard: failure count, filters, paging, the detail panel and replay."""

from __future__ import annotations

import json
from datetime import timedelta

from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from chathub.models import ChannelType, WebhookStatus, utcnow
from chathub.pages import webhook_logs
from chathub.schemas import ChannelIn
from chathub.services import channels, conversations, webhooks
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message

UNKNOWN_RECEIPT = {"type": "status", "message_id": "nope", "status": "delivered"}


async def logged(
    user: User,
    payload=None,
    *,
    raw: bytes | None = None,
    path: str = "/webhooks/simulator",
    headers: dict[str, str] | None = None,
) -> int:
    """Post a webhook and return its log id."""
    if headers:
        body = raw if raw is not None else json.dumps(payload).encode()
        response = await user.http_client.post(
            path, content=body, headers={"content-type": "application/json", **headers}
        )
    else:
        response = await post_webhook(user.http_client, payload, raw=raw, path=path)
    return response.json()["webhook_log_id"]


async def finished(log_id: int, status: WebhookStatus) -> None:
    async def check():
        return (await webhooks.get_webhook_log(log_id)).status == status

    await eventually(check)


async def failed_log(user: User) -> int:
    log_id = await logged(user, UNKNOWN_RECEIPT)
    await finished(log_id, WebhookStatus.failed)
    return log_id


def choose(user: User, marker: str, option: str) -> None:
    """Open a select and click one of its options, as a person would."""
    found = user.find(marker=marker)
    found.click()
    UserInteraction(user, found.elements, option).click()


def shown_log_ids(user: User) -> list[int]:
    rows = [
        e
        for e in user.current_layout.descendants()
        if any(m.startswith("log-") and m[4:].isdigit() for m in e._markers) and not e.is_deleted
    ]
    return [int(next(m for m in e._markers if m.startswith("log-"))[4:]) for e in sorted(rows, key=lambda e: e.id)]


async def shows_logs(user: User, expected: list[int]) -> None:
    async def check():
        return shown_log_ids(user) == expected

    try:
        await eventually(check, timeout=3)
    except AssertionError:
        raise AssertionError(f"shown {shown_log_ids(user)}, expected {expected}") from None


def text_of(user: User, marker: str) -> str:
    (element,) = user.find(marker=marker).elements
    return element.text


async def test_failures_of_the_last_24_hours_are_counted_at_the_top(user: User):
    await sign_in(user)
    await failed_log(user)
    await failed_log(user)
    processed = await logged(user, seed_message("m1"))
    await finished(processed, WebhookStatus.processed)
    await user.open("/webhooks")
    await user.should_see("Failed in the last 24 h")
    assert text_of(user, "failed-24h") == "2"


async def test_failure_count_card_filters_to_recent_failures(user: User):
    await sign_in(user)
    failed = await failed_log(user)
    processed = await logged(user, seed_message("m1"))
    await finished(processed, WebhookStatus.processed)
    await user.open("/webhooks")
    await shows_logs(user, [processed, failed])
    user.find(marker="failed-24h-card").click()
    await shows_logs(user, [failed])


async def test_logs_are_listed_newest_first_and_new_ones_appear_live(user: User):
    await sign_in(user)
    first = await logged(user, seed_message("m1"))
    await finished(first, WebhookStatus.processed)
    await user.open("/webhooks")
    await shows_logs(user, [first])
    second = await logged(user, seed_message("m2", text="again"))
    await shows_logs(user, [second, first])
    third = await failed_log(user)
    await shows_logs(user, [third, second, first])
    await user.should_see(marker="failed-24h", content="1", retries=20)


async def test_status_filter_shows_only_logs_with_that_status(user: User):
    await sign_in(user)
    failed = await failed_log(user)
    processed = await logged(user, seed_message("m1"))
    await finished(processed, WebhookStatus.processed)
    rejected = await logged(user, raw=b'{"from": broken')
    await user.open("/webhooks")
    await shows_logs(user, [rejected, processed, failed])
    for label, expected in (
        ("Failed", [failed]),
        ("Rejected", [rejected]),
        ("Processed", [processed]),
        ("Received", []),
        ("All statuses", [rejected, processed, failed]),
    ):
        choose(user, "filter-status", label)
        await shows_logs(user, expected)
    choose(user, "filter-status", "Received")
    await user.should_see("No webhooks match these filters.", retries=20)


async def test_channel_filter_shows_only_that_channels_logs(user: User):
    await sign_in(user)
    web = await channels.create_channel(ChannelIn(type=ChannelType.simulator, name="Web chat"))
    default = await logged(user, seed_message("m1"))
    on_web = await logged(user, seed_message("m2"), path=f"/webhooks/simulator/{web.id}")
    await finished(on_web, WebhookStatus.processed)
    await user.open("/webhooks")
    await shows_logs(user, [on_web, default])
    choose(user, "filter-channel", "Web chat")
    await shows_logs(user, [on_web])
    choose(user, "filter-channel", "All channels")
    await shows_logs(user, [on_web, default])


async def test_time_filter_leaves_out_older_logs(user: User, monkeypatch):
    await sign_in(user)
    log_id = await logged(user, seed_message("m1"))
    await user.open("/webhooks")
    await shows_logs(user, [log_id])
    monkeypatch.setattr(webhook_logs, "utcnow", lambda: utcnow() + timedelta(hours=2))  # two hours later
    for label, expected in (
        ("Last hour", []),
        ("Last 24 hours", [log_id]),
        ("Last 7 days", [log_id]),
        ("All time", [log_id]),
    ):
        choose(user, "filter-time", label)
        await shows_logs(user, expected)


async def test_paging_goes_to_older_and_back_to_newer_logs(user: User):
    await sign_in(user)
    ids = [await logged(user, raw=b"not json") for _ in range(27)]
    await user.open("/webhooks")
    await shows_logs(user, ids[::-1][:25])
    user.find(marker="logs-older").click()
    await shows_logs(user, [ids[1], ids[0]])
    await user.should_see("Page 2")
    user.find(marker="logs-newer").click()
    await shows_logs(user, ids[::-1][:25])


async def test_detail_shows_redacted_headers_pretty_body_and_the_conversation(user: User):
    await sign_in(user)
    log_id = await logged(
        user,
        seed_message("m1", text="Where is my order?"),
        headers={"authorization": "Bearer top-secret", "x-request-id": "req-42"},
    )
    await finished(log_id, WebhookStatus.processed)
    (conversation,) = (await conversations.list_conversations()).items
    await user.open("/webhooks")
    await shows_logs(user, [log_id])
    user.find(marker=f"log-{log_id}").click()
    await user.should_see(marker="detail-body", retries=20)
    with user.scope(marker="webhook-detail"):
        await user.should_see("req-42")
        await user.should_see("[redacted]")
        await user.should_not_see("top-secret")
        await user.should_see(f"Webhook #{log_id}")
        await user.should_see(marker="detail-status", content="processed")
        await user.should_not_see(marker="replay-webhook")
    body = webhooks.pretty_body((await webhooks.get_webhook_log(log_id)).body)
    assert text_of(user, "detail-body") == body and '\n  "message": "Where is my order?"' in body
    assert text_of(user, "detail-attempts") == "1"
    link = user.find(marker="detail-conversation").elements.pop()
    assert link.props["href"] == f"/conversations/{conversation.id}"
    user.find(marker="close-detail").click()
    await user.should_not_see(marker="detail-body")


async def test_failed_webhook_shows_its_error_and_replay_reports_the_outcome(user: User):
    await sign_in(user)
    log_id = await failed_log(user)
    await user.open("/webhooks")
    await shows_logs(user, [log_id])
    user.find(marker=f"log-{log_id}").click()
    await user.should_see(marker="replay-webhook", retries=20)
    assert "UnknownMessage" in text_of(user, "detail-error")
    assert text_of(user, "detail-attempts") == "3"
    user.find(marker="replay-webhook").click()
    await user.should_see("Replay failed again after 3 attempts.", retries=50)
    assert text_of(user, "detail-status") == "failed"
    entry = await webhooks.get_webhook_log(log_id)
    assert entry.status == WebhookStatus.failed and entry.attempts == 3
    await user.should_see(marker="failed-24h", content="1", retries=20)
    assert text_of(user, "failed-24h") == "1"  # the same log, not a second failure


async def test_rejected_body_that_looks_like_html_is_shown_as_literal_text(user: User):
    await sign_in(user)
    raw = '{"from": "<script>alert(1)</script>", "message": "<img src=x onerror=alert(1)>"'
    log_id = await logged(user, raw=raw.encode())
    await user.open("/webhooks")
    await shows_logs(user, [log_id])
    user.find(marker=f"log-{log_id}").click()
    await user.should_see(marker="detail-body", retries=20)
    assert text_of(user, "detail-body") == raw
    assert "invalid payload" in text_of(user, "detail-error")
    assert text_of(user, "detail-status") == "rejected"
    await user.should_not_see(marker="replay-webhook")
    assert not any(isinstance(e, (ui.html, ui.markdown)) for e in user.current_layout.descendants())
