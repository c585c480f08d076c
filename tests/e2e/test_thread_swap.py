"""Opening a conversation from the inbox list swaps only the thread, in a real browser: the list keeps its loaded
rows and its scroll position, the URL follows, back and forward swap the thread again, and nothing reloads."""

from __future__ import annotations

from selenium.common.exceptions import ElementNotInteractableException
from selenium.webdriver.common.by import By

from tests.helpers.browser import screenshot, sign_in, text_on_page, wait_for

ROWS = "return [...document.querySelectorAll('.conversation-row')]"
LIST_SCROLLER = "return document.querySelector('.conversation-row').closest('.q-scrollarea__container')"
THREAD_TEXT = "return document.querySelector('.inbox-thread').innerText"


def seed_conversations(server, count: int) -> None:
    for number in range(1, count + 1):
        response = server.post_webhook(
            {
                "from": f"+1555000{number:04d}",
                "message": f"Question number {number:02d}",
                "message_id": f"swap-{number}",
                "name": f"Customer {number:02d}",
            }
        )
        assert response.status_code == 200, response.text


def row(browser, index: int):
    """The `index`-th row of the list as shown (1 is the top), and its conversation's id."""
    element = browser.execute_script(ROWS)[index - 1]
    return element, int(element.get_attribute("data-conversation"))


def list_scroll_top(browser) -> float:
    return browser.execute_script(LIST_SCROLLER + ".scrollTop")


def thread_shows(text: str):
    return lambda driver: text in driver.execute_script(THREAD_TEXT)


def question_of(browser, conversation_row) -> str:
    return conversation_row.find_element(By.CSS_SELECTOR, ".text-sm").text


def same_page(browser) -> bool:
    """The marker a test left on `window` survives: the page was not loaded again."""
    return browser.execute_script("return window.chathubTestMarker") == "still here"


def test_opening_row_26_after_load_more_keeps_the_list_and_swaps_only_the_thread(server, browser):
    seed_conversations(server, 40)
    sign_in(browser, server)
    wait_for(browser, text_on_page("Customer 40"), timeout=20)
    wait_for(browser, lambda d: len(d.execute_script(ROWS)) == 30)
    browser.find_element(By.XPATH, "//button[.//*[text()='Load more']]").click()
    wait_for(browser, lambda d: len(d.execute_script(ROWS)) == 40)
    row_26, id_26 = row(browser, 26)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", row_26)
    scrolled = list_scroll_top(browser)
    assert scrolled > 0
    question_26 = question_of(browser, row_26)
    browser.execute_script("window.chathubTestMarker = 'still here'")

    row_26.click()
    wait_for(browser, lambda d: d.current_url == f"{server.url}/conversations/{id_26}")
    wait_for(browser, lambda d: d.find_elements(By.TAG_NAME, "textarea"))  # the reply box of the thread
    assert same_page(browser)
    assert len(browser.execute_script(ROWS)) == 40
    assert list_scroll_top(browser) == scrolled
    wait_for(browser, thread_shows(question_26))
    screenshot(browser, "swap-row-26-open")
    assert row(browser, 26)[0].get_attribute("aria-current") == "page"

    row_27, id_27 = row(browser, 27)
    question_27 = question_of(browser, row_27)
    row_27.click()
    wait_for(browser, thread_shows(question_27))
    assert browser.current_url == f"{server.url}/conversations/{id_27}"
    assert question_26 not in browser.execute_script(THREAD_TEXT)

    browser.back()
    wait_for(browser, lambda d: d.current_url == f"{server.url}/conversations/{id_26}")
    wait_for(browser, thread_shows(question_26))
    assert question_27 not in browser.execute_script(THREAD_TEXT)
    assert row(browser, 26)[0].get_attribute("aria-current") == "page"
    browser.back()
    wait_for(browser, thread_shows("Pick a conversation to read and reply."))
    assert browser.current_url == f"{server.url}/"
    browser.forward()
    wait_for(browser, thread_shows(question_26))
    assert same_page(browser)
    assert len(browser.execute_script(ROWS)) == 40
    assert list_scroll_top(browser) == scrolled


def test_a_direct_load_opens_the_conversation_and_links_to_other_pages_leave_the_inbox(server, browser):
    seed_conversations(server, 2)
    sign_in(browser, server)
    wait_for(browser, text_on_page("Customer 02"))
    browser.get(f"{server.url}/conversations/1")
    wait_for(browser, thread_shows("Question number 01"))
    assert browser.execute_script(ROWS)[1].get_attribute("aria-current") == "page"  # the older one is below
    for width, height in ((1440, 900), (1024, 700), (390, 844)):
        browser.set_window_size(width, height)
        wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".inbox-thread textarea").is_displayed())
        screenshot(browser, f"inbox-conversation-open-{width}")
    browser.set_window_size(1400, 900)
    browser.execute_script("window.chathubTestMarker = 'still here'")
    customers = "//nav//a[.//*[text()='Customers']]"
    wait_for(browser, lambda d: d.find_element(By.XPATH, customers).is_displayed())  # the drawer slides back in
    wait_for(browser, lambda d: click_if_interactable(d.find_element(By.XPATH, customers)))
    wait_for(browser, lambda d: d.current_url == f"{server.url}/customers")
    wait_for(browser, lambda d: not same_page(d))
    wait_for(browser, text_on_page("+15550000001"))


def click_if_interactable(element) -> bool:
    try:
        element.click()
    except ElementNotInteractableException:
        return False
    return True


def test_on_a_phone_the_list_and_the_thread_take_turns_without_a_reload(server, browser):
    seed_conversations(server, 3)
    browser.set_window_size(390, 844)
    sign_in(browser, server)
    wait_for(browser, text_on_page("Customer 03"))
    browser.execute_script("window.chathubTestMarker = 'still here'")
    row_2, id_2 = row(browser, 2)
    row_2.click()
    wait_for(browser, thread_shows("Question number 02"))
    assert not row(browser, 1)[0].is_displayed()  # the thread has the screen
    screenshot(browser, "swap-phone-thread")
    back = browser.find_element(By.XPATH, "//*[contains(@class, 'inbox-thread')]//button[.//*[text()='arrow_back']]")
    back.click()
    wait_for(browser, lambda d: row(d, 1)[0].is_displayed())
    assert browser.current_url == f"{server.url}/"
    assert same_page(browser)
    screenshot(browser, "swap-phone-list")
