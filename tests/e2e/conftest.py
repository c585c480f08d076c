"""Real-browser tests: the app runs as its own process (`python main.py`) on a free 127.0.0.1 port, and
Debian's headless Chromium drives it through chromedriver. Screenshots land in test-artifacts/.
A missing browser fails these tests: it never skips them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.helpers.browser import LiveServer, new_browser, screenshot


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path / "data")
    yield live
    live.stop()


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[WebDriver]:
    driver = new_browser()
    yield driver
    screenshot(driver, f"{request.node.name}-end")
    driver.quit()
