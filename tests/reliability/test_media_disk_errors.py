"""Inbound media when the media folder cannot take a file, through the running app against a fake Bot API on
127.0.0.1. The failure is real: a regular file stands where the folder for inbound files should be, so the
write raises an OSError even for root (as a full disk, a quota or a read-only mount would). The fetch is
retried like a provider's passing error, and the file is served once the folder takes it again; a file whose
fetch ended failed is fetched again when its webhook is replayed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.fakes.telegram import FakeTelegram
from tests.helpers.app import login, running_app
from tests.helpers.waiting import eventually
from tests.routes.test_telegram_channel import PHOTO, create_channel, messages_of, post_update, update

pytestmark = pytest.mark.usefixtures("https_public_url")  # Telegram only takes an https webhook URL

LARGEST_PHOTO = "AgACAgIAAxkBAAIBlarge"  # the size ChatHub fetches from the photo_album update


@pytest.fixture
def fake():
    with FakeTelegram() as server:
        server.add_file(LARGEST_PHOTO, PHOTO, file_path="photos/file_7.png")
        yield server


def block_inbound_media_folder(data_dir: Path) -> Path:
    """A regular file where media/inbound/ should be: creating the month's folder under it fails."""
    obstacle = data_dir / "media" / "inbound"
    obstacle.parent.mkdir(parents=True, exist_ok=True)
    obstacle.write_bytes(b"not a folder")
    return obstacle


def downloads(fake: FakeTelegram) -> int:
    return len(fake.requests_to("download"))


async def the_photo(client: httpx.AsyncClient, auth: dict) -> dict:
    [message] = await messages_of(client, auth)
    return message


async def photo_once(client: httpx.AsyncClient, auth: dict, media_status: str) -> dict:
    """The photo's message, once its media has this status (the workers are asynchronous)."""

    async def check():
        found = await messages_of(client, auth)
        return found[0] if found and found[0]["media_status"] == media_status else None

    return await eventually(check)


async def served_photo(client: httpx.AsyncClient, auth: dict) -> bytes:
    stored = await photo_once(client, auth, "stored")
    response = await client.get(stored["media_url"], headers=auth)
    assert response.status_code == 200, response.text
    return response.content


async def test_a_file_the_media_folder_cannot_take_is_retried_and_served_once_it_can(
    chathub_env: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeTelegram
):
    monkeypatch.setenv("CHATHUB_RETRY_BASE_SECONDS", "1")  # tries 1, 2, 4 and 8 s apart: time to clear the way
    obstacle = block_inbound_media_folder(chathub_env)
    async with running_app() as client:
        auth = await login(client)
        channel = await create_channel(client, auth, fake)

        assert (await post_update(client, channel, update("photo_album"))).status_code == 200
        await eventually(lambda: _at_least(2, fake))  # fetched, not saved, fetched again

        waiting = await the_photo(client, auth)
        assert waiting["media_status"] == "pending", waiting
        obstacle.unlink()

        assert await served_photo(client, auth) == PHOTO
        assert len(await messages_of(client, auth)) == 1


async def test_replaying_the_webhook_fetches_a_file_whose_fetch_ended_failed(chathub_env: Path, fake: FakeTelegram):
    obstacle = block_inbound_media_folder(chathub_env)
    async with running_app() as client:
        auth = await login(client)
        channel = await create_channel(client, auth, fake)
        assert (await post_update(client, channel, update("photo_album"))).status_code == 200
        failed = await photo_once(client, auth, "failed")
        tries = downloads(fake)
        obstacle.unlink()

        [entry] = (await client.get("/api/v1/webhook-logs?status=processed", headers=auth)).json()["items"]
        assert entry["message_id"] == failed["id"]
        replayed = await client.post(f"/api/v1/webhook-logs/{entry['id']}/replay", headers=auth)
        assert replayed.status_code == 200, replayed.text

        assert await served_photo(client, auth) == PHOTO
        assert downloads(fake) == tries + 1
        photo = await the_photo(client, auth)
        assert (photo["id"], photo["error"]) == (failed["id"], None)


async def _at_least(count: int, fake: FakeTelegram) -> bool:
    return downloads(fake) >= count
