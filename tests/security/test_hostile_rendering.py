"""Customer text reaches the page as text on every path, and nothing in a page loads from an address a
customer chose. Hostile payloads (tests/helpers/hostile.py) come in through the simulator webhook; the pages are
opened by NiceGUI's simulated browser, which sees the element tree the browser would draw (the real-browser
check of the same payloads is tests/e2e/test_hostile_thread.py)."""

from __future__ import annotations

import json

from nicegui import ui
from nicegui.testing import User

from chathub.models import MediaStatus
from chathub.pages.components.text_bubble import TextBubble
from chathub.services import conversations, outbound
from tests.fakes.web import FakeWebsite
from tests.helpers.hostile import hostile_messages, hostile_text
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook

SENDER = "+15550666000"
# Elements that turn their content into HTML: no customer text may ever reach one.
HTML_ELEMENTS = (ui.markdown, ui.html, ui.code, ui.mermaid, ui.restructured_text)
LOADING_ELEMENTS = (ui.image, ui.audio, ui.video, ui.interactive_image)


def page_elements(user: User) -> list[ui.element]:
    return list(user.client.elements.values())


def assert_text_only(user: User) -> None:
    """No element of the open page renders HTML, and any file it loads is ChatHub's own."""
    elements = page_elements(user)
    assert [type(e).__name__ for e in elements if isinstance(e, HTML_ELEMENTS)] == []
    assert [e.source for e in elements if isinstance(e, LOADING_ELEMENTS) if not e.source.startswith("/media/")] == []


async def post_hostile_thread(user: User, listener: str) -> tuple[int, list]:
    bodies = hostile_messages(listener, sender=SENDER)
    for body in bodies:
        assert (await post_webhook(user.http_client, body)).status_code == 200

    async def all_stored_and_settled():
        found = (await conversations.list_conversations(status=None, q=SENDER)).items
        messages = found and (await outbound.list_messages(conversation_id=found[0].id, limit=100)).items
        return (
            messages
            and len(messages) == len(bodies)
            and all(m.media_status != MediaStatus.pending for m in messages)
            and (found[0].id, messages)
        )

    return await eventually(all_stored_and_settled)


async def test_hostile_thread_shows_every_payload_as_text_and_loads_nothing(user: User):
    with FakeWebsite() as listener:
        conversation_id, messages = await post_hostile_thread(user, listener.base_url)
        await sign_in(user)
        await user.open(f"/conversations/{conversation_id}")
        await user.should_see("Unsupported message")

        assert_text_only(user)
        shown = {e.text for e in page_elements(user) if isinstance(e, ui.label)}
        for message in messages:
            if message.content_type.value == "unsupported":
                assert json.dumps(message.payload, indent=2, ensure_ascii=False) in shown
        bubbles = [e for e in page_elements(user) if isinstance(e, TextBubble)]
        assert {"".join(s["text"] for s in b.data["segments"]) for b in bubbles} == {
            m.content for m in messages if m.content_type.value == "text"
        }
        [image] = [m for m in messages if m.content_type.value == "image"]
        assert (image.media_status, image.media_url) == (MediaStatus.failed, None)
        assert "127.0.0.1 is a loopback address" in image.error and image.error in shown
        assert f"{listener.base_url}/tracking.png" in shown
        assert listener.requests == []


async def test_hostile_names_and_previews_stay_text_on_every_page(user: User):
    with FakeWebsite() as listener:
        name = hostile_text("\u2028", listener.base_url)[:180]
        body = {
            "from": SENDER,
            "name": name,
            "message_id": "named",
            "type": "text",
            "message": hostile_text("\x85", listener.base_url),
        }
        assert (await post_webhook(user.http_client, body)).status_code == 200

        async def customer_id():
            found = (await conversations.list_conversations(status=None, q=SENDER)).items
            return found and found[0].customer.id

        customer = await eventually(customer_id)
        await sign_in(user)
        for path in ("/", "/customers", f"/customers/{customer}", "/webhooks", "/simulator"):
            await user.open(path)
            assert_text_only(user)
        assert listener.requests == []
