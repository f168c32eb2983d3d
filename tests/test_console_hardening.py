"""Issue 11, the staff console: stored text no page could encode, sessions that end, sign-in throttling
that cannot keep staff out, contact details in every format the booking form accepts, and SMS
conversations under opaque ids.

No assistant is needed: Rasa's events are written here as Rasa's SQL tracker store writes them
(json.dumps, so a lone surrogate is stored escaped, "\\ud800"), as in tests/test_console_bad_input.py.
"""
import csv
import io
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import create_engine, insert, select

from actions.booking_fields import check_contact
from clinic.storage import ConsultationRequest
from console import create_app
from console.accounts import save_user
from console.privacy import mask
from console.tracker import EVENTS
from tests.console_rows import RecordingRasa, event, user

PROJECT_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase"
SURROGATE_TEXT = "hi \ud800 there"
SMS_SENDER = "+15095550147"
SMS_DIGITS = "5095550147"
# Every format the booking form accepts (actions/booking_fields.py), and how staff see it masked.
CONTACTS = {
    "509/555/0147": "***-***-0147",
    "+44 20 7946 0958": "***-***-0958",
    "+33 1 23 45 67 89": "***-***-6789",
    "jane.o'brien@example.com": "j***@example.com",
    "509-555-0147": "***-***-0147",
    "(509) 555-0147": "***-***-0147",
    "kim.lee@example.com": "k***@example.com",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("console-hardening")
    tracker_url, clinic_url = f"sqlite:///{folder / 'tracker.db'}", f"sqlite:///{folder / 'clinic.db'}"
    engine = create_engine(tracker_url)
    EVENTS.metadata.create_all(engine)
    now = time.time() - 600
    contacts = " or ".join(CONTACTS)
    with engine.begin() as connection:
        connection.execute(
            insert(EVENTS),
            [
                user("visitor-surrogate", SURROGATE_TEXT, "nlu_fallback", now),
                event("visitor-surrogate", "action", now + 1, name="action_clarify"),
                event(
                    "visitor-surrogate",
                    "bot",
                    now + 2,
                    text="Sorry \udfff, I didn't get that.",
                    data={"buttons": [{"title": "Book \ud83d", "payload": "/book"}]},
                ),
                user("visitor-surrogate-crisis", "I can't go on \ud800", "crisis", now + 3),
                event("visitor-surrogate-crisis", "action", now + 4, name="action_crisis_response"),
                event("visitor-surrogate-crisis", "slot", now + 5, name="crisis_flagged", value=True),
                user("visitor-contacts", f"reach me at {contacts}", "inform", now + 6),
                user(
                    SMS_SENDER,
                    "can someone text me back about a consultation",
                    "out_of_scope",
                    now + 7,
                    channel="twilio",
                ),
                event(SMS_SENDER, "bot", now + 8, text="I can help with questions about ketamine therapy."),
            ],
        )
    engine.dispose()
    app = create_app({"DATA_DIR": str(folder), "DATABASE_URL": clinic_url, "TRACKER_STORE_URL": tracker_url,
                      "SECRET_KEY": "test-only-" + "h" * 40, "RASA_API": RecordingRasa()})
    services = app.extensions["console"]
    for name in ("kim", "lee", "ana", "bo", "cy", "dee", "eve", "fay"):
        save_user(services.db, name, PASSWORD)
    app.sms_ticket = services.handoffs.open_ticket(SMS_SENDER, "twilio", "request_human").id
    app.surrogate_ticket = services.handoffs.open_ticket("visitor-surrogate", "rest", "request_human").id
    app.sms_reference = services.requests.submit(ConsultationRequest(
        idempotency_key=f"{SMS_SENDER}:b1", conversation_id=SMS_SENDER, channel="twilio",
        full_name="Maria Lopez", phone=SMS_SENDER, preferred_times="weekday mornings", help_with="anxiety",
        consent_to_contact=True,
    )).reference_code
    yield app
    services.close()


def client_from(app, address="127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def csrf_token(client, page="/login") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(page).get_data(as_text=True))[1]


def sign_in(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)})


def signed_in(app, username="kim", address="127.0.0.1"):
    client = client_from(app, address)
    assert sign_in(client, username).status_code == 302
    client.token = csrf_token(client, "/queue")
    return client


@pytest.fixture(scope="module")
def kim(app):
    return signed_in(app, "kim")


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def conversation_links(client, query="") -> list:
    """The transcript links of the conversation list (first page), as the page gives them."""
    return re.findall(r'<td><a href="(/conversations/[^"]+)"', page(client, f"/conversations{query}"))


# ---------------------------------------------------------------- 1. invalid Unicode already stored


def test_stored_lone_surrogates_break_no_page_export_or_action(app, kim):
    for url in ("/", "/conversations", "/conversations?q=there", "/conversations?outcome=crisis",
                "/conversations/visitor-surrogate", "/conversations/visitor-surrogate-crisis", "/improve",
                "/improve?show=all", f"/tickets/{app.surrogate_ticket}", "/audit"):
        body = page(kim, url)
        assert "\ufffd" in body or url in ("/", "/audit") or url.startswith("/tickets"), url
    assert "hi \ufffd there" in page(kim, "/conversations/visitor-surrogate")
    messages = kim.get(f"/tickets/{app.surrogate_ticket}/messages.json").json["messages"]
    assert messages[0]["text"] == "hi \ufffd there"
    exported = kim.get("/conversations/export.csv")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert [row[4] for row in rows if row[4].startswith("hi ")] == ["hi \ufffd there"]
    # the surrogate conversation is searchable, and its message can be labelled and exported
    assert len(conversation_links(kim, "?q=there")) == 1
    inbox = page(kim, "/improve")
    event_id = re.search(r'hi \ufffd there</p>.*?name="event_id" value="(\d+)"', inbox, re.S)[1]
    labelled = kim.post("/improve/label", data={"csrf_token": kim.token, "event_id": event_id, "label": "greet"})
    assert labelled.status_code == 302
    assert "hi \ufffd there" in kim.get("/improve/export.yml").get_data(as_text=True)


def test_a_crisis_conversation_with_a_lone_surrogate_can_be_marked_reviewed(app, kim):
    transcript = page(kim, "/conversations/visitor-surrogate-crisis")
    assert "needs a staff review" in transcript
    form_id = re.search(r'action="/conversations/crisis-reviewed">\s*<input[^>]+>\s*'
                        r'<input type="hidden" name="conversation_id" value="([^"]+)"', transcript)[1]
    response = kim.post("/conversations/crisis-reviewed", data={"csrf_token": kim.token, "conversation_id": form_id})
    assert response.status_code == 302
    assert "Crisis reviewed by kim on" in page(kim, response.location)
    assert "Crisis: needs review" not in page(kim, "/conversations?outcome=crisis")


# ---------------------------------------------------------------- 4. signing out ends the session


def copied(app, client):
    """Another browser holding a copy of the client's session cookie (same address)."""
    other = client_from(app, client.environ_base["REMOTE_ADDR"])
    other.set_cookie("console_session", client.get_cookie("console_session").value)
    return other


def test_a_cookie_copied_before_sign_out_is_refused_after(app):
    client = signed_in(app, "dee")
    thief = copied(app, client)
    assert thief.get("/queue").status_code == 200
    assert client.post("/logout", data={"csrf_token": client.token}).location == "/login"
    assert thief.get("/queue").status_code == 302 and thief.get("/queue").location.startswith("/login")
    assert thief.get("/queue.json").status_code == 401
    assert client.get("/queue").status_code == 302
    assert signed_in(app, "dee").get("/queue").status_code == 200, "signing in again works"


def test_a_password_reset_ends_every_session_of_that_user(app):
    first, second, other = signed_in(app, "eve"), signed_in(app, "eve", "10.0.0.2"), signed_in(app, "fay")
    thief = copied(app, first)
    save_user(app.extensions["console"].db, "eve", NEW_PASSWORD, reset=True)
    for client in (first, second, thief):
        assert client.get("/queue").status_code == 302 and client.get("/queue.json").status_code == 401
    assert other.get("/queue").status_code == 200, "other staff stay signed in"
    assert sign_in(client_from(app), "eve").status_code == 401, "the old password is gone"
    assert sign_in(client_from(app), "eve", NEW_PASSWORD).status_code == 302


# ---------------------------------------------------------------- 5. sign-in throttling


def age_failures(app, minutes):
    """As if the recorded failed sign-ins had happened `minutes` earlier (instead of waiting)."""
    from console.models import SignInFailure

    with app.extensions["console"].db.session() as session:
        for failure in session.scalars(select(SignInFailure)):
            failure.failed_at -= timedelta(minutes=minutes)


def test_an_attackers_wrong_passwords_do_not_keep_staff_out(app):
    attacker = client_from(app, "203.0.113.9")
    for _ in range(30):
        assert sign_in(attacker, "ana", "not the password").status_code in (401, 429)
    assert sign_in(client_from(app, "198.51.100.7"), "ana").status_code == 302
    assert sign_in(attacker, "ana").status_code in (401, 429), "the attacker's address stays refused"


def test_an_address_with_many_failures_is_refused_for_a_while_even_with_the_right_password(app):
    address = "203.0.113.20"
    for number in range(25):  # a password spray: a different name each time
        sign_in(client_from(app, address), f"nobody{number}", "Winter2026!")
    refused = sign_in(client_from(app, address), "bo")
    assert refused.status_code == 429
    assert "Too many failed sign-ins from this network" in refused.get_data(as_text=True)
    assert sign_in(client_from(app, "198.51.100.8"), "bo").status_code == 302, "other addresses are not affected"
    age_failures(app, minutes=16)
    assert sign_in(client_from(app, address), "bo").status_code == 302, "after the window it signs in again"


def test_wrong_passwords_for_one_account_slow_down_only_the_address_they_come_from(app):
    address = "203.0.113.30"
    for _ in range(5):
        assert sign_in(client_from(app, address), "cy", "not the password").status_code == 401
    assert sign_in(client_from(app, address), "cy").status_code == 401, "this address waits before trying cy again"
    assert sign_in(client_from(app, "198.51.100.9"), "cy").status_code == 302, "the right password from elsewhere"
    assert sign_in(client_from(app, address), "kim").status_code == 302, "other accounts from the same address"
    age_failures(app, minutes=1)  # 2**5 seconds have passed
    assert sign_in(client_from(app, address), "cy").status_code == 302


def test_behind_a_proxy_the_address_is_the_one_the_proxy_forwards(app):
    """CONSOLE_PROXIES_COUNT=1 (docker-compose.yml: nginx in front): every request comes from the
    proxy's address, so the client's is taken from X-Forwarded-For, as nginx sets it."""
    behind = create_app({**{key: app.config[key] for key in ("DATA_DIR", "DATABASE_URL", "TRACKER_STORE_URL",
                                                             "SECRET_KEY", "RASA_API")}, "PROXIES_COUNT": 1})
    try:
        def through_proxy(forwarded_for):
            client = client_from(behind, "172.18.0.5")
            client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
            return client

        for number in range(25):
            sign_in(through_proxy("203.0.113.50"), f"sprayed{number}", "Winter2026!")
        assert sign_in(through_proxy("203.0.113.50"), "kim").status_code == 429
        assert sign_in(through_proxy("198.51.100.60"), "kim").status_code == 302, "staff behind the same proxy"
    finally:
        behind.extensions["console"].close()


def test_docker_compose_tells_the_console_about_its_proxy():
    import yaml

    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
    assert compose["services"]["console"]["environment"]["CONSOLE_PROXIES_COUNT"] == "1"


def test_an_older_database_gets_the_session_column(tmp_path):
    """A staff_users table created before sessions could be ended: its accounts keep working."""
    from werkzeug.security import generate_password_hash

    from console.models import ConsoleDb

    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE staff_users (id INTEGER PRIMARY KEY, username VARCHAR(64) NOT NULL UNIQUE, "
            "password_hash TEXT NOT NULL, failed_attempts INTEGER NOT NULL, locked_until DATETIME, "
            "created_at DATETIME NOT NULL)")
        connection.exec_driver_sql(
            "INSERT INTO staff_users (username, password_hash, failed_attempts, created_at) VALUES (?, ?, 0, ?)",
            ("old.timer", generate_password_hash(PASSWORD), "2025-01-01 00:00:00.000000"))
    engine.dispose()
    ConsoleDb(url).close()
    older = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": url, "SECRET_KEY": "test-only-" + "o" * 40,
                        "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}", "RASA_API": RecordingRasa()})
    try:
        client = older.test_client()
        assert sign_in(client, "old.timer").status_code == 302 and client.get("/queue").status_code == 200
    finally:
        older.extensions["console"].close()


def test_throttling_settings_are_checked(monkeypatch):
    from console.config import default_config

    monkeypatch.setenv("CONSOLE_ADDRESS_LOCKOUT_ATTEMPTS", "50")
    monkeypatch.setenv("CONSOLE_PROXIES_COUNT", "1")
    assert default_config()["ADDRESS_LOCKOUT_ATTEMPTS"] == 50 and default_config()["PROXIES_COUNT"] == 1
    for name, wrong in (("CONSOLE_ADDRESS_LOCKOUT_ATTEMPTS", "0"), ("CONSOLE_ADDRESS_LOCKOUT_ATTEMPTS", "lots"),
                        ("CONSOLE_PROXIES_COUNT", "-1"), ("CONSOLE_PROXIES_COUNT", "9")):
        monkeypatch.setenv(name, wrong)
        with pytest.raises(ValueError, match=name):
            default_config()
        monkeypatch.delenv(name)


def run_console(*args, env, stdin=""):
    return subprocess.run([sys.executable, "-m", "console", *args], cwd=PROJECT_DIR, env={**os.environ, **env},
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_list_and_delete_staff_users_from_the_command_line(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}", "DATA_DIR": str(tmp_path)}
    empty = run_console("list-users", env=env)
    assert empty.returncode == 0 and "No staff users yet" in empty.stdout
    for name in ("nurse.kim", "front.desk"):
        assert run_console("create-user", name, "--password-stdin", env=env, stdin=PASSWORD + "\n").returncode == 0
    listing = run_console("list-users", env=env)
    assert listing.returncode == 0 and "2 staff users" in listing.stdout
    assert re.search(r"^\s*front\.desk\s", listing.stdout, re.M)
    assert re.search(r"^\s*nurse\.kim\s", listing.stdout, re.M)
    deleted = run_console("delete-user", "nurse.kim", env=env)
    assert deleted.returncode == 0 and "Deleted staff user nurse.kim" in deleted.stdout
    assert "nurse.kim" not in run_console("list-users", env=env).stdout
    unknown = run_console("delete-user", "nobody", env=env)
    assert unknown.returncode == 1 and "There is no staff user nobody" in unknown.stderr


def test_deleting_a_user_ends_their_sessions(app):
    from console.accounts import delete_user

    save_user(app.extensions["console"].db, "gil", PASSWORD)
    client = signed_in(app, "gil")
    assert delete_user(app.extensions["console"].db, "gil") is True
    assert client.get("/queue").status_code == 302
    assert delete_user(app.extensions["console"].db, "gil") is False


# ---------------------------------------------------------------- 6. masking and opaque conversation ids


@pytest.mark.parametrize("contact", list(CONTACTS))
def test_every_contact_format_the_booking_form_accepts_is_masked(contact):
    accepted = check_contact(contact)
    assert accepted.problem is None and (accepted.phone or accepted.email), "the booking form accepts it"
    masked = mask(f"reach me at {contact} please")
    assert masked == f"reach me at {CONTACTS[contact]} please"


def test_masking_leaves_ordinary_text_alone():
    for text in ("My infusion is on 2026-01-31 at 10:30", "0.5 mg/kg over 40 minutes", "reference TC-AB12CD",
                 "it costs 450 dollars", "I've had 3 infusions", "email me @ the clinic"):
        assert mask(text) == text


def test_contacts_in_every_format_are_masked_in_transcripts_until_revealed(app):
    lee = signed_in(app, "lee")
    body = page(lee, "/conversations/visitor-contacts")
    for contact, shown in CONTACTS.items():
        assert contact not in body and str(escape(contact)) not in body, contact
        assert shown in body, shown
    exported = lee.get("/conversations/export.csv").get_data(as_text=True)
    assert not any(contact in exported for contact in CONTACTS)
    form_id = re.search(r'action="/conversations/reveal">\s*<input[^>]+>\s*'
                        r'<input type="hidden" name="conversation_id" value="([^"]+)"', body)[1]
    assert (
        lee.post("/conversations/reveal", data={"csrf_token": lee.token, "conversation_id": form_id}).status_code == 302
    )
    revealed = page(lee, "/conversations/visitor-contacts")
    assert all(str(escape(contact)) in revealed for contact in CONTACTS)
    assert re.search(r"<td>lee</td>\s*<td><a [^>]*>visitor-contacts</a>", page(lee, "/audit"))


def assert_no_phone_number(where, text):
    for form in (SMS_DIGITS, "%2B1" + SMS_DIGITS, "509-555-0147", "(509) 555-0147"):
        assert form not in text, (where, form)


def test_an_sms_conversation_shows_no_phone_number_in_urls_pages_or_the_audit_log(app):
    client = signed_in(app, "fay", "10.0.0.7")  # fay has revealed nothing yet
    links = conversation_links(client, "?channel=twilio")
    assert len(links) == 1
    transcript_url = links[0]
    assert_no_phone_number("transcript link", transcript_url)
    request_url = f"/requests/{app.sms_reference}"
    pages = {url: page(client, url) for url in ("/conversations", "/conversations?channel=twilio", transcript_url,
                                                "/requests", request_url, "/improve", f"/tickets/{app.sms_ticket}",
                                                "/queue")}
    pages["queue.json"] = client.get("/queue.json").get_data(as_text=True)
    pages["messages.json"] = client.get(f"/tickets/{app.sms_ticket}/messages.json").get_data(as_text=True)
    pages["conversations csv"] = client.get("/conversations/export.csv").get_data(as_text=True)
    pages["requests csv"] = client.get("/requests/export.csv").get_data(as_text=True)
    for where, text in pages.items():
        assert_no_phone_number(where, text)
    assert "***-***-0147" in pages[transcript_url] and "I can help with questions" in pages[transcript_url]
    # every link to the conversation, from the request's page, the inbox (to the message) and the handoff,
    # is the same opaque one
    for where in (request_url, "/improve", f"/tickets/{app.sms_ticket}"):
        assert re.search(f'href="{re.escape(transcript_url)}["#]', pages[where]), where

    form_id = re.search(r'action="/conversations/reveal">\s*<input[^>]+>\s*'
                        r'<input type="hidden" name="conversation_id" value="([^"]+)"', pages[transcript_url])[1]
    revealing = client.post("/conversations/reveal", data={"csrf_token": client.token, "conversation_id": form_id,
                                                           "next": transcript_url})
    assert revealing.status_code == 302 and revealing.location == transcript_url
    assert SMS_SENDER in page(client, transcript_url), "revealed: the number is shown to the staff member who asked"
    audit = page(client, "/audit")
    assert_no_phone_number("audit", audit)
    assert re.search(r"<td>fay</td>\s*<td><a [^>]*>\*\*\*-\*\*\*-0147</a>", audit)
    assert f'href="{transcript_url}"' in audit
    assert_no_phone_number("another staff member's view", page(signed_in(app, "kim", "10.0.0.8"), transcript_url))


def test_a_made_up_or_altered_opaque_id_is_not_found(app, kim):
    transcript_url = conversation_links(kim, "?channel=twilio")[0]
    altered = transcript_url[:-2] + ("AA" if not transcript_url.endswith("AA") else "BB")
    assert kim.get(altered).status_code == 404
    assert kim.post("/conversations/reveal", data={"csrf_token": kim.token,
                                                   "conversation_id": altered.rsplit("/", 1)[1]}).status_code == 404
