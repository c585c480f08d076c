"""The simulator panel round trip in real browsers: a tester plays a customer, an agent answers, the
answer arrives on the fake phone."""

from selenium.webdriver.common.by import By

from tests.helpers.browser import new_browser, screenshot, sign_in, text_on_page, wait_for


def test_simulated_customer_and_agent_talk_both_ways(server, browser):
    tester = browser
    sign_in(tester, server)
    tester.get(f"{server.url}/simulator")
    wait_for(tester, text_on_page("Play a customer"))
    tester.find_element(By.XPATH, "//input[@aria-label='Name']").send_keys("Sam Sim")
    tester.find_element(By.XPATH, "//input[@aria-label='Phone']").send_keys("+15557770001\n")
    phone = wait_for(tester, lambda d: d.find_element(By.XPATH, "//input[@placeholder='Message']"))
    phone.send_keys("Hi from the simulator\n")
    wait_for(tester, text_on_page("200 · accepted"))
    screenshot(tester, "simulator-1-customer-wrote")

    agent = new_browser()
    try:
        sign_in(agent, server)
        wait_for(agent, text_on_page("Sam Sim"))
        agent.find_element(By.XPATH, "//*[contains(@class, 'nicegui-link')][.//*[text()='Sam Sim']]").click()
        wait_for(agent, text_on_page("Hi from the simulator"))  # the row's preview says it too: wait for the thread
        wait_for(agent, lambda d: d.find_elements(By.CSS_SELECTOR, ".inbox-thread textarea"))
        agent.find_element(By.CSS_SELECTOR, ".inbox-thread textarea").send_keys("Hello Sam, how can I help?\n")
        wait_for(tester, text_on_page("Hello Sam, how can I help?"), timeout=15)
        screenshot(tester, "simulator-2-reply-arrived")
        screenshot(agent, "simulator-agent-thread")
    finally:
        agent.quit()
