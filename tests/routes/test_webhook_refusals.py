"""A refused webhook keeps only an excerpt of its body: anyone can send one, with no credentials, and whole
bodies of a megabyte each grew the database by 49 MB in a second. Whatever the reason for the refusal (no
such channel, a bad signature, an unreadable payload, too large), the log row holds at most
4 KiB of it, the beginning, and of its headers, and says why."""

from __future__ import annotations

import pytest

from tests.helpers.intake import create_channel, default_channel_id, webhook_log
from tests.helpers.webhooks import post_webhook

KEPT_BYTES = 4096
# Just under CHATHUB_MAX_WEBHOOK_BYTES (1 MiB), in two-byte characters so that an excerpt cut by bytes
# could end inside one.
BIG_BODY = ('{"from": "+1555", "message": "' + "é" * 500_000 + '"').encode()


async def refused_entry(client, auth, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    response = await client.post(
        path, content=BIG_BODY, headers={"content-type": "application/json", **(headers or {})}
    )
    return response.status_code, await webhook_log(client, auth, response.json()["webhook_log_id"])


def assert_bounded_excerpt(entry: dict) -> None:
    assert entry["status"] == "rejected"
    assert len(entry["body"].encode()) <= KEPT_BYTES
    assert len(entry["body"]) >= KEPT_BYTES // 2 - 30  # the beginning is kept, not nothing
    assert BIG_BODY.decode().startswith(entry["body"])


@pytest.mark.parametrize("path", ["/webhooks/simulator/999", "/webhooks/telegram/1", "/webhooks/nothing/1"])
async def test_a_webhook_for_no_channel_keeps_a_bounded_excerpt(client, auth, path):
    status, entry = await refused_entry(client, auth, path)

    assert (status, entry["http_status"]) == (404, 404)
    assert_bounded_excerpt(entry)


async def test_a_webhook_with_a_bad_signature_keeps_a_bounded_excerpt(client, auth):
    channel = await create_channel(client, auth, name="Signed simulator", webhook_secret="s3cret")

    status, entry = await refused_entry(
        client, auth, f"/webhooks/simulator/{channel['id']}", {"x-chathub-signature": "sha256=" + "0" * 64}
    )

    assert (status, entry["http_status"]) == (401, 401)
    assert "signature" in entry["error"]
    assert_bounded_excerpt(entry)


async def test_an_unreadable_webhook_keeps_a_bounded_excerpt(client, auth):
    status, entry = await refused_entry(client, auth, f"/webhooks/simulator/{await default_channel_id(client, auth)}")

    assert (status, entry["http_status"]) == (400, 400)
    assert_bounded_excerpt(entry)


async def test_a_refused_webhook_with_huge_headers_keeps_a_bounded_excerpt_of_them(client, auth):
    response = await client.post(
        "/webhooks/simulator/999",
        content=b"{}",
        headers={"content-type": "application/json", "x-filler": "x" * 1024 * 1024},
    )

    entry = await webhook_log(client, auth, response.json()["webhook_log_id"])
    assert (response.status_code, entry["status"]) == (404, "rejected")
    assert sum(len(name) + len(value) for name, value in entry["headers"].items()) <= KEPT_BYTES
    assert entry["headers"]["content-type"] == "application/json"  # the ordinary ones, before the filler
    assert entry["headers"]["x-filler"].startswith("xxx")


async def test_an_accepted_webhook_keeps_its_whole_body(client, auth):
    response = await post_webhook(
        client, {"from": "+1555", "message": "é" * 100_000, "type": "text", "message_id": "m1"}
    )

    assert response.status_code == 200
    entry = await webhook_log(client, auth, response.json()["webhook_log_id"])
    assert entry["body"] == response.request.content.decode()
