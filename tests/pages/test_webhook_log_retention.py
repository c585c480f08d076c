"""The Webhook logs page says how long rows are kept (CHATHUB_WEBHOOK_LOG_DAYS) and which are never deleted."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from tests.helpers.pages import sign_in


@pytest.fixture
def kept_for_a_week(monkeypatch, chathub_env) -> None:
    monkeypatch.setenv("CHATHUB_WEBHOOK_LOG_DAYS", "7")


async def test_the_page_says_how_long_finished_webhooks_are_kept(kept_for_a_week, user: User):
    await sign_in(user)
    await user.open("/webhooks")

    await user.should_see("Processed and rejected webhooks are deleted 7 days after they finished")
    await user.should_see("waiting and failed ones are kept until they are processed or replayed")
