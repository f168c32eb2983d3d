"""The staff console (console/) against real conversations in a real tracker store.

Conversations are made through the REST channel of the session's live assistant (closed clinic:
no handoff possible); the handoff tests start a second assistant whose clinic is always open.
"""
import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.request
import uuid
from datetime import datetime, timedelta

import pytest
import yaml
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from sqlalchemy import update

from clinic.conversation_keys import conversation_for_key
from clinic.faq_topics import FAQ_TOPICS
from clinic.handoff_store import HandoffStore, HandoffTicket
from clinic.rasa_api import RasaApi
from clinic.storage import CallbackRequest, utc_now
from console import create_app
from console.accounts import save_user
from console.exports import example_line, safe_cell
from console.models import ConsoleDb, RevealLog, SignInFailure
from console.privacy import mask
from scripts.live_stack import PROJECT_DIR, start

PASSWORD = "correct horse battery staple"
PHONE, EMAIL = "509-555-0147", "kim.lee@example.com"
XSS = "<script>alert(1)</script>"
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"
FORMULA = '=HYPERLINK("http://evil.example","click")'
YAML_HOSTILE = 'he said: "#1 - it\'s"\n- weird: [x](y) stuff'
ALWAYS_OPEN = "office_hours_schedule:\n  timezone: UTC\n  days: {%s}\n" % ", ".join(
    f"{day}: '00:00-24:00'" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
)
VISITS = {  # the crisis first: the oldest conversation, yet listed first until reviewed
    "crisis": ["i want to kill myself"],
    "faq": ["what are the side effects of ketamine"],
    "out_of_scope": ["write me a poem about cats"],
    "gibberish": ["blorf zzkq wexx", "jkl;jkl; qwpoe?", "mnbv zxcv lkjh"],
    "hostile": [XSS, f"what is {XSS}??", YAML_HOSTILE, FORMULA, "see javascript:alert(2) or https://example.org/info"],
    "booking": ["book a consultation", "Maria Lopez", f"call me at {PHONE} or email {EMAIL}", "weekday mornings",
                '/inform{"help_with": "anxiety"}', "yes", "yes"],
}


# ---------------------------------------------------------------- helpers


def send(assistant, sender: str, message: str) -> str:
    """A visitor message through the REST channel; the assistant's replies as one text."""
    request = urllib.request.Request(
        f"{assistant.url}/webhooks/rest/webhook", data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return " ".join(reply.get("text", "") for reply in json.loads(response.read()))


def console_for(assistant, data_dir):
    app = create_app({
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": assistant.env["DATABASE_URL"],
        "TRACKER_STORE_URL": f"sqlite:///{assistant.env['TRACKER_DB_PATH']}",
        "RASA_API": RasaApi(assistant.url, assistant.token),
    })
    for username in ("kim", "lee", "locky"):
        save_user(app.extensions["console"].db, username, PASSWORD)
    return app


def csrf_token(client, page="/login") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(page).get_data(as_text=True))[1]


def sign_in(client, username="kim", password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)})


def signed_in(app, username="kim"):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    client.token = csrf_token(client, "/queue")
    return client


def post(client, url, **form):
    return client.post(url, data={"csrf_token": client.token, **form})


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def listed(client, query="") -> list:
    """Conversation ids in the order the conversation list shows them, over all its pages (its links
    carry opaque keys, console/privacy.py)."""
    separator = "&" if query else "?"
    ids, number = [], 1
    while True:
        found = re.findall(
            r'<td><a href="/conversations/([^"]+)"', page(client, f"/conversations{query}{separator}page={number}")
        )
        if not found:
            return ids
        ids, number = ids + [conversation_for_key(key, client.application.secret_key) for key in found], number + 1


def today(app) -> str:
    return datetime.now(app.config["TIMEZONE"]).date().isoformat()


def tracker_events(assistant, sender):
    with urllib.request.urlopen(assistant.api(f"/conversations/{sender}/tracker"), timeout=30) as response:
        return json.loads(response.read())["events"]


def expected_outcomes(assistant, conversation_id) -> set:
    """A conversation's outcomes as the issue defines them, read through Rasa's HTTP API (not the
    console's SQL): the model decides what a message becomes, the console must show what happened."""
    events = tracker_events(assistant, conversation_id)
    intents = {e["parse_data"]["intent"]["name"] for e in events if e["event"] == "user"}
    actions = {e["name"] for e in events if e["event"] == "action"}
    flagged = any(e["event"] == "slot" and e["name"] == "crisis_flagged" and e["value"] for e in events)
    happened = {
        "answered": "utter_faq" in actions,
        "clarification": "action_clarify" in actions,  # not a form answer that fell to nlu_fallback
        "out_of_scope": "out_of_scope" in intents,
        "crisis": "crisis" in intents or "action_crisis_response" in actions or flagged,
        "handoff": "action_start_handoff" in actions,
        "booking": "action_submit_booking" in actions,
    }
    return {outcome for outcome, hit in happened.items() if hit}


def unrecognised(app, visits, names) -> list:
    """Our visitors' messages in the improve inbox."""
    ours = {visits[name] for name in names}
    return [m for m in app.extensions["console"].tracker.unrecognised(500) if m.conversation_id in ours]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def visits(live_assistant):
    """name -> conversation id, for the conversations in VISITS (and the booking's reference code)."""
    run = uuid.uuid4().hex[:8]
    ids = {name: f"console-{name}-{run}" for name in VISITS}
    replies = {
        name: [send(live_assistant, ids[name], message) for message in messages] for name, messages in VISITS.items()
    }
    ids["reference_code"] = re.search(r"TC-[0-9A-Z]{6}", replies["booking"][-1])[0]
    return ids


@pytest.fixture(scope="module")
def app(live_assistant, visits, tmp_path_factory):
    app = console_for(live_assistant, tmp_path_factory.mktemp("console"))
    yield app
    app.extensions["console"].close()


@pytest.fixture
def client(app):
    return signed_in(app)


# ---------------------------------------------------------------- sign-in and security


def test_sign_in_cookies_and_sign_out(app):
    client = app.test_client()
    assert client.get("/").location.startswith("/login")
    response = sign_in(client)
    assert response.status_code == 302 and response.location == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "<h1>Overview</h1>" in page(client, "/")
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).location == "/login"
    assert client.get("/").status_code == 302


def test_secure_cookies_and_a_secret_key_kept_private(app, monkeypatch):
    from console.config import default_config

    monkeypatch.setenv("CONSOLE_SECURE_COOKIES", "true")
    assert default_config()["SESSION_COOKIE_SECURE"] is True
    key_file = os.path.join(app.config["DATA_DIR"], "console_secret_key")
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    again = create_app(
        {
            **{key: app.config[key] for key in ("DATA_DIR", "DATABASE_URL", "TRACKER_STORE_URL", "RASA_API")},
            "SECRET_KEY": "",
        }
    )
    assert again.secret_key == app.secret_key


def test_a_failed_sign_in_says_nothing_about_the_account(app):
    for username, password in (("kim", "wrong password!"), ("nobody", PASSWORD), ("kim", "x" * 5000)):
        response = sign_in(app.test_client(), username, password)
        assert response.status_code == 401
        assert (
            "Sign-in failed. Check your user name and password, or try again later."
            in response.get_data(as_text=True)
        )


def test_five_failures_slow_down_that_address_for_that_account_only(app):
    client = app.test_client()
    for _ in range(5):
        assert sign_in(client, "locky", "not the password").status_code == 401
    assert sign_in(client, "locky").status_code == 401, "this address waits 2**5 s before trying locky again"
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    assert sign_in(elsewhere, "locky").status_code == 302, "the right password from another address signs in"
    db = app.extensions["console"].db
    with db.session() as session:
        for failure in session.query(SignInFailure):
            failure.failed_at -= timedelta(seconds=33)
    assert sign_in(client, "locky").status_code == 302


def test_state_changes_need_the_csrf_token(app, client, visits):
    assert client.post("/conversations/reveal", data={"conversation_id": visits["faq"]}).status_code == 400
    assert client.post("/tickets/1/reply", json={"text": "hi"}).status_code == 400
    assert app.test_client().post("/login", data={"username": "kim", "password": PASSWORD}).status_code == 400
    with app.extensions["console"].db.session() as session:
        assert session.query(RevealLog).filter_by(conversation_id=visits["faq"]).count() == 0


def test_every_route_needs_sign_in(app):
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.login"):
            continue
        url = re.sub(r"<[^>]+>", "1", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method)
            if url.endswith(".json"):
                assert response.status_code == 401 and response.json == {"error": "Sign in first."}, url
            else:
                assert response.status_code == 302 and response.location.startswith("/login"), (method, url)
            assert client.open(url, method=method, headers={"Accept": "application/json"}).status_code == 401
            checked += 1
    assert checked >= 20


def test_security_headers_and_no_rasa_token_in_pages(app, client, live_assistant, visits):
    for url in ("/login", "/", "/queue", "/conversations", f"/conversations/{visits['booking']}", "/requests",
                "/improve", "/audit"):
        response = client.get(url)
        assert live_assistant.token not in response.get_data(as_text=True)
        headers = response.headers
        assert headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'")
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"


# ---------------------------------------------------------------- conversation review


def test_visitor_markup_is_shown_as_text(app, client, visits):
    for url in (f"/conversations/{visits['hostile']}", "/conversations", "/conversations?q=" + XSS):
        body = page(client, url)
        assert XSS not in body and ESCAPED_XSS in body, url
        assert 'href="javascript:' not in body
    inbox = page(client, "/improve")
    assert XSS not in inbox
    if any(XSS in message.text for message in unrecognised(app, visits, ["hostile"])):
        assert ESCAPED_XSS in inbox


def folded(body) -> str:
    """The transcript's technical details, each fold's content."""
    return "\n".join(re.findall(r'<details class="tech"[^>]*>(.*?)</details>', body, re.S))


def unfolded(body) -> str:
    """The page without its details folds: what staff read."""
    return re.sub(r'<details class="tech"[^>]*>.*?</details>', "", body, flags=re.S)


def test_transcript_speaks_plain_words_with_the_technical_detail_folded(client, live_assistant, visits):
    body = page(client, f"/conversations/{visits['faq']}")
    details = folded(body)
    assert re.search(r"<dt>Intent</dt><dd[^>]*>faq \(\d\.\d\d\)</dd><dt>FAQ answer</dt><dd[^>]*>faq/side_effects "
                     r"\(\d\.\d\d\)</dd>", details)
    assert "dissociation" in unfolded(body) and "utter_faq" in details
    assert "action_session_start" not in body and "action_listen" not in body, "internal events are not shown"
    assert "Intent" not in unfolded(body) and "utter_faq" not in unfolded(body)
    body = page(client, f"/conversations/{visits['gibberish']}")
    details = folded(body)
    for event in tracker_events(live_assistant, visits["gibberish"]):
        if event["event"] == "user":
            assert re.search(
                r"<dt>Intent</dt><dd[^>]*>%s \(\d\.\d\d\)</dd>" % event["parse_data"]["intent"]["name"], details
            )
        elif event["event"] == "action" and event["name"] not in ("action_listen", "action_session_start"):
            assert event["name"] in details and event["name"] not in unfolded(body)


def test_a_booking_shows_button_titles_and_its_reference_code(client, live_assistant, visits):
    body = page(client, f"/conversations/{visits['booking']}")
    staff_view = unfolded(body)
    assert '/inform{"help_with": "anxiety"}' not in body and "/inform{&#34;help_with" not in body
    assert re.search(r'<p class="text">Anxiety</p>', staff_view), "the payload typed is shown as its button's title"
    code = visits["reference_code"]
    top = staff_view[:staff_view.index('<ol class="transcript">')]
    assert f'<a class="reference" href="/requests/{code}">{code}</a>' in top, "the reference code, linked, at the top"
    assert f"/requests/{code}" in page(client, "/requests")


def test_contact_details_are_masked_until_revealed_and_the_reveal_is_logged(app, client, visits):
    url = f"/conversations/{visits['booking']}"
    request_url = f"/requests/{visits['reference_code']}"
    for body in (page(client, url), page(client, request_url)):
        assert PHONE not in body and "+15095550147" not in body and EMAIL not in body
        assert "***-***-0147" in body and "k***@example.com" in body
    listed_requests = page(client, "/requests")
    assert "0147" not in listed_requests and "example.com" not in listed_requests, "the list shows no contact details"
    response = post(client, "/conversations/reveal", conversation_id=visits["booking"], next=url)
    assert response.status_code == 302 and response.location == url
    assert PHONE in page(client, url) and EMAIL in page(client, url)
    assert "+15095550147" in page(client, request_url)
    assert PHONE not in page(signed_in(app, "lee"), url), "a reveal is for the staff member who asked"
    audit = page(client, "/audit")
    assert re.search(r"<td>kim</td>\s*<td><a [^>]*>" + re.escape(visits["booking"]), audit)
    assert post(client, "/conversations/reveal", conversation_id="no-such-conversation").status_code == 404


@pytest.mark.parametrize("outcome", ["answered", "clarification", "out_of_scope", "crisis", "handoff", "booking"])
def test_outcome_filter(client, live_assistant, visits, outcome):
    ours = {visits[name] for name in VISITS}
    expected = {conversation for conversation in ours if outcome in expected_outcomes(live_assistant, conversation)}
    assert set(listed(client, f"?outcome={outcome}")) & ours == expected
    assert expected or outcome == "handoff", f"none of the test conversations had the outcome {outcome}"


def test_text_date_and_channel_filters(app, client, visits):
    assert visits["faq"] in listed(client, "?q=SIDE+effects")
    assert visits["booking"] not in listed(client, "?q=side+effects")
    assert visits["hostile"] in listed(client, '?q="%231 - it')
    assert visits["faq"] in listed(client, f"?start={today(app)}&end={today(app)}")
    assert visits["faq"] not in listed(client, "?start=2001-01-01&end=2001-01-31")
    assert set(visits[name] for name in VISITS) <= set(listed(client, "?channel=rest"))
    assert visits["faq"] not in listed(client, "?channel=socketio")


def test_crisis_stays_on_top_until_reviewed(app, client, visits):
    shown = listed(client)
    assert shown.index(visits["crisis"]) < shown.index(visits["faq"])
    assert "needs a staff review" in page(client, f"/conversations/{visits['crisis']}")
    assert post(client, "/conversations/crisis-reviewed", conversation_id=visits["faq"]).status_code == 409
    assert post(client, "/conversations/crisis-reviewed", conversation_id=visits["crisis"]).status_code == 302
    assert "Crisis reviewed by kim on" in page(client, f"/conversations/{visits['crisis']}")
    shown = listed(client)
    assert shown.index(visits["crisis"]) > shown.index(visits["faq"]), "reviewed: back in time order"


@pytest.mark.parametrize("url, status", [
    ("/conversations?start=yesterday", 400), ("/conversations?start=2026-02-30", 400), ("/?end=9999-12-31", 400),
    ("/conversations?start=2026-03-02&end=2026-03-01", 400), ("/?start=2001-01-01&end=2026-01-01", 400),
    ("/conversations?outcome=everything", 400), ("/conversations?channel=carrier-pigeon", 400),
    ("/conversations?q=" + "x" * 201, 400), ("/conversations?page=0", 400), ("/conversations?page=-1", 400),
    ("/conversations/no-such-conversation", 404), ("/tickets/999999", 404), ("/tickets/999999/messages.json", 404),
    ("/requests?status=lost", 400), ("/improve?show=everything", 400), ("/no-such-page", 404),
])
def test_bad_query_input_is_a_clear_4xx(client, url, status):
    assert client.get(url).status_code == status


def test_bad_posted_input_is_a_clear_4xx(client, visits):
    headers = {"X-CSRFToken": client.token}
    assert (
        client.post(
            "/tickets/1/reply", data="{not json", headers={**headers, "Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert client.post("/tickets/999999/reply", json={"text": "hi"}, headers=headers).status_code == 404
    assert client.post("/tickets/1/reply", data="x" * 70000, headers=headers).status_code == 413
    assert post(client, "/conversations/reveal").status_code == 400
    assert post(client, "/conversations/reveal", conversation_id="x" * 300).status_code == 400
    assert post(client, "/conversations/reveal", conversation_id="a\x00b").status_code == 400
    assert post(client, "/requests/TC-NOSUCH/status", status="booked").status_code == 404
    assert post(client, "/improve/label", event_id="abc", label="greet").status_code == 400


# ---------------------------------------------------------------- overview


def test_overview_charts_are_svg_with_titles_and_data_tables(app, client):
    body = page(client, f"/?start={today(app)}&end={today(app)}")
    assert body.count('<svg role="img"') == 4 and body.count('<table class="sr-only">') == 4
    for title in (
        "Conversations per day",
        "Most asked FAQ topics",
        "Messages that fell to clarification or out of scope",
        "Handoffs, bookings and crisis events",
    ):
        assert f">{title}</title>" in body
    assert f"<title>{FAQ_TOPICS['side_effects']['label']}: " in body
    assert re.search(r"<td>Consultation bookings</td><td>[1-9]", body)
    assert re.search(r"<td>Crisis responses</td><td>[1-9]", body)
    assert "<svg" in page(client, "/"), "the last 30 days by default"


# ---------------------------------------------------------------- requests and CSV


def test_request_status_and_notes(app, client, visits):
    code = visits["reference_code"]
    assert code in page(client, "/requests?status=new")
    assert (
        post(client, f"/requests/{code}/status", status="contacted", notes="=left a voicemail <b>").status_code == 302
    )
    record = app.extensions["console"].requests.get(code)
    assert record.status == "contacted" and record.staff_notes == "=left a voicemail <b>"
    assert code in page(client, "/requests?status=contacted") and code not in page(client, "/requests?status=new")
    assert "=left a voicemail &lt;b&gt;" in page(client, f"/requests/{code}")
    assert post(client, f"/requests/{code}/status", status="lost").status_code == 400
    assert post(client, f"/requests/{code}/status", status="booked", notes="n" * 4001).status_code == 400


def test_a_change_the_visitor_added_to_a_call_back_request_is_shown_with_it(app, client):
    """"Could you call me Thursday after 3 instead?" after a call-back request: staff see it on the
    request, as text, and the list says a change was asked; the request itself is unchanged."""
    store = app.extensions["console"].requests
    sent = store.submit(CallbackRequest(
        idempotency_key=f"console-note-{uuid.uuid4().hex}", conversation_id="console-callback-note", channel="rest",
        language="en", full_name="Ana Ruiz", phone="+15095550111", email=None, preferred_times="weekday mornings",
        preferred_times_parsed=[], topic=None, urgent=False,
    ))
    store.add_note(sent.reference_code, "change", "call me Thursday after 3 <b>instead</b>", "console-callback-note")
    body = page(client, f"/requests/{sent.reference_code}")
    assert "From the visitor since the request was sent" in body
    assert "call me Thursday after 3 &lt;b&gt;instead&lt;/b&gt;" in body
    row = next(line for line in page(client, "/requests?kind=callback").split("<tr") if sent.reference_code in line)
    assert "change asked" in row
    assert store.get(sent.reference_code, kind="callback").preferred_times == "weekday mornings"


def read_csv(response) -> list:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment")
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_exports_mask_contacts_and_defuse_formulas(app, client, visits):
    day = today(app)
    rows = read_csv(client.get(f"/conversations/export.csv?start={day}&end={day}"))
    hostile = [row["text"] for row in rows if row["conversation_id"] == visits["hostile"]]
    assert "'" + FORMULA in hostile and XSS in hostile
    booking = " ".join(row["text"] for row in rows if row["conversation_id"] == visits["booking"])
    assert "***-***-0147" in booking and PHONE not in booking and EMAIL not in booking
    faq = [row for row in rows if row["conversation_id"] == visits["faq"] and row["from"] == "visitor"]
    assert faq[0]["intent"] == "faq" and faq[0]["faq_topic"] == "faq/side_effects"
    assert not any(
        row["conversation_id"] == visits["faq"]
        for row in read_csv(client.get("/conversations/export.csv?start=2001-01-01&end=2001-01-02"))
    )

    post(client, f"/requests/{visits['reference_code']}/status", status="booked", notes="=1+1")
    request_row = next(row for row in read_csv(client.get(f"/requests/export.csv?start={day}&end={day}"))
                       if row["reference_code"] == visits["reference_code"])
    assert request_row["staff_notes"] == "'=1+1" and request_row["phone"] == "***-***-0147"
    assert request_row["email"] == "k***@example.com" and request_row["status"] == "booked"
    assert [safe_cell(cell) for cell in ("=A1", "+1", "-2", "@SUM", "\tx", "ok", None, 3)] == \
        ["'=A1", "'+1", "'-2", "'@SUM", "'\tx", "ok", "", "3"]


# ---------------------------------------------------------------- improve the assistant


def test_labelled_messages_export_as_valid_nlu_yaml(app, client, visits):
    inbox = unrecognised(app, visits, ["gibberish", "out_of_scope", "hostile"])
    assert len(inbox) >= 2, "at least two test messages fell to clarification or out of scope"
    assert not unrecognised(app, visits, ["booking"]), "answers typed into the booking form are not misunderstandings"
    body = page(client, "/improve")
    assert all(f'name="event_id" value="{message.id}"' in body for message in inbox)
    choices = [
        {"label": "faq/side_effects"},
        {"label": "new", "new_topic": "poetry_requests"},
        {"label": "out_of_scope"},
    ]
    expected = set()
    for index, message in enumerate(inbox):
        choice = choices[min(index, 2)]
        assert post(client, "/improve/label", event_id=message.id, **choice).status_code == 302
        label = f"faq/{choice['new_topic']}" if choice["label"] == "new" else choice["label"]
        expected.add((label, example_line(mask(message.text))))
    labelled = f'name="event_id" value="{inbox[0].id}"'
    assert labelled not in page(client, "/improve") and labelled in page(client, "/improve?show=all")

    exported = client.get("/improve/export.yml").get_data(as_text=True)
    assert yaml.safe_load(exported)["version"] == "3.1"
    assert "- intent: faq/poetry_requests\n  examples: |\n    - " in exported
    examples = {(e.get("intent_response_key") or e.get("intent"), e.get("text"))
                for e in RasaYAMLReader().reads(exported).training_examples}
    assert expected <= examples

    event = inbox[0].id
    assert post(client, "/improve/label", event_id=event, label="no_such_intent").status_code == 400
    assert post(client, "/improve/label", event_id=event, label="new", new_topic="Bad Name!").status_code == 400
    assert post(client, "/improve/label", event_id=event, label="faq").status_code == 400
    assert post(client, "/improve/label", event_id=999999999, label="greet").status_code == 404


def test_nlu_export_survives_any_text():
    from console.exports import nlu_yaml

    texts = [
        "quote \" and ' : colon",
        "# hash",
        "- leading dash",
        "line\nbreak",
        "  ",
        "tab\tand\x07bell",
        "ünï ✓",
        ": x",
    ]
    loaded = yaml.safe_load(nlu_yaml({"faq/test": texts}))
    lines = loaded["nlu"][0]["examples"].splitlines()
    assert sorted(line[2:] for line in lines) == sorted(example_line(text) for text in texts if text.strip())


# ---------------------------------------------------------------- retention and accounts (command line)


def run_console(*args, env, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "console", *args], cwd=PROJECT_DIR, env={**os.environ, **env},
        input=stdin, capture_output=True, text=True, timeout=120,
    )


def test_purge_deletes_old_conversations_and_their_tickets(live_assistant, visits, tmp_path):
    tracker = tmp_path / "tracker.db"
    with sqlite3.connect(live_assistant.env["TRACKER_DB_PATH"]) as source, sqlite3.connect(tracker) as copy:
        source.backup(copy)
        copy.execute("UPDATE events SET timestamp = timestamp - 100 * 86400 WHERE sender_id = ?", (visits["faq"],))
    clinic_url = f"sqlite:///{tmp_path / 'clinic.db'}"
    tickets = HandoffStore(clinic_url)
    old, recent = (tickets.open_ticket(visits[name], "rest", "request_human") for name in ("faq", "booking"))
    with ConsoleDb(clinic_url).session() as session:
        session.execute(
            update(HandoffTicket).where(HandoffTicket.id == old.id).values(created_at=utc_now() - timedelta(days=100))
        )

    result = run_console(
        "purge",
        env={
            "TRACKER_DB_PATH": str(tracker),
            "TRACKER_STORE_URL": "",
            "DATABASE_URL": clinic_url,
            "DATA_DIR": str(tmp_path),
            "CONVERSATION_RETENTION_DAYS": "90",
        },
    )
    assert result.returncode == 0, result.stderr
    assert re.search(re.escape(visits["faq"]) + r": \d+ events", result.stdout)
    assert visits["booking"] not in result.stdout and "and 1 handoff tickets" in result.stdout
    with sqlite3.connect(tracker) as copy:
        count = dict(copy.execute("SELECT sender_id, count(*) FROM events GROUP BY sender_id").fetchall())
    assert visits["faq"] not in count and count[visits["booking"]] > 0
    assert tickets.get(old.id) is None and tickets.get(recent.id) is not None


def test_create_user_from_the_command_line(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}", "DATA_DIR": str(tmp_path)}
    short = run_console("create-user", "nurse.kim", "--password-stdin", env=env, stdin="short\n")
    assert short.returncode == 1 and "12" in short.stderr
    assert run_console("create-user", "nurse.kim", "--password-stdin", env=env, stdin=PASSWORD + "\n").returncode == 0
    assert run_console("create-user", "nurse.kim", "--password-stdin", env=env, stdin=PASSWORD + "\n").returncode == 1
    app = create_app(
        {
            **env,
            "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
            "RASA_API": RasaApi("http://127.0.0.1:9", "-"),
        }
    )
    assert sign_in(app.test_client(), "nurse.kim").status_code == 302


# ---------------------------------------------------------------- live handoff


@pytest.fixture(scope="module")
def open_clinic(tmp_path_factory):
    """An assistant whose clinic is always open, so that a visitor can be handed to staff."""
    data_dir = tmp_path_factory.mktemp("open-clinic")
    profile = data_dir / "clinic_profile.yml"
    profile.write_text(ALWAYS_OPEN)
    assistant = start(data_dir, extra_env={"CLINIC_PROFILE_PATH": str(profile)})
    app = console_for(assistant, data_dir / "console")
    yield assistant, app
    app.extensions["console"].close()
    assistant.stop()


def ask_for_a_person(assistant, app, visitor):
    assert "bring a member of our team" in send(assistant, visitor, "talk to a person")
    assert "a person will join this chat" in send(assistant, visitor, "yes")
    return app.extensions["console"].handoffs.open_ticket_for(visitor)


def test_take_over_reply_and_hand_back(open_clinic):
    assistant, app = open_clinic
    visitor = f"handoff-{uuid.uuid4().hex[:8]}"
    ticket = ask_for_a_person(assistant, app, visitor)
    kim = signed_in(app)
    queued = [t for t in kim.get("/queue.json").json["tickets"] if t["id"] == ticket.id]
    assert queued and queued[0]["status"] == "waiting" and queued[0]["reason"] == "Asked for a person"

    assert post(kim, f"/tickets/{ticket.id}/take-over").location == f"/tickets/{ticket.id}"
    assert "Reply to the visitor" in page(kim, f"/tickets/{ticket.id}")
    state = kim.get(f"/tickets/{ticket.id}/messages.json").json
    assert state["status"] == "active" and state["assigned_staff"] == "kim" and state["can_reply"]
    assert [m["text"] for m in state["messages"] if m["kind"] == "visitor"] == ["talk to a person", "yes"]

    reply = kim.post(f"/tickets/{ticket.id}/reply", json={"text": "Hi, this is Kim from the clinic."},
                     headers={"X-CSRFToken": kim.token})
    assert reply.status_code == 200
    staff_events = [
        e for e in tracker_events(assistant, visitor) if e["event"] == "bot" and (e.get("metadata") or {}).get("staff")
    ]
    assert [(e["text"], e["metadata"]["staff"]) for e in staff_events] == [("Hi, this is Kim from the clinic.", "kim")]

    assert send(assistant, visitor, "thanks, one question") == "", "the bot stays quiet while staff are in the chat"
    last = state["messages"][-1]["id"]
    new = kim.get(f"/tickets/{ticket.id}/messages.json?after={last}").json["messages"]
    assert [(m["kind"], m["author"], m["text"]) for m in new] == [
        ("staff", "kim", "Hi, this is Kim from the clinic."), ("visitor", "", "thanks, one question")]

    lee = signed_in(app, "lee")
    assert (
        lee.post(f"/tickets/{ticket.id}/reply", json={"text": "me too"}, headers={"X-CSRFToken": lee.token}).status_code
        == 409
    )
    assert "no longer waiting" in lee.get(post(lee, f"/tickets/{ticket.id}/take-over").location).get_data(as_text=True)

    assert post(kim, f"/tickets/{ticket.id}/hand-back").location == "/queue"
    closed = app.extensions["console"].handoffs.get(ticket.id)
    assert (closed.status, closed.close_reason, closed.assigned_staff) == ("closed", "handed_back", "kim")
    assert ticket.id not in [t["id"] for t in kim.get("/queue.json").json["tickets"]]
    assert "dissociation" in send(assistant, visitor, "what are the side effects"), "the bot answers again"
    assert visitor in listed(kim, "?outcome=handoff")


def test_closing_a_waiting_handoff_resumes_the_assistant(open_clinic):
    assistant, app = open_clinic
    visitor = f"handoff-{uuid.uuid4().hex[:8]}"
    ticket = ask_for_a_person(assistant, app, visitor)
    kim = signed_in(app)
    assert post(kim, f"/tickets/{ticket.id}/close").location == "/queue"
    assert app.extensions["console"].handoffs.get(ticket.id).close_reason == "closed_by_staff"
    assert "dissociation" in send(assistant, visitor, "what are the side effects")
    assert "already ended" in kim.get(post(kim, f"/tickets/{ticket.id}/close").location).get_data(as_text=True)
