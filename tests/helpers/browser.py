"""Real-browser helpers: the app as its own process (`python main.py`) on a free 127.0.0.1 port, Debian's
headless Chromium through chromedriver, waits that look again, screenshots in test-artifacts/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from bench.common import HEADLESS_CHROME_ARGS

ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHATHUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHATHUB_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROME_ARGS = [*HEADLESS_CHROME_ARGS, "--window-size=1400,900"]
ADMIN = ("admin@example.com", "Admin-pass-1")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    def __init__(self, data_dir: Path, **settings: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST" and not k.startswith("CHATHUB_")}
        env.update(
            CHATHUB_DATA_DIR=str(data_dir),
            CHATHUB_PORT=str(self.port),
            CHATHUB_HOST="127.0.0.1",
            CHATHUB_ADMIN_EMAIL=ADMIN[0],
            CHATHUB_ADMIN_PASSWORD=ADMIN[1],
            **settings,
        )
        self.log = data_dir.parent / "server.log"
        self.process = subprocess.Popen(
            [sys.executable, "main.py"], cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the server did not answer within 30 s")

    def post_webhook(self, payload: dict) -> httpx.Response:
        return httpx.post(f"{self.url}/webhooks/simulator", json=payload, timeout=10)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def new_browser(*, logging: bool = False, time_zone: str | None = None) -> WebDriver:
    """Headless Chromium; with `logging`, its console can be read with `driver.get_log("browser")`; with
    `time_zone` (an IANA name) its clock is in that zone, whatever the machine's."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail(
            f"real-browser tests need {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium "
            "chromium-driver; .ci/run installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in CHROME_ARGS:
        options.add_argument(argument)
    if logging:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    env = {**os.environ, "TZ": time_zone} if time_zone else None
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER, env=env), options=options)


def screenshot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def wait_for(driver: WebDriver, condition, timeout: float = 10.0):
    # A redraw can replace an element between finding and reading it: look again on the next poll.
    return WebDriverWait(
        driver,
        timeout,
        poll_frequency=0.05,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    ).until(lambda d: condition(d))


def text_on_page(text: str):
    return lambda driver: text in driver.find_element(By.TAG_NAME, "body").text


def dialog_shows(text: str):
    """An open dialog with `text` in it. A dialog fades in: until it is visible, WebDriver reads its text as ""."""
    return lambda driver: any(text in dialog.text for dialog in driver.find_elements(By.CSS_SELECTOR, ".q-dialog"))


def sign_in(driver: WebDriver, server: LiveServer, email: str = ADMIN[0], password: str = ADMIN[1]) -> None:
    driver.get(f"{server.url}/signin")
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "input[type=email]"))
    driver.find_element(By.CSS_SELECTOR, "input[type=email]").send_keys(email)
    driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(password + "\n")
    wait_for(driver, lambda d: d.current_url.rstrip("/") == server.url)
