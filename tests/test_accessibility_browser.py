"""Issue 15: axe-core (web/node_modules, see tests/accessibility.py) finds no serious or critical
violation on the chat widget or on any staff console page, in headless Chromium.

The widget: the demo pages (English and Spanish) with the chat closed, then open with a bot reply and its
buttons showing, in front of a live assistant (tests/browser.py's demo_page_stack); its conversation
history is a named log that the keyboard can focus and scroll.
The console: every page a signed-in staff member reaches from its navigation, with the sample data of
scripts/console_sample.py (scripts/console_screenshots.py's console_with_sample): sign-in, overview,
live queue, a handoff before and after taking it over, conversations, transcripts, requests, one
booking and one call-back, Improve, audit, and the error page.

Needs Debian's chromium and chromium-driver and selenium in the venv (see tests/browser.py).
"""
import pytest

from tests.accessibility import assert_accessible
from tests.browser import By, Keys, active_element_id, open_as_new_visitor, press, say, wait

# ---------------------------------------------------------------- the chat widget


def enabled_reply_buttons(driver):
    return [button for button in driver.find_elements(By.CSS_SELECTOR, "#clinic-chat-log .cc-msg-bot button")
            if button.is_enabled()]


def open_chat(driver, origin: str, path: str) -> None:
    open_as_new_visitor(driver, origin + path)  # a conversation of its own
    launcher = driver.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-launcher")
    wait(driver, lambda d: launcher.text.strip(), "the chat button has no text", 5)
    assert_accessible(driver, f"{path} with the chat closed")
    launcher.click()
    panel = driver.find_element(By.ID, "clinic-chat-panel")
    wait(driver, lambda d: panel.is_displayed() and d.execute_script(
        "return getComputedStyle(arguments[0]).opacity === '1'", panel), "the chat panel did not open", 5)


@pytest.mark.parametrize("path, question", [
    ("/", "what are the side effects of ketamine"),
    ("/es.html", "¿cuáles son los efectos secundarios de la ketamina?"),
])
def test_the_widget_has_no_serious_violations(browser, web_stack, path, question):
    driver = browser
    origin, _ = web_stack
    open_chat(driver, origin, path)
    assert active_element_id(driver) == "clinic-chat-input"
    say(driver, question)
    wait(driver, lambda d: enabled_reply_buttons(d), "no bot reply with buttons")
    wait(driver, lambda d: not d.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-typing").is_displayed(),
         "the typing indicator stays", 10)
    assert_accessible(driver, f"{path} with the chat open, a reply and its buttons showing")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": True})
    try:
        assert_accessible(driver, f"{path} on a phone (360 px) with the chat open")
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_conversation_history_scrolls_with_the_keyboard(browser, web_stack):
    driver = browser
    origin, _ = web_stack
    open_chat(driver, origin, "/")
    log = driver.find_element(By.ID, "clinic-chat-log")
    assert log.get_attribute("role") == "log"
    assert log.get_attribute("tabindex") == "0", "the history can be focused with the Tab key"
    assert log.get_attribute("aria-label"), "the history has a name"

    # A conversation longer than the panel (a short window), then the history reached with Shift+Tab.
    driver.set_window_size(1000, 560)
    say(driver, "what are the side effects of ketamine")
    wait(driver, lambda d: enabled_reply_buttons(d), "no bot reply with buttons")
    scroller = driver.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-scroller")
    overflow = "return arguments[0].scrollHeight - arguments[0].clientHeight"
    wait(driver, lambda d: d.execute_script(overflow, scroller) > 50, "the history is not longer than the panel", 10)
    from selenium.webdriver.common.action_chains import ActionChains

    for _ in range(20):  # past the reply's buttons and links, which come after the history itself
        if active_element_id(driver) == "clinic-chat-log":
            break
        ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    assert active_element_id(driver) == "clinic-chat-log", "Shift+Tab from the input does not reach the history"
    outline = driver.execute_script("return getComputedStyle(arguments[0]).outlineStyle", log)
    assert outline != "none", "the focused history shows a focus outline"
    top = "return arguments[0].scrollTop"
    press(driver, Keys.HOME)
    wait(driver, lambda d: d.execute_script(top, scroller) == 0, "Home does not scroll the history to the top", 3)
    press(driver, Keys.PAGE_DOWN)
    wait(driver, lambda d: d.execute_script(top, scroller) > 0, "Page Down does not scroll the history", 3)
    press(driver, Keys.END)
    wait(driver, lambda d: d.execute_script(overflow, scroller) - d.execute_script(top, scroller) <= 1,
         "End does not scroll the history to the newest message", 3)
    driver.set_window_size(1280, 800)


# ---------------------------------------------------------------- the staff console


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """The console with the sample data: (base URL, sample, the conversations' keys in URLs)."""
    from console.templating import opaque
    from scripts.console_screenshots import console_with_sample

    folder = tmp_path_factory.mktemp("a11y-console")
    with console_with_sample(folder) as (base, sample, app):
        with app.test_request_context():
            keys = {name: opaque(conversation_id) for name, conversation_id in sample.conversations.items()}
        yield base, sample, keys


def test_the_console_has_no_serious_violations(browser, console):
    from scripts import console_sample
    from scripts.console_screenshots import USER

    driver = browser
    base, sample, keys = console

    def check(url: str, what: str, ready=None) -> None:
        driver.get(base + url)
        if ready:
            wait(driver, ready, f"{what} did not finish loading", 10)
        assert_accessible(driver, f"{what} ({url})")

    driver.delete_all_cookies()
    check("/login", "the sign-in page")
    driver.find_element(By.ID, "username").send_keys(USER)
    driver.find_element(By.ID, "password").send_keys("not the password", Keys.ENTER)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".flash-error"), "no sign-in error shown", 10)
    assert_accessible(driver, "the sign-in page with an error")
    driver.find_element(By.ID, "username").clear()
    driver.find_element(By.ID, "username").send_keys(USER)
    driver.find_element(By.ID, "password").send_keys(console_sample.PASSWORD, Keys.ENTER)
    wait(driver, lambda d: d.current_url.rstrip("/") == base, "signing in did not open the overview", 10)

    # Every page of the navigation, and what they link to.
    nav = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "nav[aria-label='Main'] a")]
    assert [href[len(base):] for href in nav] == [
        "/", "/queue", "/conversations", "/requests", "/improve", "/audit"], "a new page: add it below"
    check("/", "the overview")
    check("/queue", "the live queue",
          lambda d: len(d.find_elements(By.CSS_SELECTOR, "#queue-rows tr.kind-callback")) == 2)
    check("/conversations", "the conversations")
    check("/conversations?language=es", "the Spanish conversations")
    check(f"/conversations/{keys['booking']}", "a transcript (a booking)")
    driver.execute_script("document.querySelectorAll('details.tech').forEach(function (d) { d.open = true; })")
    assert_accessible(driver, "a transcript with every Details fold open")
    check(f"/conversations/{keys['crisis']}", "a transcript (a Spanish crisis)")
    check("/requests", "the requests")
    check(f"/requests/{sample.references['booking']}", "a booking request")
    check(f"/requests/{sample.references['urgent_callback']}", "an urgent call-back request")
    check("/improve", "the Improve inbox")
    check("/improve?lang=es", "the Spanish Improve inbox")
    check("/audit", "the audit log")
    check("/no-such-page", "the error page (404)")

    # A handoff: waiting, then taken over (the reply box), as staff answer a visitor.
    transcript_loaded = lambda d: len(d.find_elements(By.CSS_SELECTOR, "#transcript li")) >= 2  # noqa: E731
    check(f"/tickets/{sample.tickets['waiting']}", "a waiting handoff", transcript_loaded)
    driver.find_element(By.XPATH, "//button[normalize-space()='Take over']").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "textarea, input[type='text']"), "no reply box", 10)
    wait(driver, transcript_loaded, "the handoff's transcript did not load", 10)
    assert_accessible(driver, "a handoff taken over, with its reply box")
    driver.find_element(By.XPATH, "//button[normalize-space()='Reveal contact details']").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".revealed"), "the contact details were not revealed", 10)
    wait(driver, transcript_loaded, "the handoff's transcript did not load", 10)
    assert_accessible(driver, "a handoff with its contact details revealed (and a notice)")
