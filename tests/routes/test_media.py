"""Files ChatHub keeps are served to signed-in agents only, with a type that cannot run in the page, and a
provider's signed link opens only the attachment it was made for, until it expires."""

from __future__ import annotations

import time

from chathub import db, process_state
from chathub.models import Message
from chathub.services import media
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message


async def first_conversation(client, auth) -> int:
    await post_webhook(client, seed_message())

    async def listed():
        return (await client.get("/api/v1/conversations", headers=auth)).json()["items"]

    return (await eventually(listed))[0]["id"]


async def attach(client, auth, conversation_id: int, name: str, data: bytes, mime: str) -> dict:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        headers=auth,
        files={"file": (name, data, mime)},
        data={"content": ""},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_an_html_or_svg_file_is_downloaded_never_rendered(client, auth):
    conversation_id = await first_conversation(client, auth)
    for name, data, mime in (
        ("page.html", b"<script>alert(1)</script>", "text/html"),
        ("logo.svg", b"<svg onload=alert(1)></svg>", "image/svg+xml"),
    ):
        message = await attach(client, auth, conversation_id, name, data, mime)
        served = await client.get(message["media_url"], headers=auth)
        assert served.status_code == 200 and served.content == data
        assert served.headers["content-type"] == "application/octet-stream"
        assert served.headers["content-disposition"].startswith("attachment;")
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in served.headers["content-security-policy"]


async def test_an_attachment_over_the_cap_or_empty_is_refused(client, auth, monkeypatch):
    conversation_id = await first_conversation(client, auth)
    monkeypatch.setattr(process_state.current().settings, "max_media_bytes", 10)
    too_big = await client.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        headers=auth,
        files={"file": ("a.bin", b"x" * 11, "application/octet-stream")},
    )
    empty = await client.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        headers=auth,
        files={"file": ("a.bin", b"", "application/octet-stream")},
    )
    assert (too_big.status_code, empty.status_code) == (422, 422)
    assert "at most 10 bytes" in too_big.json()["detail"]


async def test_files_need_a_signed_in_agent(client, auth):
    conversation_id = await first_conversation(client, auth)
    message = await attach(client, auth, conversation_id, "a.pdf", b"%PDF-1.4 test", "application/pdf")
    assert (await client.get(message["media_url"])).status_code == 401
    assert (await client.get(message["media_url"], headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await client.get("/media/999999", headers=auth)).status_code == 404


async def test_a_stored_path_cannot_reach_outside_the_media_folder(client, auth, chathub_env):
    conversation_id = await first_conversation(client, auth)
    message = await attach(client, auth, conversation_id, "a.pdf", b"%PDF-1.4 test", "application/pdf")
    (chathub_env / "private.txt").write_text("not media")  # a real file that path would reach
    async with db.write_session() as session:
        row = await session.get(Message, message["id"])
        row.media_path = "../private.txt"
        session.add(row)
    assert (await client.get(message["media_url"], headers=auth)).status_code == 404


async def test_the_providers_link_opens_only_its_attachment_until_it_expires(client, auth):
    conversation_id = await first_conversation(client, auth)
    message = await attach(client, auth, conversation_id, "a.pdf", b"%PDF-1.4 test", "application/pdf")
    link = media.public_link(message["id"]).split("/media/", 1)[1]
    message_id, expires, signature = link.split("/")[1:]

    assert (await client.get(f"/media/public/{message_id}/{expires}/{signature}")).content == b"%PDF-1.4 test"
    tampered = signature[:-1] + ("1" if signature.endswith("0") else "0")  # one hex digit changed, always
    assert (await client.get(f"/media/public/{message_id}/{expires}/{tampered}")).status_code == 404
    assert (await client.get(f"/media/public/{message_id}/{int(expires) + 1}/{signature}")).status_code == 404
    stale = int(time.time()) - 1
    stale_signature = media._link_signature(int(message_id), stale)
    assert (await client.get(f"/media/public/{message_id}/{stale}/{stale_signature}")).status_code == 404
