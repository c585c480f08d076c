"""The simulator panel: a tester plays a customer through the real webhook route."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from chathub import bus
from chathub.models import ChannelType, MessageDirection, MessageStatus, WebhookStatus
from chathub.schemas import ChannelIn, MessageIn
from chathub.services import agents, channels, conversations, outbound, presence, webhooks
from tests.helpers.pages import play_customer, say, sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message

PHONE = "+15550001234"


async def open_as_customer(user: User, name: str = "Ann Lee", phone: str = PHONE) -> None:
    await sign_in(user)
    await play_customer(user, name, phone)


async def conversation_of(channel_id: int, name: str):
    async def found():
        page = await conversations.list_conversations(channel_id=channel_id)
        return next((c for c in page.items if c.customer.name == name), None)

    return await eventually(found)


async def customer_messages(conversation_id: int):
    return (await outbound.list_messages(conversation_id=conversation_id)).items


async def test_message_typed_on_the_phone_opens_a_conversation_in_the_inbox(user: User):
    await open_as_customer(user)
    await say(user, "Hello, my order is late")
    await user.should_see("200 · accepted", retries=20)
    conversation = await conversation_of(1, "Ann Lee")
    messages = await customer_messages(conversation.id)
    assert [(m.direction, m.content) for m in messages] == [(MessageDirection.inbound, "Hello, my order is late")]
    await user.should_see(marker="open-conversation", retries=20)


async def test_agent_reply_appears_on_the_phone_without_a_reload(user: User):
    await open_as_customer(user)
    await say(user, "Is anyone there?")
    conversation = await conversation_of(1, "Ann Lee")
    reply = MessageIn(content="Yes, Bea here. How can I help?")
    await outbound.send_message(conversation_id=conversation.id, message=reply)
    await user.should_see("Yes, Bea here. How can I help?", retries=30)


async def test_resend_last_posts_the_same_bytes_and_creates_no_second_message(user: User):
    await open_as_customer(user)
    await say(user, "Only once please")
    conversation = await conversation_of(1, "Ann Lee")
    user.find(marker="resend-last").click()
    await user.should_see("Posted the last message webhook again, byte for byte", retries=20)
    assert len(user.find(marker="http-answer", content="200 · accepted").elements) == 2

    async def both_processed():
        logs = (await webhooks.list_webhook_logs()).items
        return len(logs) == 2 and all(log.status == WebhookStatus.processed for log in logs)

    await eventually(both_processed)
    assert [m.content for m in await customer_messages(conversation.id)] == ["Only once please"]


async def test_malformed_json_is_answered_400_on_the_phone_and_logged(user: User):
    await open_as_customer(user)
    user.find(marker="send-malformed").click()
    await user.should_see("400 · invalid payload: body is not valid JSON", retries=20)
    rejected = (await webhooks.list_webhook_logs(status=WebhookStatus.rejected)).items
    assert [(log.http_status, log.channel_id) for log in rejected] == [(400, 1)]


async def test_provider_controls_change_the_channel_config(user: User):
    await sign_in(user)
    await user.open("/simulator")
    rate = user.find(marker="failure-rate")
    next(iter(rate.elements)).value = 30
    rate.trigger("change", 30)
    latency = user.find(marker="latency")
    next(iter(latency.elements)).value = 800
    latency.trigger("change", 800)

    async def saved():
        config = (await channels.get_channel(1)).config
        return config["failure_rate"] == 0.3 and config["latency_ms"] == 800

    await eventually(saved)
    await user.open("/simulator")
    await user.should_see("30 %")
    await user.should_see("800 ms")


async def test_manual_receipts_move_an_agent_reply_to_delivered_then_read(user: User):
    await open_as_customer(user)
    user.find(marker="auto-receipts").click()
    await user.should_see("Mark each reply delivered or read by hand", retries=20)
    assert (await channels.get_channel(1)).config["auto_receipts"] is False
    await say(user, "Please confirm")
    conversation = await conversation_of(1, "Ann Lee")
    await outbound.send_message(conversation_id=conversation.id, message=MessageIn(content="Confirmed!"))
    await user.should_see("Confirmed!", retries=30)
    await user.should_see(marker="receipt-delivered", retries=20)

    async def reply_status(status: MessageStatus):
        replies = [m for m in await customer_messages(conversation.id) if m.direction == MessageDirection.outbound]
        return replies[0].status == status

    await eventually(lambda: reply_status(MessageStatus.sent))
    user.find(marker="receipt-delivered").click()
    await eventually(lambda: reply_status(MessageStatus.delivered))
    await user.should_see("delivered receipt: 200 · accepted", retries=20)
    await user.should_not_see(marker="receipt-delivered", retries=20)
    user.find(marker="receipt-read").click()
    await eventually(lambda: reply_status(MessageStatus.read))
    await user.should_not_see(marker="receipt-read", retries=20)


async def test_messages_are_signed_when_the_channel_has_a_secret(user: User):
    signed = await channels.create_channel(
        ChannelIn(type=ChannelType.simulator, name="Signed shop", webhook_secret="s3cret-value")
    )
    unsigned = await post_webhook(user.http_client, seed_message(), path=f"/webhooks/simulator/{signed.id}")
    assert unsigned.status_code == 401  # the secret is enforced, so a 200 below means the page signed
    await sign_in(user)
    await user.open("/simulator")
    user.find(marker="channel-select").click()
    user.find("Signed shop").click()
    await user.should_see("Signed requests", retries=20)
    user.find(marker="fake-name").type("Cleo")
    user.find(marker="fake-phone").type("+15550009999")
    user.find(marker="add-customer").click()
    await user.should_see("Playing", retries=20)
    await say(user, "Signed hello")
    await user.should_see("200 · accepted", retries=20)
    conversation = await conversation_of(signed.id, "Cleo")
    assert [m.content for m in await customer_messages(conversation.id)] == ["Signed hello"]


async def test_existing_customer_of_the_channel_can_be_picked_with_their_history(user: User):
    earlier = seed_message("m-zed", sender="+15557770000", text="Earlier question", name="Zed Quinn")
    response = await post_webhook(user.http_client, earlier)
    assert response.status_code == 200
    await conversation_of(1, "Zed Quinn")
    await sign_in(user)
    await user.open("/simulator")
    await user.should_see("Zed Quinn")
    user.find(marker="pick-+15557770000").click()
    await user.should_see("Earlier question", retries=20)
    await user.should_see("Playing", retries=20)


async def test_fake_customer_form_explains_a_bad_phone_number(user: User):
    await sign_in(user)
    await user.open("/simulator")
    user.find(marker="fake-name").type("Nobody")
    user.find(marker="fake-phone").type("call me")
    user.find(marker="add-customer").click()
    await user.should_see("A phone number is 6 to 15 digits", retries=20)
    await user.should_see("Nobody picked yet")


async def test_customer_text_is_shown_as_text(user: User):
    evil = "<img src=x onerror=alert(1)>"
    await open_as_customer(user, name=evil)
    await say(user, f"<b>{evil}</b>")
    found = user.find(content=evil).elements
    assert found and not [e for e in found if isinstance(e, (ui.html, ui.markdown))]


async def test_image_and_location_buttons_post_those_message_types(user: User):
    await open_as_customer(user)
    user.find(marker="composer").type("My broken parcel")
    user.find(marker="send-image").click()
    await user.should_see("https://picsum.photos/seed/", retries=20)
    user.find(marker="location").click()
    user.find(marker="send-location").click()
    await user.should_see("52.52000, 13.40500", retries=20)
    conversation = await conversation_of(1, "Ann Lee")

    async def both_stored():
        messages = await customer_messages(conversation.id)
        return len(messages) == 2 and messages

    image, location = await eventually(both_stored)
    assert (image.content_type.value, image.content) == ("image", "My broken parcel")
    assert image.payload["source_url"].startswith("https://picsum.photos/")
    assert (location.content_type.value, location.payload) == ("location", {"latitude": 52.52, "longitude": 13.405})


async def test_typing_shows_on_both_sides(user: User):
    phone = "+15550004321"  # its own number: typing signals are throttled per sender
    earlier = seed_message("m-typing", sender=phone, text="Earlier", name="Tia Typist")
    assert (await post_webhook(user.http_client, earlier)).status_code == 200
    conversation = await conversation_of(1, "Tia Typist")
    signals = []
    bus.typing.subscribe(signals.append)
    await open_as_customer(user, name="Tia Typist", phone=phone)
    user.find(marker="composer").type("I am typing")
    await eventually(lambda: _async(bool(signals)))
    assert (signals[0].conversation_id, signals[0].name, signals[0].agent_id) == (conversation.id, "Tia Typist", None)
    await user.should_not_see("typing…")
    presence.agent_typing(conversation.id, await agents.get_agent(1))
    await user.should_see("typing…", retries=30)


async def _async(value):
    return value
