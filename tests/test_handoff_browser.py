"""Human handoff end to end in a real browser: a visitor on the demo page asks for a person, a staff
member takes over in the staff console (second window), they talk live, and the bot comes back.
After a crisis response, "Connect me with staff" never leads to the booking form: a live urgent
handoff while the clinic is open, else the crisis lines again and an urgent call back.
With no office hours set (as clinic_profile.yml ships), asking for a person still reaches one, and
a call-back request reaches staff as a call-back (issue 15).

Starts its own assistant (clinic always open unless a test closes it; a second one with no office
hours), the demo page (tests/browser.py) and the console (`python -m console run`, a separate
process as in production).
"""
import re
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from scripts.live_stack import PROJECT_DIR, free_port
from tests.browser import (
    By,
    active_element_id,
    bubbles,
    chrome,
    click_button,
    demo_page_stack,
    log_text,
    say,
    text_of,
    wait,
    wait_for_log,
    wait_for_url,
)

PASSWORD = "correct horse battery staple"
ALWAYS_OPEN = "office_hours_schedule:\n  timezone: UTC\n  days: {%s}\n" % ", ".join(
    f"{day}: '00:00-24:00'" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
)
# Office hours set, and no day open: a day not listed is closed once any day is listed.
CLOSED = "office_hours_schedule: {timezone: UTC, days: {mon: closed}}\n"
# As clinic_profile.yml ships: a time zone and no day, so nobody knows when staff are there.
NO_HOURS = "office_hours_schedule: {timezone: America/Los_Angeles, days: {}}\n"
STAFF_REPLY = "Hi, I'm Kim from the clinic <b>team</b>. How can I help?"


@contextmanager
def assistant_and_console(data_dir, profile_text):
    """The demo page's origin, the console's URL, the assistant, and its clinic profile (profile_text)."""
    profile = data_dir / "clinic_profile.yml"
    profile.write_text(profile_text)
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
        console = subprocess.Popen(
            command + ["run"], env=env, cwd=PROJECT_DIR, stdout=log.open("w"), stderr=subprocess.STDOUT
        )
        console_url = f"http://127.0.0.1:{console_port}"
        try:
            wait_for_url(console_url + "/login", console, log, seconds=60)
            yield SimpleNamespace(origin=origin, console_url=console_url, assistant=assistant, profile=profile)
        finally:
            console.terminate()
            console.wait(timeout=10)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The stack whose clinic is always open (see assistant_and_console)."""
    with assistant_and_console(tmp_path_factory.mktemp("handoff-browser"), ALWAYS_OPEN) as stack:
        yield stack


@pytest.fixture(scope="module")
def no_hours(tmp_path_factory):
    """A stack of its own whose clinic profile has no office hours set."""
    with assistant_and_console(tmp_path_factory.mktemp("handoff-no-hours"), NO_HOURS) as stack:
        yield stack


@pytest.fixture(scope="module")
def stack(live):
    """(demo page origin, console URL) in front of one assistant whose clinic is always open."""
    return live.origin, live.console_url


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    browser = chrome(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.quit()


def open_chat(browser, origin):
    """The demo page with the chat open, its input focused, as a visitor finds it."""
    browser.get(origin + "/")
    browser.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-launcher").click()
    wait(browser, lambda d: active_element_id(d) == "clinic-chat-input", "the chat input has no focus", 5)


def ask_for_a_person_and_agree(browser, origin, words):
    """A visitor asks for a person in these words and accepts the offer to connect."""
    open_chat(browser, origin)
    say(browser, words)
    wait_for_log(browser, "bring a member of our team")
    click_button(browser, "Yes, connect me")
    wait_for_log(browser, "a person will join this chat")


def staff_take_over(driver, console_url, words):
    """Staff sign in to the console in a second window and take over from the live queue the visitor
    who wrote these words. Returns the staff window."""
    driver.switch_to.new_window("window")
    driver.get(console_url + "/queue")
    assert driver.current_url.startswith(console_url + "/login")
    driver.find_element(By.ID, "username").send_keys("kim")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    click_button(driver, "Sign in")
    wait(driver, lambda d: "Asked for a person" in text_of(d, "queue-rows"), "the visitor is not in the live queue", 10)
    assert driver.current_url == console_url + "/queue"
    assert "Chat: waiting for a person" in text_of(driver, "queue-rows")
    click_button(driver, "Take over")
    wait(driver, lambda d: words in text_of(d, "transcript"), "the transcript so far is not shown", 10)
    assert text_of(driver, "ticket-status") == "active (kim)"
    return driver.current_window_handle


def staff_reply(driver, visitor_window):
    """Staff reply from the conversation's page; the visitor sees it live (back in the visitor's window)."""
    driver.find_element(By.ID, "reply-text").send_keys(STAFF_REPLY)
    click_button(driver, "Send")
    wait(driver, lambda d: STAFF_REPLY in text_of(d, "transcript"), "the staff reply is not in the transcript", 10)
    driver.switch_to.window(visitor_window)
    wait(driver, lambda d: STAFF_REPLY in bubbles(d, "bot"), "the visitor did not get the staff reply live", 15)


def test_staff_take_over_reply_and_hand_back(driver, stack):
    origin, console_url = stack

    # The visitor asks for a person and agrees.
    ask_for_a_person_and_agree(driver, origin, "talk to a person")
    visitor_window = driver.current_window_handle

    # Staff sign in to the console in a second window and take over from the live queue.
    staff_window = staff_take_over(driver, console_url, "talk to a person")

    # Staff reply; the visitor sees it live and answers; staff see the answer without reloading.
    staff_reply(driver, visitor_window)
    driver.find_element(By.ID, "clinic-chat-input").click()
    say(driver, "thanks Kim, that's all")
    driver.switch_to.window(staff_window)
    wait(
        driver,
        lambda d: "thanks Kim, that's all" in text_of(d, "transcript"),
        "the visitor's answer did not arrive live",
        10,
    )
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


def crisis_then_connect_me_with_staff(browser, origin):
    """A new visitor: a crisis message, then the crisis response's "Connect me with staff" button.
    Returns how many assistant messages were shown before the crisis response."""
    open_chat(browser, origin)
    before = len(bubbles(browser, "bot"))
    say(browser, "i want to kill myself tonight")
    # The crisis response can come as several messages (and the opening one names 988 too): wait
    # for its button rather than for its words.
    connect = "//button[starts-with(normalize-space(), 'Connect me with staff')]"
    wait(browser, lambda d: d.find_elements(By.XPATH, connect),
         "the crisis response has no 'Connect me with staff' button")
    browser.find_elements(By.XPATH, connect)[-1].click()
    return before


def assert_never_the_booking_form(browser, before):
    shown = "\n".join(bubbles(browser, "bot")[before:])
    for words in ("five short questions", "consultation", "cinco preguntas", "consulta"):
        assert words not in shown.lower(), f"the booking form's words {words!r} were shown:\n{shown}"


def test_after_a_crisis_connect_me_with_staff_never_shows_the_booking_form(live, tmp_path):
    # Office hours: an urgent live handoff at once, no consent question.
    open_browser = chrome(tmp_path / "open-profile")
    try:
        before = crisis_then_connect_me_with_staff(open_browser, live.origin)
        wait_for_log(open_browser, "a person will join this chat")
        assert_never_the_booking_form(open_browser, before)
    finally:
        open_browser.quit()

    # Nobody can join: the crisis lines again, and an urgent call back (name and phone only).
    live.profile.write_text(CLOSED)
    closed_browser = chrome(tmp_path / "closed-profile")
    try:
        before = crisis_then_connect_me_with_staff(closed_browser, live.origin)
        wait_for_log(closed_browser, "Our team can't join this chat right now")
        click_button(closed_browser, "Request an urgent call back")
        wait_for_log(closed_browser, "I just need your name and a phone number")
        wait_for_log(closed_browser, "what is your full name?")
        closed_browser.find_element(By.ID, "clinic-chat-input").click()
        say(closed_browser, "Maria Lopez")
        wait_for_log(closed_browser, "What phone number should our staff call?")
        say(closed_browser, "509-555-0147")
        wait_for_log(closed_browser, "I've asked our staff to call you at +15095550147 as soon as they can")
        assert_never_the_booking_form(closed_browser, before)
    finally:
        closed_browser.quit()
        live.profile.write_text(ALWAYS_OPEN)

    database = sqlite3.connect(live.assistant.env["DATABASE_URL"].removeprefix("sqlite:///"))
    try:
        callbacks = database.execute("SELECT full_name, phone, urgent, status FROM callback_requests").fetchall()
        consultations = database.execute("SELECT COUNT(*) FROM consultation_requests").fetchone()[0]
    finally:
        database.close()
    assert callbacks == [("Maria Lopez", "+15095550147", 1, "new")] and consultations == 0


def test_with_no_office_hours_a_person_answers_and_a_call_back_reaches_staff_as_one(no_hours, tmp_path):
    # A visitor asks for a person in their own words and accepts; nobody decided the clinic is closed,
    # and the visitor is told honestly what happens if nobody is free.
    words = "could I chat with an actual member of your staff please"
    driver = chrome(tmp_path / "visitor-profile")
    try:
        ask_for_a_person_and_agree(driver, no_hours.origin, words)
        wait_for_log(driver, "If nobody can join within")
        assert "can't join this chat right now" not in log_text(driver)
        visitor_window = driver.current_window_handle

        # Staff see the visitor waiting in the live queue, take over and reply; the visitor sees it live.
        staff_window = staff_take_over(driver, no_hours.console_url, words)
        staff_reply(driver, visitor_window)

        # Another visitor (a browser of their own: a new chat session) asks to be called back.
        caller = chrome(tmp_path / "caller-profile")
        try:
            open_chat(caller, no_hours.origin)
            say(caller, "can someone from your office give me a call back")
            wait_for_log(caller, "call you back")
            wait_for_log(caller, "what is your full name?")
            say(caller, "Dana Whitfield")
            wait_for_log(caller, "How can we reach you?")
            say(caller, "509-555-0182")
            wait_for_log(caller, "When is a good time to call you?")
            say(caller, "weekday mornings")
            wait_for_log(caller, "what is the call about?")
            click_button(caller, "Billing or insurance")
            wait_for_log(caller, "Here's your call-back request:")
            click_button(caller, "Confirm")
            wait_for_log(caller, "Your call-back request is in")
            reference = re.search(r"your reference code is ([A-Z0-9-]+)", log_text(caller)).group(1)
            shown = log_text(caller).lower()
            assert "five short questions" not in shown and "consultation request" not in shown
        finally:
            caller.quit()

        # Staff see it as a call-back: in the live queue, then on the requests page, phone masked.
        driver.switch_to.window(staff_window)
        driver.get(no_hours.console_url + "/queue")
        wait(driver, lambda d: f"Call-back {reference}" in text_of(d, "queue-rows"), "no call-back in the queue", 10)
        driver.get(no_hours.console_url + "/requests")
        row = driver.find_element(By.XPATH, f"//tr[.//a[normalize-space()='{reference}']]").text
        assert "Call-back" in row and "Consultation" not in row and "Dana W." in row
        driver.find_element(By.LINK_TEXT, reference).click()
        wait(driver, lambda d: f"Call-back {reference}" in text_of(d, "main"), "the request's page did not open", 10)
        page = text_of(driver, "main")
        assert "***-***-0182" in page and "555-0182" not in page.replace("***-***-0182", "")
        assert "Billing" in page
    finally:
        driver.quit()
