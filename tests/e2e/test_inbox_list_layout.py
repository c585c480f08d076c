"""The conversation list keeps to its column at a small laptop's and a phone's width: long previews and names
truncate inside their row, every row's time and unread badge stay visible, and the filters show whole labels."""

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.helpers.browser import ADMIN, screenshot, sign_in, text_on_page, wait_for

SIZES = [(1024, 700), (390, 844)]
LONG_WORD = "Tracking" + "0123456789" * 20  # no space to break at
LONG_NAME = "Maximiliane Theodora Wolfeschlegelsteinhausenbergerdorff"

# The list's scroll container: the nearest ancestor of the rows that clips or scrolls.
LAYOUT = """
const rows = [...document.querySelectorAll('.conversation-row')];
let list = rows[0].parentElement;
while (!['auto', 'scroll', 'hidden'].includes(getComputedStyle(list).overflowX)) list = list.parentElement;
const box = list.getBoundingClientRect();
const inside = (element) => {
  if (!element) return false;
  const r = element.getBoundingClientRect();
  return r.width > 0 && r.left >= box.left - 0.5 && r.right <= box.right + 0.5;
};
return {
  list: [list.scrollWidth, list.clientWidth],
  rows: rows.map((row) => [row.scrollWidth, row.clientWidth]),
  times_inside: rows.map((row) => inside(row.querySelector('.conversation-time'))),
  badges_inside: rows.map((row) => inside(row.querySelector('.unread-badge'))),
};
"""
FILTER_LABELS = """
return [...document.querySelectorAll('.q-select .q-field__native')].map((field) => {
  const shown = field.querySelector('span') || field;
  return [shown.textContent.trim(), shown.scrollWidth <= shown.clientWidth];
});
"""


def _seed_long_previews(server) -> None:
    texts = [
        f"My parcel {LONG_WORD} has not arrived and nobody answers the phone at the depot",
        LONG_WORD + LONG_WORD,
        "Short one",
    ]
    for number, text in enumerate(texts):
        assert (
            server.post_webhook(
                {
                    "from": f"+1555010{number}",
                    "message": text,
                    "message_id": f"long-{number}",
                    "name": LONG_NAME if number else "Ann",
                }
            ).status_code
            == 200
        )
    token = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()[
        "token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    conversation = httpx.get(f"{server.url}/api/v1/conversations", params={"q": "Short"}, headers=headers).json()
    # a normal reply, long as replies are; and the customer writes again, so the row has an unread badge
    reply = httpx.post(
        f"{server.url}/api/v1/conversations/{conversation['items'][0]['id']}/messages",
        headers=headers,
        json={
            "content": "Thanks for waiting, we have checked with the courier and the parcel "
            "will be with you tomorrow morning before noon, " + LONG_WORD
        },
    )
    assert reply.status_code == 201, reply.text
    server.post_webhook({"from": "+15550102", "message": "Great, thanks! " + LONG_WORD, "message_id": "long-again"})


def _use_viewport(browser, width: int, height: int) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_long_previews_never_push_the_list_out_of_its_column(server, browser, width, height):
    _seed_long_previews(server)
    _use_viewport(browser, width, height)
    sign_in(browser, server)
    wait_for(browser, text_on_page("Great, thanks!"))
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".conversation-row")) == 3)
    screenshot(browser, f"inbox-long-previews-{width}")
    layout = browser.execute_script(LAYOUT)
    assert layout["list"][0] == layout["list"][1], "the list scrolls sideways"
    assert all(scroll == client for scroll, client in layout["rows"]), layout["rows"]
    assert all(layout["times_inside"]), "a row's time is cut off"
    assert all(layout["badges_inside"]), "a row's unread badge is cut off"


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_list_filters_show_their_whole_labels(server, browser, width, height):
    server.post_webhook({"from": "+15550100", "message": "Hello", "message_id": "f-1", "name": "Ann"})
    _use_viewport(browser, width, height)
    sign_in(browser, server)
    wait_for(browser, text_on_page("Hello"))
    labels = browser.execute_script(FILTER_LABELS)
    assert [text for text, _ in labels] == [
        "Open",
        "All channels",
        "Everyone's",
        "Any priority",
        "Newest first",
        "Any label",
    ]
    assert all(whole for _, whole in labels), labels
    for select, option in ((0, "Resolved"), (2, "Assigned to me"), (4, "Priority first")):  # the longest labels
        browser.find_elements(By.CSS_SELECTOR, ".q-select")[select].click()
        wait_for(
            browser, lambda d: d.find_elements(By.XPATH, f"//*[contains(@class, 'q-item')][.//*[text()='{option}']]")
        )
        browser.find_element(By.XPATH, f"//*[contains(@class, 'q-item')][.//*[text()='{option}']]").click()
        wait_for(browser, lambda d: option in [text for text, _ in d.execute_script(FILTER_LABELS)])
    labels = browser.execute_script(FILTER_LABELS)
    screenshot(browser, f"inbox-filters-{width}")
    assert [text for text, _ in labels] == [
        "Resolved",
        "All channels",
        "Assigned to me",
        "Any priority",
        "Priority first",
        "Any label",
    ]
    assert all(whole for _, whole in labels), labels
