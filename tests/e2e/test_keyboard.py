"""The inbox by keyboard alone, in a real browser: j/k and Alt+↓/↑ move through the list, r replies, e resolves,
/ searches, ? lists the shortcuts; keys typed into a field stay in the field."""

from __future__ import annotations

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.e2e.test_thread_swap import ROWS, seed_conversations, thread_shows
from tests.helpers.browser import dialog_shows, screenshot, sign_in, text_on_page, wait_for


def press(browser, *keys: str) -> None:
    """Keys as the agent types them, into whatever has the focus (no element is clicked)."""
    ActionChains(browser).send_keys(*keys).perform()


def press_with_alt(browser, key: str) -> None:
    ActionChains(browser).key_down(Keys.ALT).send_keys(key).key_up(Keys.ALT).perform()


def focused(browser) -> str:
    """What has the keyboard: "reply", "search" or the focused element's tag."""
    return browser.execute_script("""
        const element = document.activeElement;
        if (element.matches('.inbox-thread textarea')) return 'reply';
        if (element.placeholder === 'Search name, phone or message') return 'search';
        return element.tagName.toLowerCase();""")


def opened_inbox(server, browser, count: int = 3) -> list[int]:
    """The inbox, open, with `count` conversations; their ids as the list shows them (newest first)."""
    seed_conversations(server, count)
    sign_in(browser, server)
    wait_for(browser, text_on_page(f"Customer {count:02d}"))
    wait_for(browser, lambda d: len(d.execute_script(ROWS)) == count)
    return [int(row.get_attribute("data-conversation")) for row in browser.execute_script(ROWS)]


def test_keyboard_only_the_agent_opens_the_second_conversation_replies_and_resolves_it(server, browser):
    first, second, _ = opened_inbox(server, browser)
    press(browser, "j")
    wait_for(browser, lambda d: d.current_url.endswith(f"/conversations/{first}"))
    wait_for(browser, thread_shows("Question number 03"))
    press(browser, "j")
    wait_for(browser, lambda d: d.current_url.endswith(f"/conversations/{second}"))
    wait_for(browser, thread_shows("Question number 02"))
    press(browser, "r")
    wait_for(browser, lambda d: focused(d) == "reply")
    press(browser, "We have sent it again.", Keys.ENTER)
    wait_for(browser, thread_shows("We have sent it again."))
    wait_for(browser, lambda d: focused(d) != "reply")  # sent: the next key is a shortcut again
    press(browser, "e")
    wait_for(
        browser,
        lambda d: (
            d.execute_script(  # read in one step: the header is redrawn as it changes
                "const chip = document.querySelector('.inbox-thread .conversation-status');"
                "return chip && chip.textContent.trim().toLowerCase()"
            )
            == "resolved"
        ),
    )
    screenshot(browser, "keyboard-resolved")
    assert browser.current_url.endswith(f"/conversations/{second}")


def test_keys_typed_into_the_reply_box_stay_there_and_alt_arrows_still_move(server, browser):
    first, second, third = opened_inbox(server, browser)
    browser.execute_script(ROWS)[0].click()
    wait_for(browser, thread_shows("Question number 03"))
    wait_for(browser, lambda d: focused(d) == "reply")  # opening a conversation puts the focus in the reply box
    press(browser, "jjk/e?")
    reply_box = browser.find_element(By.CSS_SELECTOR, ".inbox-thread textarea")
    wait_for(browser, lambda d: reply_box.get_attribute("value") == "jjk/e?")
    assert browser.current_url.endswith(f"/conversations/{first}")
    assert not browser.find_elements(By.CSS_SELECTOR, ".q-dialog")
    press_with_alt(browser, Keys.ARROW_DOWN)
    wait_for(browser, thread_shows("Question number 02"))
    assert browser.current_url.endswith(f"/conversations/{second}")
    wait_for(browser, lambda d: focused(d) == "reply")  # moved while typing: still typing
    press_with_alt(browser, Keys.ARROW_UP)
    wait_for(browser, thread_shows("Question number 03"))
    press(browser, Keys.ESCAPE)
    wait_for(browser, lambda d: focused(d) != "reply")
    press(browser, "k")  # the top row has no row above: nothing moves
    press(browser, "j")
    wait_for(browser, thread_shows("Question number 02"))


def test_question_mark_lists_the_shortcuts_and_slash_focuses_search(server, browser):
    opened_inbox(server, browser)
    press(browser, "?")
    wait_for(browser, dialog_shows("Keyboard shortcuts"))
    panel = browser.find_element(By.CSS_SELECTOR, ".q-dialog").text
    for keys in ("j", "k", "Alt+↓", "/", "r", "e", "s", "a", "Esc", "?"):
        assert keys in panel
    screenshot(browser, "keyboard-help")
    press(browser, Keys.ESCAPE)
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".q-dialog"))
    press(browser, "/")
    wait_for(browser, lambda d: focused(d) == "search")
    press(browser, "Customer 01")
    wait_for(browser, lambda d: len(d.execute_script(ROWS)) == 1)


def test_s_opens_the_snooze_choice_and_a_the_assignment(server, browser):
    first, _, _ = opened_inbox(server, browser)
    press(browser, "j")
    wait_for(browser, thread_shows("Question number 03"))
    press(browser, "s")
    wait_for(browser, dialog_shows("Snooze until"))  # the snooze choice
    screenshot(browser, "keyboard-snooze")
    press(browser, Keys.ESCAPE)
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".q-dialog"))
    press(browser, "a")
    wait_for(browser, dialog_shows("Assign to"))
