"""How the intake reads a webhook's body off the connection: in as many pieces as the sender sends it, and not
at all when the sender gives up halfway (it got no answer, so it sends again, and nothing may be logged twice)."""

from __future__ import annotations

import json

from tests.helpers.intake import inbox_sizes, items, settled_log
from tests.helpers.webhooks import seed_message


async def post_in_pieces(pieces: list[bytes], then_disconnect: bool = False) -> list[dict]:
    """POST /webhooks/simulator to the served app, its body in `pieces`; the ASGI messages it answered."""
    from chathub import app as chathub_app

    body = [{"type": "http.request", "body": piece, "more_body": True} for piece in pieces]
    body.append({"type": "http.disconnect"} if then_disconnect else {"type": "http.request", "body": b""})
    sent: list[dict] = []

    async def receive() -> dict:
        return body.pop(0) if body else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/simulator",
        "raw_path": b"/webhooks/simulator",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }
    await chathub_app.http_app(scope, receive, send)
    return sent


def answer_of(sent: list[dict]) -> tuple[int, dict]:
    return sent[0]["status"], json.loads(b"".join(message.get("body", b"") for message in sent[1:]))


async def test_a_body_sent_in_many_pieces_is_logged_and_stored_whole(client, auth):
    payload = json.dumps(seed_message(message_id="pieces", text="Hello " + "é" * 3000)).encode()
    pieces = [payload[start : start + 7] for start in range(0, len(payload), 7)]  # cuts through characters

    status, answer = answer_of(await post_in_pieces(pieces))

    assert status == 200
    entry = await settled_log(client, auth, answer["webhook_log_id"], "processed")
    assert entry["body"] == payload.decode()
    [conversation] = await items(client, auth, "/api/v1/conversations")
    [message] = await items(client, auth, f"/api/v1/conversations/{conversation['id']}/messages")
    assert message["content"] == "Hello " + "é" * 3000


async def test_a_sender_that_disconnects_halfway_gets_nothing_logged_or_stored(client, auth):
    payload = json.dumps(seed_message(message_id="gone")).encode()

    sent = await post_in_pieces([payload[:20]], then_disconnect=True)

    assert sent == []  # no answer: the sender is gone
    assert await items(client, auth, "/api/v1/webhook-logs") == []
    assert await inbox_sizes(client, auth) == (0, 0, 0)
