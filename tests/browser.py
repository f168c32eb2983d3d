"""Shared pieces of the browser tests: Chromium driven by Selenium, the demo page with the chat widget
in front of a live assistant, and helpers to read and write in the chat.

Needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver) and
selenium in the venv; a missing driver fails the test (Selenium is never allowed to download one).
"""
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import pytest

from scripts.live_stack import PROJECT_DIR, LiveAssistant, free_port, start

CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM = Path("/usr/bin/chromium")
ANSWER_SECONDS = 40

try:
    from selenium import webdriver
    from selenium.common.exceptions import (
        NoAlertPresentException,
        NoSuchElementException,
        StaleElementReferenceException,
    )
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # reported by chrome(), as a failure
    webdriver = By = Keys = None


def chrome(profile_dir: Path):
    """A headless Chromium (quit it when done); fails the test when it is not installed."""
    if webdriver is None:
        pytest.fail("selenium is not installed: .venv/bin/pip install selenium")
    for binary, package in ((CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")):
        if not binary.is_file():
            pytest.fail(f"{binary} is missing: apt-get install -y chromium chromium-driver (package {package})")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={profile_dir}", "--window-size=1280,800",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager (which downloads drivers) is never used.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    return driver


def wait_for_url(url: str, process: subprocess.Popen, log: Path, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError as error:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not start:\n{log.read_text()}") from error
            time.sleep(0.2)


@contextmanager
def demo_page_stack(data_dir: Path, extra_env: Optional[Dict[str, str]] = None) -> Iterator[Tuple[str, LiveAssistant]]:
    """Builds the widget, starts an assistant that accepts the demo page's origin, serves the page.
    Yields (the page's origin, the assistant)."""
    subprocess.run(["bash", str(PROJECT_DIR / "scripts" / "build_web.sh")], check=True, cwd=PROJECT_DIR)
    web_port = free_port()
    origin = f"http://127.0.0.1:{web_port}"
    assistant = start(data_dir, extra_env={"ALLOWED_ORIGINS": origin, **(extra_env or {})})
    web_log = assistant.data_dir / "web.log"
    web = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "scripts" / "serve_web.py")],
        env={**os.environ, "WEB_PORT": str(web_port), "RASA_PUBLIC_URL": assistant.url},
        stdout=web_log.open("w"), stderr=subprocess.STDOUT,
    )
    try:
        wait_for_url(origin + "/", web, web_log)
        yield origin, assistant
    finally:
        web.terminate()
        web.wait(timeout=10)
        assistant.stop()


def open_as_new_visitor(driver, url: str) -> None:
    """Opens `url` with no stored conversation. The page is left first: a widget still running could
    save its conversation again after the storage is cleared (a reply arriving in between)."""
    driver.get("about:blank")
    origin = "/".join(url.split("/")[:3])
    driver.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "local_storage"})
    driver.get(url)


def wait(driver, condition, message, seconds=ANSWER_SECONDS):
    """Polls `condition` until it holds. An element that the widget re-drew while the condition read
    it (a language change re-renders the log) is stale: that poll counts as not yet."""
    return WebDriverWait(
        driver, seconds, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda d: condition(d), message)


def log_text(driver) -> str:
    return driver.find_element(By.ID, "clinic-chat-log").text


def wait_for_log(driver, text: str) -> None:
    wait(driver, lambda d: text in log_text(d), f"{text!r} never appeared in the chat")


def bubbles(driver, who: str):
    """The texts of the visitor's ("user") or the assistant's ("bot") messages, read again if the
    widget re-drew them while they were being read."""
    for _ in range(10):
        nodes = driver.find_elements(By.CSS_SELECTOR, f"#clinic-chat-log .cc-msg-{who} .cc-bubble")
        try:
            return [node.text for node in nodes]
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"the chat's {who} messages kept being re-drawn")


def active_element_id(driver) -> str:
    return driver.execute_script("return document.activeElement && document.activeElement.id || ''")


def press(driver, *keys) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def say(driver, text: str) -> None:
    """Types into the focused chat input and presses Enter, as a visitor would."""
    assert active_element_id(driver) == "clinic-chat-input"
    press(driver, text, Keys.ENTER)
    wait(driver, lambda d: text in bubbles(d, "user"), f"the visitor's message {text!r} is not shown", 5)


def assert_no_alert(driver) -> None:
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return
    text = alert.text
    alert.dismiss()
    pytest.fail(f"a message ran script: alert({text!r})")


def text_of(driver, element_id: str) -> str:
    """The element's text; "" while the page is being replaced (after a click that navigates)."""
    try:
        return driver.find_element(By.ID, element_id).text
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def click_button(driver, label: str) -> None:
    """Clicks the button, found again if the page's script re-drew it in the meantime."""
    def click(d) -> bool:
        try:
            d.find_element(By.XPATH, f"//button[normalize-space()='{label}']").click()
            return True
        except (NoSuchElementException, StaleElementReferenceException):
            return False
    wait(driver, click, f"no {label!r} button", 10)
