"""The Channels page: inboxes, their webhook URLs, secrets and settings (admin only)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from nicegui import ElementFilter, ui
from nicegui.testing import User

from chathub import drivers
from chathub.drivers.simulator import SimulatorDriver
from chathub.models import AgentRole, ChannelType
from chathub.pages import channels as channels_page
from chathub.schemas import AgentIn, ChannelIn
from chathub.services import agents, channels
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message

PUBLIC_URL = "https://chat.example.com"


@pytest.fixture
def public_url(monkeypatch: pytest.MonkeyPatch, chathub_env) -> str:
    monkeypatch.setenv("CHATHUB_PUBLIC_URL", PUBLIC_URL)
    monkeypatch.setenv("CHATHUB_SECURE_COOKIES", "false")  # the test browser talks plain http
    return PUBLIC_URL


async def default_channel():
    return (await channels.list_channels())[0]


def value_of(user: User, marker: str) -> Any:
    (element,) = user.find(marker=marker).elements
    return element.value


async def test_each_channel_shows_its_webhook_url_from_the_public_url_and_copies_it(public_url, user: User):
    await sign_in(user)
    await user.open("/channels")
    channel = await default_channel()
    await user.should_see(f"{PUBLIC_URL}/webhooks/simulator/{channel.id}")
    await user.should_see("Signed webhooks")  # behind https the default simulator channel signs
    user.find(marker=f"copy-webhook-{channel.id}").click()
    await user.should_see("Webhook URL copied to the clipboard")


async def test_a_new_channel_with_a_generated_secret_only_accepts_signed_webhooks(user: User):
    await sign_in(user)
    await user.open("/channels")
    user.find(marker="add-channel").click()
    user.find(marker="channel-name").type("Support line")
    user.find(marker="generate-secret").click()
    shown_secret = value_of(user, "channel-secret")
    assert len(shown_secret) >= 24
    user.find(marker="save-channel").click()
    await user.should_see("Support line saved", retries=20)
    await user.should_see("Signed webhooks")

    created = next(c for c in await channels.list_channels() if c.name == "Support line")
    assert created.webhook_secret == shown_secret
    path = f"/webhooks/simulator/{created.id}"
    assert (await post_webhook(user.http_client, seed_message("u1"), path=path)).status_code == 401
    signed = await post_webhook(user.http_client, seed_message("s1"), path=path, secret=shown_secret)
    assert signed.status_code == 200


async def test_on_https_the_default_simulator_channel_keeps_its_secret_when_the_field_is_cleared(
    public_url, user: User
):
    await sign_in(user)
    await user.open("/channels")
    channel = await default_channel()
    user.find(marker=f"edit-channel-{channel.id}").click()
    assert value_of(user, "channel-secret") == channel.webhook_secret
    user.find(marker="channel-secret").clear()
    user.find(marker="save-channel").click()

    await user.should_see(
        "The default simulator channel keeps a webhook secret while CHATHUB_PUBLIC_URL is https", retries=20
    )
    assert (await default_channel()).webhook_secret == channel.webhook_secret


async def test_a_setting_the_channel_does_not_have_shows_the_services_sentence_and_saves_nothing(
    monkeypatch: pytest.MonkeyPatch, user: User
):
    monkeypatch.delitem(channels_page.CONFIG_FORMS, ChannelType.simulator)  # its settings as JSON
    await sign_in(user)
    await user.open("/channels")
    channel = await default_channel()
    user.find(marker=f"edit-channel-{channel.id}").click()
    user.find(marker="channel-config-json").clear().type('{"secret": "s3cret-value", "failure_rate": true}')
    user.find(marker="save-channel").click()

    await user.should_see("Simulator channels have no setting 'secret'", retries=20)
    await user.should_see("The webhook secret is the channel's own webhook_secret")
    stored = await default_channel()
    assert stored.config == channel.config and stored.webhook_secret is None

    user.find(marker="channel-config-json").clear().type('{"failure_rate": true}')
    user.find(marker="save-channel").click()
    await user.should_see("Failure rate must be a number from 0 to 1.", retries=20)
    assert (await default_channel()).config == channel.config


async def test_simulator_settings_are_edited_with_typed_inputs_and_saved_as_numbers(user: User):
    await sign_in(user)
    await user.open("/channels")
    channel = await default_channel()
    user.find(marker=f"edit-channel-{channel.id}").click()
    user.find(marker="sim-failure-rate").clear().type("0.25")
    user.find(marker="sim-latency").clear().type("200")
    user.find(marker="sim-delivered-after").clear().type("100")
    user.find(marker="sim-auto-receipts").click()
    user.find(marker="save-channel").click()
    await user.should_see("Simulator saved", retries=20)

    config = (await default_channel()).config
    assert config["failure_rate"] == 0.25
    assert config["latency_ms"] == 200 and isinstance(config["latency_ms"], int)
    assert config["delivered_after_ms"] == 100
    assert config["auto_receipts"] is False


async def test_invalid_values_show_the_services_sentence_inline_and_save_nothing(user: User):
    await sign_in(user)
    await user.open("/channels")
    before = await channels.list_channels()
    user.find(marker="add-channel").click()
    user.find(marker="save-channel").click()
    await user.should_see("The name is empty.", retries=20)

    user.find(marker="channel-name").type("Broken")
    user.find(marker="sim-failure-rate").clear().type("1.5")
    user.find(marker="save-channel").click()
    await user.should_see("Failure rate must be a number from 0 to 1.", retries=20)

    user.find(marker="sim-failure-rate").clear().type("0.5")
    user.find(marker="channel-api-url").type("ftp://provider.example")
    user.find(marker="save-channel").click()
    await user.should_see("The API base URL must start with http:// or https://.", retries=20)

    assert [c.id for c in await channels.list_channels()] == [c.id for c in before]


async def test_a_failed_edit_keeps_the_stored_channel_unchanged(user: User):
    await sign_in(user)
    await user.open("/channels")
    channel = await default_channel()
    user.find(marker=f"edit-channel-{channel.id}").click()
    user.find(marker="channel-name").clear().type("Renamed")
    user.find(marker="sim-latency").clear().type("99999")
    user.find(marker="save-channel").click()
    await user.should_see("Latency must be a whole number of milliseconds from 0 to 60000.", retries=20)
    stored = await default_channel()
    assert stored.name == "Simulator" and stored.config["latency_ms"] == 0


async def test_disabling_a_channel_makes_its_webhook_answer_404_until_enabled_again(user: User):
    await sign_in(user)
    await user.open("/channels")
    channel = await default_channel()
    path = f"/webhooks/simulator/{channel.id}"
    user.find(marker=f"enabled-{channel.id}").click()
    await user.should_see("Disabled: its webhook answers 404 and replies are not sent.", retries=20)
    assert (await post_webhook(user.http_client, seed_message("d1"), path=path)).status_code == 404

    user.find(marker=f"enabled-{channel.id}").click()
    await user.should_not_see("Disabled: its webhook answers 404 and replies are not sent.", retries=20)
    assert (await post_webhook(user.http_client, seed_message("d2"), path=path)).status_code == 200


async def test_channel_names_are_shown_as_plain_text(user: User):
    name = "<img src=x onerror=alert(1)>"
    await channels.create_channel(ChannelIn(type=ChannelType.simulator, name=name))
    await sign_in(user)
    await user.open("/channels")
    await user.should_see(name)
    assert all(isinstance(element, ui.label) for element in user.find(name).elements)


class FakeCredentialsDriver(SimulatorDriver):
    """Stands in for a provider whose settings have no typed form (no `config_fields`)."""

    type = "twilio"
    label = "Twilio (SMS, WhatsApp)"
    uses_webhook_secret = False

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        if not config.get("account_sid") or not config.get("auth_token"):
            raise ValueError("account_sid and auth_token are required")
        return dict(config)


async def test_types_without_a_form_edit_settings_as_json_and_keep_stored_credentials_hidden(
    monkeypatch: pytest.MonkeyPatch, user: User
):
    monkeypatch.setitem(drivers.DRIVERS, "twilio", FakeCredentialsDriver)
    monkeypatch.delitem(channels_page.CONFIG_FORMS, ChannelType.twilio, raising=False)
    await sign_in(user)
    await user.open("/channels")
    user.find(marker="add-channel").click()
    user.find(marker="channel-type").click()
    user.find("Twilio (SMS, WhatsApp)").click()
    user.find(marker="channel-name").type("SMS")
    user.find(marker="channel-config-json").clear().type("{not json")
    user.find(marker="save-channel").click()
    await user.should_see("The settings are not valid JSON", retries=20)
    user.find(marker="channel-config-json").clear().type('{"account_sid": "AC1"}')
    user.find(marker="save-channel").click()
    await user.should_see("Account_sid and auth_token are required.", retries=20)
    user.find(marker="channel-config-json").clear().type('{"account_sid": "AC1", "auth_token": "s3cret"}')
    user.find(marker="save-channel").click()
    await user.should_see("SMS saved", retries=20)

    sms = next(c for c in await channels.list_channels() if c.name == "SMS")
    await user.should_see(marker=f"edit-channel-{sms.id}", retries=20)  # the list is redrawn after the save
    user.find(marker=f"edit-channel-{sms.id}").click()
    shown = json.loads(value_of(user, "channel-config-json"))
    assert shown == {"account_sid": "AC1", "auth_token": "***"}
    user.find(marker="channel-config-json").clear().type(json.dumps({**shown, "account_sid": "AC2"}))
    user.find(marker="save-channel").click()

    async def stored_config():
        config = (await channels.get_channel(sms.id)).config
        return config if config["account_sid"] == "AC2" else None

    assert await eventually(stored_config) == {"account_sid": "AC2", "auth_token": "s3cret"}


async def test_an_agent_without_the_admin_role_sees_the_notice_and_no_channels(public_url, user: User):
    await agents.create_agent(AgentIn(email="ann@example.com", name="Ann", password="Ann-pass-1", role=AgentRole.agent))
    await sign_in(user, "ann@example.com", "Ann-pass-1")
    await user.open("/channels")
    await user.should_see("Only admins can open this page.")
    await user.should_not_see(f"{PUBLIC_URL}/webhooks/simulator")
    await user.should_not_see(marker="add-channel")


async def test_a_telegram_channel_from_the_form_registers_its_webhook_and_shows_its_health(public_url, user: User):
    from tests.fakes.telegram import TOKEN, FakeTelegram

    with FakeTelegram() as fake:
        await sign_in(user)
        await user.open("/channels")
        user.find(marker="add-channel").click()
        user.find(marker="channel-type").click()
        user.find("Telegram").click()
        await user.should_see(marker="config-bot_token", retries=20)
        await user.should_not_see(marker="channel-secret")  # Telegram brings its own secret token
        user.find(marker="channel-name").type("Support bot")
        user.find(marker="channel-api-url").type(fake.base_url)
        user.find(marker="config-bot_token").type("999:not-the-bot-token-not-the-bot-token")
        user.find(marker="save-channel").click()
        await user.should_see("Registering the webhook failed", retries=50)  # the warning, then the red note
        bot = next(c for c in await channels.list_channels() if c.name == "Support bot")
        await user.should_see(marker=f"channel-problem-{bot.id}", retries=20)

        user.find(marker=f"edit-channel-{bot.id}").click()
        assert value_of(user, "config-bot_token").startswith("***")  # never shown again in full
        user.find(marker="config-bot_token").clear().type(TOKEN)
        user.find(marker="save-channel").click()
        await user.should_see("Telegram will post this bot's messages to", retries=50)
        await user.should_not_see(marker=f"channel-problem-{bot.id}", retries=20)
        assert fake.calls_to("setWebhook")[-1].params["url"] == f"{PUBLIC_URL}/webhooks/telegram/{bot.id}"

        user.find(marker=f"check-channel-{bot.id}").click()
        await user.should_see("The webhook is registered and working", retries=50)
        await user.should_see("bot username: @chathub_support_bot")


def _card_text(user: User, channel_id: int) -> str:
    """Every text of the channel's card (badges, their tooltips, notes), as it is drawn now."""
    with user:
        cards = list(ElementFilter(marker=f"channel-{channel_id}"))
    return " | ".join(
        str(getattr(element, "text", "") or "") for card in cards for element in card.descendants(include_self=True)
    )


async def card_shows(user: User, channel_id: int, *shown: str, hidden: tuple[str, ...] = ()) -> str:
    """Wait until the card (redrawn by live changes) says all of `shown` and none of `hidden`."""

    async def drawn() -> str | None:
        text = _card_text(user, channel_id)
        return text if all(s in text for s in shown) and not any(h in text for h in hidden) else None

    return await eventually(drawn, timeout=10)


async def _add_provider_channel(user: User, type_label: str, name: str, api_url: str, **settings: str) -> int:
    user.find(marker="add-channel").click()
    user.find(marker="channel-type").click()
    user.find(type_label).click()
    await user.should_see(marker=f"config-{next(iter(settings))}", retries=20)
    user.find(marker="channel-name").type(name)
    user.find(marker="channel-api-url").type(api_url)
    for key, value in settings.items():
        user.find(marker=f"config-{key}").type(value)
    user.find(marker="save-channel").click()
    await user.should_see(f"{name} saved", retries=50)
    return next(c.id for c in await channels.list_channels() if c.name == name)


def _save_setting(user: User, channel_id: int, key: str, value: str) -> None:
    user.find(marker=f"edit-channel-{channel_id}").click()
    user.find(marker=f"config-{key}").clear().type(value)
    user.find(marker="save-channel").click()


async def test_a_telegram_channel_is_called_verified_only_while_telegram_confirms_its_webhook(public_url, user: User):
    from tests.fakes.telegram import TOKEN, FakeTelegram

    with FakeTelegram() as fake:
        await sign_in(user)
        await user.open("/channels")
        bot = await _add_provider_channel(
            user, "Telegram", "Support bot", fake.base_url, bot_token="999:not-the-bot-token-not-the-bot-token"
        )
        # setWebhook was refused: the badge says so, with the reason
        await card_shows(
            user,
            bot,
            "Not working",
            "Registering the webhook failed: 401: Telegram rejected the bot token",
            hidden=("Verified webhooks",),
        )

        _save_setting(user, bot, "bot_token", TOKEN)
        await card_shows(user, bot, "Verified webhooks", hidden=("Not working",))

        fake.webhook.update(last_error_date=int(time.time()), last_error_message="Connection refused")
        user.find(marker=f"check-channel-{bot}").click()
        # the check found Telegram failing to deliver to the webhook
        await card_shows(
            user,
            bot,
            "Not working",
            "The connection check failed: Telegram could not deliver",
            "Connection refused",
            hidden=("Verified webhooks",),
        )

        fake.webhook.pop("last_error_date")
        user.find(marker=f"check-channel-{bot}").click()
        await card_shows(
            user,
            bot,
            "Verified webhooks",
            "The webhook is registered and working",
            hidden=("Not working", "The connection check failed"),
        )


async def test_a_whatsapp_channel_whose_token_the_graph_api_refuses_shows_the_problem_not_verified(
    public_url, user: User
):
    from tests.fakes.whatsapp import ACCESS_TOKEN, FakeWhatsApp

    with FakeWhatsApp() as fake:
        number = await _whatsapp_channel_added(user, fake, "EAAJB-expired-token")
        await card_shows(
            user,
            number,
            "Not working",
            "The connection check failed: The access token is invalid or expired",
            hidden=("Verified webhooks",),
        )

        _save_setting(user, number, "access_token", ACCESS_TOKEN)
        await card_shows(user, number, "Verified webhooks", hidden=("Not working",))

        fake.script.queue(
            "phone_number",
            500,
            {"error": {"message": "An unknown error occurred", "code": 1, "type": "OAuthException"}},
            times=5,
        )
        user.find(marker=f"check-channel-{number}").click()
        await card_shows(
            user,
            number,
            "Not working",
            "The connection check failed: WhatsApp could not be checked right now",
            hidden=("Verified webhooks",),
        )


async def test_a_connection_check_clicked_just_before_the_list_is_drawn_again_still_runs(public_url, user: User):
    """A change announced between the click and its handler draws the list again: the check still runs (its
    answer becomes the channel's state) instead of failing in the card that went away."""
    from tests.fakes.whatsapp import ACCESS_TOKEN, FakeWhatsApp

    with FakeWhatsApp() as fake:
        number = await _whatsapp_channel_added(user, fake, ACCESS_TOKEN)
        await card_shows(user, number, "Verified webhooks")
        fake.script.queue("phone_number", 401, {"error": {"message": "Invalid OAuth access token", "code": 190}})
        user.find(marker=f"check-channel-{number}").click()
        with user:
            for card in ElementFilter(marker=f"channel-{number}"):
                card.delete()  # as a redraw does, before the click's handler has run
        await card_shows(user, number, "Not working", hidden=("Verified webhooks",))


async def _whatsapp_channel_added(user: User, fake, access_token: str) -> int:
    """Signed in as the admin, a WhatsApp channel added on the Channels page with this access token."""
    from tests.fakes.whatsapp import PHONE_NUMBER_ID

    await sign_in(user)
    await user.open("/channels")
    return await _add_provider_channel(
        user,
        "WhatsApp",
        "Sales line",
        fake.base_url,
        phone_number_id=PHONE_NUMBER_ID,
        access_token=access_token,
        app_secret="app-secret-1",
    )


async def test_an_admin_turns_on_automatic_assignment_with_a_limit(user: User):
    await sign_in(user)
    await user.open("/channels")
    channel = await default_channel()
    user.find(marker=f"edit-channel-{channel.id}").click()
    user.find(marker="channel-auto-assign").click()
    user.find(marker="channel-max-open").clear().type("3")
    user.find(marker="save-channel").click()
    await user.should_see("Simulator saved", retries=20)

    saved = await default_channel()
    assert (saved.auto_assign, saved.max_open_per_agent) == (True, 3)
    await user.should_see("Assigns new and reopened conversations to an online agent (at most 3 open per agent).")
