"""Human handoff end to end in a real browser: a visitor on the demo page asks for a person, a staff
member takes over in the staff console (second window), they talk live, and the bot comes back.

Starts its own assistant (clinic always open), the demo page (tests/browser.py) and the console
(`python -m console run`, a separate process as in production).
"""
import subprocess
import sys

import pytest

from tests.browser import (
    By, active_element_id, bubbles, chrome, click_button, demo_page_stack, say, text_of, wait, wait_for_log,
    wait_for_url,
)
from scripts.live_stack import PROJECT_DIR, free_port

PASSWORD = "correct horse battery staple"
ALWAYS_OPEN = "office_hours_schedule:\n  timezone: UTC\n  days: {%s}\n" % ", ".join(
    f"{day}: '00:00-24:00'" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
)
STAFF_REPLY = "Hi, I'm Kim from the clinic <b>team</b>. How can I help?"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """(demo page origin, console URL) in front of one assistant whose clinic is always open."""
    data_dir = tmp_path_factory.mktemp("handoff-browser")
    profile = data_dir / "open.yml"
    profile.write_text(ALWAYS_OPEN)
    with demo_page_stack(data_dir, {"CLINIC_PROFILE_PATH": str(profile)}) as (origin, assistant):
        console_port = free_port()
        env = {
            **assistant.env, "RASA_URL": assistant.url, "RASA_AUTH_TOKEN": assistant.token,
            "CONSOLE_PORT": str(console_port), "CLINIC_PROFILE_PATH": str(profile),
        }
        command = [sys.executable, "-m", "console"]
        subprocess.run(command + ["create-user", "kim", "--password-stdin"], input=PASSWORD + "\n", text=True,
                       env=env, cwd=PROJECT_DIR, check=True, capture_output=True)
        log = data_dir / "console.log"
        console = subprocess.Popen(command + ["run"], env=env, cwd=PROJECT_DIR, stdout=log.open("w"), stderr=subprocess.STDOUT)
        console_url = f"http://127.0.0.1:{console_port}"
        try:
            wait_for_url(console_url + "/login", console, log, seconds=60)
            yield origin, console_url
        finally:
            console.terminate()
            console.wait(timeout=10)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    browser = chrome(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.quit()


def test_staff_take_over_reply_and_hand_back(driver, stack):
    origin, console_url = stack

    # The visitor asks for a person and agrees.
    driver.get(origin + "/")
    visitor_window = driver.current_window_handle
    driver.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-launcher").click()
    wait(driver, lambda d: active_element_id(d) == "clinic-chat-input", "the chat input has no focus", 5)
    say(driver, "talk to a person")
    wait_for_log(driver, "bring a member of our team")
    click_button(driver, "Yes, connect me")
    wait_for_log(driver, "a person will join this chat")

    # Staff sign in to the console in a second window and take over from the live queue.
    driver.switch_to.new_window("window")
    staff_window = driver.current_window_handle
    driver.get(console_url + "/queue")
    assert driver.current_url.startswith(console_url + "/login")
    driver.find_element(By.ID, "username").send_keys("kim")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    click_button(driver, "Sign in")
    wait(driver, lambda d: "Asked for a person" in text_of(d, "queue-rows"), "the visitor is not in the live queue", 10)
    assert driver.current_url == console_url + "/queue"
    click_button(driver, "Take over")
    wait(driver, lambda d: "talk to a person" in text_of(d, "transcript"), "the transcript so far is not shown", 10)
    assert text_of(driver, "ticket-status") == "active (kim)"

    # Staff reply; the visitor sees it live and answers; staff see the answer without reloading.
    driver.find_element(By.ID, "reply-text").send_keys(STAFF_REPLY)
    click_button(driver, "Send")
    wait(driver, lambda d: STAFF_REPLY in text_of(d, "transcript"), "the staff reply is not in the transcript", 10)
    driver.switch_to.window(visitor_window)
    wait(driver, lambda d: STAFF_REPLY in bubbles(d, "bot"), "the visitor did not get the staff reply live", 15)
    driver.find_element(By.ID, "clinic-chat-input").click()
    say(driver, "thanks Kim, that's all")
    driver.switch_to.window(staff_window)
    wait(driver, lambda d: "thanks Kim, that's all" in text_of(d, "transcript"), "the visitor's answer did not arrive live", 10)
    problems = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert problems == [], "the console reported errors (CSP violations, failed requests)"

    # Staff hand back; the assistant answers the visitor's next question again.
    click_button(driver, "Hand back to assistant")
    wait(driver, lambda d: "The assistant is back in the conversation." in text_of(d, "main"), "no confirmation", 10)
    driver.switch_to.window(visitor_window)
    wait_for_log(driver, "You're back with the clinic's automated assistant")
    driver.find_element(By.ID, "clinic-chat-input").click()
    say(driver, "what are the side effects")
    wait_for_log(driver, "dissociation")
