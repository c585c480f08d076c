"""Pages are never framed by another site (clickjacking), send no address to other sites, and load nothing
from anywhere but ChatHub itself; a real browser still runs them under that policy (tests/e2e)."""

from __future__ import annotations

import httpx

from tests.helpers.webhooks import post_webhook


def assert_protected(response: httpx.Response) -> None:
    assert response.headers["x-frame-options"] == "DENY"
    policy = [part.strip() for part in response.headers["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in policy
    assert "img-src 'self' data: blob:" in policy  # a customer's image address is never fetched by the page
    assert response.headers["referrer-policy"] == "same-origin"


async def test_pages_and_api_answers_cannot_be_framed(client: httpx.AsyncClient, auth: dict[str, str]):
    for path in ("/signin", "/", "/conversations/1"):
        assert_protected(await client.get(path))
    assert_protected(await client.get("/api/v1/conversations", headers=auth))
    assert_protected(await client.get("/healthz"))


async def test_webhook_answers_go_without_page_headers(client: httpx.AsyncClient):
    answer = await post_webhook(client, {"from": "+15550100", "message": "hello", "message_id": "headers-1"})
    assert answer.status_code == 200
    assert "content-security-policy" not in answer.headers
