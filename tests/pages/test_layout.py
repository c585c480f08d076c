"""The frame every signed-in page shares."""

import asyncio
import logging
import re
from uuid import uuid4

import pytest
from nicegui.nicegui import _on_handshake
from nicegui.testing import User

from tests.helpers.pages import sign_in


async def test_a_tab_that_connects_and_goes_before_answering_logs_nothing(user: User, caplog: pytest.LogCaptureFixture):
    """A page left at once (a sign-in that ends, a quick click elsewhere) never answers what the page asks the
    browser on connect. The navigation drawer asked whether it was open, and NiceGUI logged an ERROR with a
    traceback a second later; it now learns that from the browser's own report, and the page asks nothing."""
    await sign_in(user)
    response = await user.http_client.get("/customers")
    client_id = re.search(r"'client_id': '([0-9a-f-]+)'", response.text).group(1)
    await _on_handshake(f"test-{uuid4()}", {"client_id": client_id, "tab_id": str(uuid4()), "document_id": "1"})
    await asyncio.sleep(1.3)  # NiceGUI waits a second for an answer
    assert not [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
