"""The simulator page on a public deployment signs its own posts, and only admins change how the simulated
provider behaves: agents may play customers."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from chathub.models import AgentRole
from chathub.schemas import AgentIn
from chathub.services import agents, channels, webhooks
from tests.helpers.pages import play_customer, say, sign_in, tabs_miss_access_changes
from tests.helpers.webhooks import post_webhook, seed_message

ADMINS_ONLY = "Only admins can change how the simulated provider behaves."


@pytest.fixture
def public_url(https_public_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CHATHUB_SECURE_COOKIES", "false")  # the test browser talks plain http
    return https_public_url


async def new_agent(email: str, role: AgentRole) -> None:
    await agents.create_agent(AgentIn(email=email, name=email.split("@")[0].title(), password="Pass-word-1", role=role))


async def test_on_https_the_page_signs_its_posts_while_unsigned_ones_are_refused(public_url, user: User):
    unsigned = await post_webhook(user.http_client, seed_message("outside-1"))
    assert unsigned.status_code == 401
    await sign_in(user)
    await play_customer(user, "Ann Lee", "+15550004321")
    await user.should_see("Signed requests")

    await say(user, "Signed by the page")

    await user.should_see("200 · accepted", retries=20)


async def test_an_agent_plays_customers_but_sees_no_provider_controls(user: User):
    await new_agent("ann@example.com", AgentRole.agent)
    await sign_in(user, "ann@example.com", "Pass-word-1")
    await play_customer(user, "Ann Lee", "+15550004321")

    await say(user, "An agent playing a customer")

    await user.should_see("200 · accepted", retries=20)
    await user.should_see(ADMINS_ONLY)
    await user.should_see(marker="provider-summary")
    for control in ("failure-rate", "latency", "auto-receipts"):
        await user.should_not_see(marker=control)


async def test_provider_controls_refuse_an_admin_demoted_after_the_page_loaded(user: User):
    await new_agent("bea@example.com", AgentRole.admin)
    await sign_in(user, "bea@example.com", "Pass-word-1")
    await user.open("/simulator")
    await user.should_see(marker="auto-receipts")
    bea = next(a for a in await agents.list_agents() if a.email == "bea@example.com")
    await agents.update_agent(bea.id, role=AgentRole.agent)
    before = dict((await channels.get_channel(1)).config)

    user.find(marker="auto-receipts").click()
    rate = user.find(marker="failure-rate")
    next(iter(rate.elements)).value = 50
    rate.trigger("change", 50)

    await user.should_see("Only admins can do this: nothing was changed.", retries=20)
    assert (await channels.get_channel(1)).config == before


async def test_on_https_a_deactivated_agents_open_simulator_signs_and_posts_nothing(public_url, user: User):
    await new_agent("ann@example.com", AgentRole.agent)
    await sign_in(user, "ann@example.com", "Pass-word-1")
    await play_customer(user, "Ann Lee", "+15550004321")
    tabs_miss_access_changes()
    ann = next(a for a in await agents.list_agents() if a.email == "ann@example.com")
    await agents.update_agent(ann.id, is_active=False)

    await say(user, "Signed by a deactivated agent")

    await user.should_see("Your account was deactivated: nothing was changed.", retries=20)
    await user.should_not_see("200 · accepted")
    assert (await webhooks.list_webhook_logs(limit=10)).items == []  # not even a signed request arrived
