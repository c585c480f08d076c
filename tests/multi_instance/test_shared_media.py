"""Files behind a load balancer: every instance keeps media in the one folder CHATHUB_MEDIA_DIR names, so a
file that reached one instance is served by any other."""

from __future__ import annotations

import json

import httpx

from bench.crash import EMAIL, PASSWORD
from tests.helpers.instances import instances_started_in_turn
from tests.helpers.waiting import eventually

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def signed_in(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def simulator_conversation(client: httpx.AsyncClient, auth: dict[str, str]) -> int:
    webhook = {"from": "+15550100", "name": "Mia", "message": "a photo please", "message_id": "shared-media-1"}
    (await client.post("/webhooks/simulator", content=json.dumps(webhook))).raise_for_status()

    async def conversation_ids() -> list[int]:
        listed = await client.get("/api/v1/conversations", headers=auth)
        return [item["id"] for item in listed.json()["items"]]

    [conversation_id] = await eventually(conversation_ids, timeout=30)
    return conversation_id


async def test_a_file_uploaded_through_one_instance_is_served_by_another(tmp_path, empty_postgres):
    shared = {"CHATHUB_MEDIA_DIR": str(tmp_path / "shared-media")}
    with instances_started_in_turn(tmp_path, empty_postgres, count=2, env=shared) as (a, b):
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=30) as on_a,
            httpx.AsyncClient(base_url=b.url, timeout=30) as on_b,
        ):
            auth = await signed_in(on_a)
            conversation_id = await simulator_conversation(on_a, auth)
            uploaded = await on_a.post(
                f"/api/v1/conversations/{conversation_id}/attachments",
                headers=auth,
                files={"file": ("photo.png", PNG, "image/png")},
            )
            uploaded.raise_for_status()

            served = await on_b.get(f"/media/{uploaded.json()['id']}", headers=await signed_in(on_b))

    assert served.status_code == 200, served.text
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert any(path.is_file() for path in (tmp_path / "shared-media" / "outbound").rglob("*.png"))
