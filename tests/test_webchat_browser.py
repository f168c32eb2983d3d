"""The website chat widget in a real browser: demo page -> widget -> Socket.IO -> Rasa -> actions.

Needs Chromium, its driver and selenium (see tests/browser.py). Starts its own assistant
(scripts/live_stack.py) whose ALLOWED_ORIGINS is the demo server's origin, builds the widget
(scripts/build_web.sh), serves the demo page (scripts/serve_web.py) and saves screenshots to
results/screenshots/.
"""
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from scripts.live_stack import PROJECT_DIR
from tests.browser import (
    By,
    Keys,
    active_element_id,
    assert_no_alert,
    bubbles,
    log_text,
    press,
    say,
    wait,
    wait_for_log,
)

SCREENSHOTS = PROJECT_DIR / "results" / "screenshots"
DISCLAIMER = (
    "Automated assistant — not medical advice, not monitored for emergencies. "
    "In an emergency call 911, or call or text 988."
)
XSS = "<script>alert(1)</script>"


# ---------------------------------------------------------------- fixtures


# ---------------------------------------------------------------- helpers


def open_chat_with_keyboard(driver) -> None:
    """Tabs from the top of the page to the chat button and presses Enter."""
    driver.find_element(By.TAG_NAME, "body").click()
    for _ in range(20):
        press(driver, Keys.TAB)
        if driver.execute_script("return document.activeElement.classList.contains('cc-launcher')"):
            break
    else:
        pytest.fail("the chat button cannot be reached with the Tab key")
    press(driver, Keys.ENTER)
    launcher = driver.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-launcher")
    assert launcher.get_attribute("aria-expanded") == "true"
    panel = driver.find_element(By.ID, launcher.get_attribute("aria-controls"))
    wait(driver, lambda d: panel.is_displayed(), "the chat panel did not open", 3)  # after its fade-in
    assert active_element_id(driver) == "clinic-chat-input", "opening the chat moves the focus into the input"


def screenshot(driver, name: str, width: int, height: int, mobile: bool) -> Path:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    time.sleep(0.5)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    assert driver.save_screenshot(str(path))
    return path


# ---------------------------------------------------------------- tests


def test_demo_server_headers_and_paths(web_stack):
    origin, assistant = web_stack
    with urllib.request.urlopen(origin + "/") as response:
        page = response.read().decode()
        headers = response.headers
    assert f'serverUrl: "{assistant.url}"' in page, "the demo page points the widget at the running Rasa server"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self' 'sha256-" in csp
    socket_origin = assistant.url.replace("http://", "ws://")
    assert f"connect-src 'self' {assistant.url} {socket_origin}" in csp
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    for path, content_type in (("/dist/clinic-chat.js", "text/javascript"), ("/dist/clinic-chat.css", "text/css"),
                               ("/dist/socket.io.min.js", "text/javascript")):
        with urllib.request.urlopen(origin + path) as response:
            assert response.headers["Content-Type"].startswith(content_type)
    for path in ("/../README.md", "/dist/../../credentials.yml", "/%2e%2e/credentials.yml",
                 "/dist/%2e%2e/%2e%2e/credentials.yml", "/..%2fcredentials.yml", "/.gitignore", "/dist/"):
        request = urllib.request.Request(origin + path)
        with pytest.raises(urllib.error.HTTPError) as error:
            # http.client keeps the path as given (no dot-segment normalisation)
            urllib.request.urlopen(request)
        assert error.value.code == 404, path


def test_chat_widget_in_the_browser(browser, web_stack):
    driver = browser
    origin, assistant = web_stack
    driver.get(origin + "/")
    assert "Demo page" in driver.find_element(By.CLASS_NAME, "demo-banner").text

    # Opened with the keyboard; the disclaimer is visible above the first message.
    open_chat_with_keyboard(driver)
    panel = driver.find_element(By.ID, "clinic-chat-panel")
    assert panel.get_attribute("role") == "dialog" and panel.get_attribute("aria-label")
    log = driver.find_element(By.ID, "clinic-chat-log")
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
    disclaimer = driver.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-disclaimer")
    assert disclaimer.is_displayed() and disclaimer.text == DISCLAIMER
    first = driver.find_element(By.CSS_SELECTOR, "#clinic-chat-log .cc-msg")
    assert disclaimer.location["y"] < first.location["y"], "the disclaimer comes before the first message"
    assert first.text.endswith("Ask me about anxiety, ketamine infusion therapy or booking a free consultation.")

    # Escape closes and gives the focus back to the chat button; Enter opens again.
    press(driver, Keys.ESCAPE)
    assert not panel.is_displayed()
    assert driver.execute_script("return document.activeElement.classList.contains('cc-launcher')")
    press(driver, Keys.ENTER)
    wait(driver, lambda d: panel.is_displayed(), "Enter on the chat button does not open the chat", 3)
    assert active_element_id(driver) == "clinic-chat-input"

    # A curated FAQ answer.
    say(driver, "what are the side effects of ketamine")
    wait_for_log(driver, "dissociation")
    assert not driver.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-typing").is_displayed()

    # A quick reply: a real button; the visitor's bubble shows its title, the payload goes to Rasa.
    choice = "//div[@id='clinic-chat-log']//button[normalize-space()='Book a free consultation']"
    enabled = [button for button in driver.find_elements(By.XPATH, choice) if button.is_enabled()]
    assert enabled, "the FAQ answer offers a 'Book a free consultation' button"
    enabled[-1].click()
    wait_for_log(driver, "set up your free consultation")
    assert bubbles(driver, "user")[-1] == "Book a free consultation"
    assert "/book_consultation" not in log_text(driver)
    assert not any(button.is_enabled() for button in driver.find_elements(By.XPATH, choice)), \
        "answered messages' buttons are disabled"
    wait_for_log(driver, "full name")
    before_reload = bubbles(driver, "bot")

    # A reload keeps the conversation.
    driver.refresh()
    driver.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-launcher").click()
    assert active_element_id(driver) == "clinic-chat-input"
    # (the panel's opening transition is still running: wait until its text is rendered)
    wait(driver, lambda d: bubbles(d, "bot") == before_reload, "the reloaded page lost the conversation", 5)
    assert bubbles(driver, "user") == ["what are the side effects of ketamine", "Book a free consultation"]

    # Markup typed by the visitor is shown as text and never runs.
    bot_count = len(bubbles(driver, "bot"))
    say(driver, XSS)
    wait(driver, lambda d: len(bubbles(d, "bot")) > bot_count, "the assistant did not answer")
    assert_no_alert(driver)
    assert bubbles(driver, "user")[-1] == XSS
    assert driver.find_elements(By.CSS_SELECTOR, "#clinic-chat-log script") == []

    # A second tab continues the same conversation, and both tabs show new messages once.
    first_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(origin + "/")
    driver.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-launcher").click()
    wait(driver, lambda d: XSS in bubbles(d, "user"), "the second tab does not show the conversation", 5)
    bot_count = len(bubbles(driver, "bot"))
    links = "cancel javascript:alert(2) https://example.org/info"
    say(driver, links)
    wait(driver, lambda d: len(bubbles(d, "bot")) > bot_count, "the assistant did not answer in the second tab")
    anchors = driver.find_elements(By.CSS_SELECTOR, "#clinic-chat-log .cc-msg-user a")
    assert [a.get_attribute("href") for a in anchors] == ["https://example.org/info"]
    assert anchors[0].get_attribute("target") == "_blank"
    assert anchors[0].get_attribute("rel") == "noopener noreferrer"
    time.sleep(3.5)  # a duplicate (stored late by a second tab) would have arrived by now
    second_tab_view = (bubbles(driver, "user"), bubbles(driver, "bot"))
    driver.close()
    driver.switch_to.window(first_tab)
    wait(driver, lambda d: (bubbles(d, "user"), bubbles(d, "bot")) == second_tab_view,
         "both tabs show the same conversation, each message once", 10)
    assert second_tab_view[0].count(links) == 1
    assert_no_alert(driver)

    # A message pushed through Rasa's HTTP API (as staff will) arrives while the chat is closed.
    press(driver, Keys.ESCAPE)
    session_id = driver.execute_script(
        "return Object.keys(localStorage).filter(k => k.endsWith(':session')).map(k => localStorage[k])[0]"
    )
    request = urllib.request.Request(
        assistant.api(f"/conversations/{session_id}/execute?output_channel=latest"),
        data=json.dumps({"name": "utter_greet_again"}).encode(), headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=30).read()
    launcher = driver.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-launcher")
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-badge").is_displayed(),
         "a message arriving while the chat is closed is signalled on the chat button", 10)
    assert "new message" in launcher.get_attribute("textContent")
    launcher.click()
    wait_for_log(driver, "Hi again")

    problems = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert problems == [], "the browser reported errors (CSP violations, failed requests)"

    # Screenshots with the conversation open, desktop and phone.
    screenshot(driver, "desktop.png", 1280, 800, mobile=False)
    screenshot(driver, "mobile.png", 360, 740, mobile=True)
    panel = driver.find_element(By.ID, "clinic-chat-panel")
    assert panel.size["width"] == 360, "on a phone the panel takes the full width"
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 360, "no sideways scrolling"
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
