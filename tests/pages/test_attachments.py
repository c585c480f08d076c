"""Files in the thread: an agent attaches one in the composer; a customer's photo is fetched from the
provider while the bubble says so; an edited customer message changes in place and says "edited"."""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User

from chathub.drivers.simulator import outbox
from chathub.models import ChannelType, MediaStatus
from chathub.schemas import ChannelIn
from chathub.services import channels, conversations, outbound
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.pages.test_conversation import open_thread

PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x01" * 200
FIXTURES = Path(__file__).parent.parent / "drivers" / "fixtures" / "telegram"
SECRET = "page-test-secret"


async def attach(user: User, name: str, data: bytes, mime: str) -> None:
    (uploader,) = user.find(marker="attachment-upload").elements
    await uploader.handle_uploads([SmallFileUpload(name, mime, data)])


async def test_an_attached_photo_goes_out_with_the_text_as_its_caption(user: User):
    conversation_id = await open_thread(user)
    await attach(user, "receipt.png", PHOTO, "image/png")
    await user.should_see("receipt.png", retries=20)
    user.find(marker="composer").type("Your receipt")
    user.find(marker="send").click()

    async def sent_photo():
        last = (await outbound.list_messages(conversation_id=conversation_id)).items[-1]
        return last.content_type.value == "image" and last.status.value != "pending" and last

    reply = await eventually(sent_photo)
    assert reply.content == "Your receipt" and reply.media_status == MediaStatus.stored
    assert reply.media_url == f"/media/{reply.id}"
    images = [
        e for e in user.find(marker=f"message-{reply.id}").elements.pop().descendants() if isinstance(e, ui.image)
    ]
    assert images and images[0].source == reply.media_url
    sent = outbox.entries[-1]
    assert sent.content == "Your receipt" and f"/media/public/{reply.id}/" in sent.media_url
    await user.should_not_see(marker="attachment-chip")


async def test_a_removed_attachment_is_not_sent(user: User):
    conversation_id = await open_thread(user)
    await attach(user, "notes.txt", b"plain notes", "text/plain")
    await user.should_see(marker="attachment-chip", retries=20)
    (chip,) = user.find(marker="attachment-chip").elements
    chip.set_value(False)  # the chip's remove button
    await user.should_not_see(marker="attachment-chip", retries=20)
    user.find(marker="composer").type("Just text")
    user.find(marker="send").click()

    async def reply():
        last = (await outbound.list_messages(conversation_id=conversation_id)).items[-1]
        return last.direction.value == "outbound" and last

    assert (await eventually(reply)).content_type.value == "text"


@pytest.fixture
def small_media_cap(monkeypatch: pytest.MonkeyPatch, chathub_env) -> None:
    monkeypatch.setenv("CHATHUB_MAX_MEDIA_BYTES", "100")


async def test_a_file_over_the_size_cap_is_refused_in_the_composer(small_media_cap, user: User):
    await open_thread(user)
    await attach(user, "big.png", PHOTO, "image/png")
    await user.should_see("at most 100 bytes can be sent", retries=20)
    await user.should_not_see(marker="attachment-chip")


@pytest.fixture
def fake_telegram():
    with FakeTelegram() as fake:
        yield fake


async def test_a_customer_photo_shows_while_fetching_then_as_an_image_and_edits_change_in_place(
    user: User, fake_telegram: FakeTelegram
):
    channel = await channels.create_channel(
        ChannelIn(
            type=ChannelType.telegram,
            name="Bot",
            config={"bot_token": TOKEN, "secret_token": SECRET},
            api_base_url=fake_telegram.base_url,
        )
    )
    fake_telegram.script.queue("getFile", 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    fake_telegram.add_file("AgACAgIAAxkBAAIBlarge", PHOTO, file_path="photos/p.png")
    album = json.loads((FIXTURES / "photo_album.json").read_text())
    response = await user.http_client.post(
        f"/webhooks/telegram/{channel.id}", json=album, headers={"x-telegram-bot-api-secret-token": SECRET}
    )
    assert response.status_code == 200

    async def the_conversation():
        return (await conversations.list_conversations()).items

    (conversation,) = await eventually(the_conversation)
    await sign_in(user)
    await user.open(f"/conversations/{conversation.id}")
    await user.should_see("The box arrived broken", retries=50)

    async def stored():
        messages = (await outbound.list_messages(conversation_id=conversation.id)).items
        return messages[0].media_status == MediaStatus.stored and messages[0]

    message = await eventually(stored)

    async def image_shown():
        bubble = user.find(marker=f"message-{message.id}").elements
        return bubble and any(
            isinstance(e, ui.image) and e.source == f"/media/{message.id}" for e in bubble.pop().descendants()
        )

    await eventually(image_shown)

    edit = {
        "update_id": album["update_id"] + 1,
        "edited_message": {
            **album["message"],
            "caption": "The box arrived broken and wet",
            "edit_date": album["message"]["date"] + 60,
        },
    }
    await user.http_client.post(
        f"/webhooks/telegram/{channel.id}", json=edit, headers={"x-telegram-bot-api-secret-token": SECRET}
    )
    await user.should_see("The box arrived broken and wet", retries=50)
    await user.should_see("edited")


async def test_a_closed_thread_tab_is_freed_with_its_uploader(user: User):
    """Every thread has its own upload route, and FastAPI keeps the endpoints it has seen in a cache: that
    cache held each closed thread (its elements, its messages) in memory until 4096 more had been opened."""
    await open_thread(user)
    (uploader,) = user.find(marker="attachment-upload").elements
    thread_view = weakref.ref(uploader._upload_handlers[0].__self__)
    client = uploader.client
    del uploader
    client.delete()  # the tab is closed; only the simulated browser (the User) still points at it
    user.client = None
    del client

    async def freed():
        gc.collect()
        return thread_view() is None

    await eventually(freed)
