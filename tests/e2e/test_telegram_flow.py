"""A new user's Telegram set-up in a real browser, against a fake Bot API on 127.0.0.1: add the channel on
the Channels page (ChatHub registers its webhook), check the connection, receive a customer's photo, and
answer with a photo of one's own from the composer. The request Telegram received is kept in
test-artifacts/ for the record."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.helpers.browser import ARTIFACTS, LiveServer, screenshot, sign_in, text_on_page, wait_for

PUBLIC_URL = "https://chathub.example.com"
FIXTURES = Path(__file__).parent.parent / "drivers" / "fixtures" / "telegram"
ROOT = Path(__file__).parents[2]


@pytest.fixture
def telegram_server(tmp_path: Path):
    live = LiveServer(tmp_path / "data", CHATHUB_PUBLIC_URL=PUBLIC_URL, CHATHUB_SECURE_COOKIES="false")
    yield live
    live.stop()


def fill(browser, label: str, text: str) -> None:
    field = browser.find_element(By.XPATH, f"//label[.//*[normalize-space(text())='{label}']]//input")
    field.send_keys(Keys.CONTROL + "a", Keys.DELETE)
    field.send_keys(text)


def test_a_telegram_channel_set_up_in_the_ui_receives_a_photo_and_answers_with_one(
    telegram_server, browser, tmp_path: Path
):
    server = telegram_server
    with FakeTelegram() as fake:
        fake.add_file(
            "AgACAgIAAxkBAAIBlarge",
            (ROOT / "tests/e2e/fixtures/parcel.png").read_bytes(),
            file_path="photos/file_1.png",
        )
        sign_in(browser, server)
        browser.get(f"{server.url}/channels")
        wait_for(browser, text_on_page("Add channel"))
        browser.find_element(By.XPATH, "//button[.//*[text()='Add channel']]").click()
        wait_for(browser, text_on_page("Add a channel"))
        browser.find_element(By.XPATH, "//label[.//*[text()='Type']]").click()
        wait_for(
            browser, lambda d: d.find_elements(By.XPATH, "//div[contains(@class,'q-item')][.//*[text()='Telegram']]")
        )
        browser.find_element(By.XPATH, "//div[contains(@class,'q-item')][.//*[text()='Telegram']]").click()
        wait_for(browser, text_on_page("Bot token"))
        fill(browser, "Name", "Support bot")
        fill(browser, "API base URL (optional)", fake.base_url)
        fill(browser, "Bot token", TOKEN)
        screenshot(browser, "telegram-1-add-channel")
        browser.find_element(
            By.XPATH, "//button[.//*[text()='Add channel']][ancestor::*[contains(@class,'q-dialog')]]"
        ).click()
        wait_for(browser, text_on_page("Support bot saved"))

        (registration,) = fake.calls_to("setWebhook")
        webhook_url = f"{PUBLIC_URL}/webhooks/telegram/2"
        assert registration.params["url"] == webhook_url
        wait_for(browser, text_on_page(webhook_url))
        browser.find_element(By.XPATH, "//button[.//i[text()='network_check']]").click()
        wait_for(browser, text_on_page("pending update count: 0"))
        wait_for(browser, text_on_page("Verified webhooks"))  # registered and checked
        screenshot(browser, "telegram-2-channel-health")

        update = json.loads((FIXTURES / "photo_album.json").read_text())
        answer = httpx.post(
            f"{server.url}/webhooks/telegram/2",
            json=update,
            timeout=10,
            headers={"X-Telegram-Bot-Api-Secret-Token": fake.webhook_secret},
        )
        assert answer.status_code == 200, answer.text
        browser.get(server.url)
        wait_for(browser, text_on_page("Ann Lee"))
        browser.find_element(By.XPATH, "//*[contains(@class, 'nicegui-link')][.//*[text()='Ann Lee']]").click()
        wait_for(browser, lambda d: "/conversations/" in d.current_url)
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "img[src='/media/1']"), timeout=15)
        wait_for(
            browser,
            lambda d: d.execute_script(
                "const i = document.querySelector(\"img[src='/media/1']\");"
                " return i && i.complete && i.naturalWidth > 0"
            ),
        )

        upload = browser.find_element(By.CSS_SELECTOR, "input[type=file]")
        upload.send_keys(str(ROOT / "tests/e2e/fixtures/label.png"))
        wait_for(browser, text_on_page("label.png"))
        browser.find_element(By.TAG_NAME, "textarea").send_keys("Here is your return label <b>_print it_</b>\n")
        wait_for(browser, lambda d: fake.calls_to("sendPhoto"), timeout=15)
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".status-sent"), timeout=15)
        wait_for(
            browser,
            lambda d: d.execute_script(  # the reply's photo, served by ChatHub, has loaded
                "const i = document.querySelector(\"img[src='/media/2']\");"
                " return i && i.complete && i.naturalWidth > 0"
            ),
        )
        screenshot(browser, "telegram-3-thread")

    (sent,) = fake.calls_to("sendPhoto")
    assert sent.params == {"chat_id": "987654321", "caption": "Here is your return label <b>_print it_</b>"}
    assert sent.files["photo"].data == (ROOT / "tests/e2e/fixtures/label.png").read_bytes()
    request = fake.requests_to("sendPhoto")[0]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "telegram-sendPhoto-request.txt").write_text(
        f"{request.method} {request.path}\n"
        + "".join(f"{k}: {v}\n" for k, v in request.headers.items())
        + "\n"
        + request.body.decode("utf-8", errors="replace")[:1500]
    )
