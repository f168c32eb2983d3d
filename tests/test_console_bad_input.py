"""Bad input to every route of the staff console: a clear 4xx (or a redirect to sign in), never a
server error, nothing stored from a refused request, and the console still working right after.

No assistant is needed: the console runs on its own SQLite files, with Rasa's events written here
and a stand-in for the Rasa HTTP API that records what would have reached the visitor. CSRF stays on;
requests carry the session's token as the pages do (see tests/test_console.py).
"""
import io
import json
import re
import time
import urllib.parse
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, insert, select

from clinic.storage import ConsultationRequest
from console import create_app
from console.accounts import save_user
from console.models import CallListLog, CrisisReview, NluLabel, RevealLog
from console.params import MAX_ROW_ID
from console.tracker import EVENTS
from tests.console_rows import RecordingRasa, event, user

PASSWORD = "correct horse battery staple"
SCRIPT = "<script>alert('x')</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
CONTROLS = "\x01\x07\x08\x0b\x1b[31m\x1f\x7f\x85\u200b\u202e\u2066"
HOSTILE = f"{SCRIPT}{CONTROLS}' OR 1=1; -- <img src=x onerror=alert(2)>"
ONE_MB = 1024 * 1024
MEGABYTE = b"x" * ONE_MB
OPENAPI = yaml.safe_load((Path(__file__).resolve().parent.parent / "console" / "openapi.yml").read_text())


# ---------------------------------------------------------------- the console under test


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("console-bad-input")
    tracker_url, clinic_url = f"sqlite:///{folder / 'tracker.db'}", f"sqlite:///{folder / 'clinic.db'}"
    engine = create_engine(tracker_url)
    EVENTS.metadata.create_all(engine)
    now = time.time() - 60
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), [
            user("visitor-hostile", HOSTILE, "nlu_fallback", now),
            event("visitor-hostile", "action", now + 1, name="action_clarify"),
            event("visitor-hostile", "bot", now + 2, text="Sorry, I didn't get that."),
            user("visitor-crisis", "I can't go on", "crisis", now + 3),
            event("visitor-crisis", "action", now + 4, name="action_crisis_response"),
            user("visitor-live", f"talk to a person {SCRIPT}", "request_human", now + 5),
            event("visitor-live", "action", now + 6, name="action_start_handoff"),
            event("visitor-live", "bot", now + 7, text="Hi, this is Kim.", metadata={"staff": "kim"}),
        ])
    engine.dispose()
    app = create_app({"DATA_DIR": str(folder), "DATABASE_URL": clinic_url, "TRACKER_STORE_URL": tracker_url,
                      "SECRET_KEY": "test-only-" + "k" * 40, "RASA_API": RecordingRasa(),
                      "MAX_CONTENT_LENGTH": 64 * 1024})  # the default of CONSOLE_MAX_REQUEST_KB
    services = app.extensions["console"]
    for name in ("kim", "lee"):
        save_user(services.db, name, PASSWORD)
    handoffs = services.handoffs
    app.tickets = {name: handoffs.open_ticket(f"visitor-{name}", "rest", "request_human").id
                   for name in ("live", "waiting", "closed")}
    handoffs.take_over(app.tickets["live"], "kim")
    handoffs.close(app.tickets["closed"], "closed_by_staff")
    app.reference = services.requests.submit(ConsultationRequest(
        idempotency_key="visitor-hostile:b1", conversation_id="visitor-hostile", channel="rest",
        full_name="Maria Lopez", phone="+15095550147", preferred_times="weekday mornings", help_with="anxiety",
        consent_to_contact=True,
    )).reference_code
    yield app
    services.close()


def csrf_token(client, page="/login") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(page).get_data(as_text=True))[1]


def sign_in(client, username="kim"):
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302, response.status_code
    client.token = csrf_token(client, "/queue")
    return client


@pytest.fixture(scope="module")
def kim(app):
    return sign_in(app.test_client())


def rasa(app) -> RecordingRasa:
    return app.extensions["console"].rasa


def stored(app) -> dict:
    """Everything a request could change: the console's tables, the requests, the tickets, what was sent."""
    services = app.extensions["console"]
    with services.db.session() as session:
        counts = {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                  for model in (RevealLog, CrisisReview, NluLabel, CallListLog)}
    request = services.requests.get(app.reference)
    return {
        **counts,
        "request": (request.status, request.staff_notes),
        "tickets": sorted((t.id, t.status, t.assigned_staff, t.close_reason) for t in services.handoffs.list_tickets()),
        "sent": len(rasa(app).calls),
    }


def still_works(app, client, signed_in: bool):
    """A normal request right after the bad one gets a normal answer."""
    if not signed_in:
        assert client.get("/login").status_code == 200
        return
    response = client.get("/queue.json")
    if response.status_code == 401:  # the bad request was a sign-out that went through
        sign_in(client)
        response = client.get("/queue.json")
    assert response.status_code == 200 and isinstance(response.json["tickets"], list)


# ---------------------------------------------------------------- every route, every kind of bad input

ROUTES = [
    ("GET", "/"), ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"),
    ("GET", "/conversations"), ("GET", "/conversations/{conversation}"), ("POST", "/conversations/reveal"),
    ("POST", "/conversations/crisis-reviewed"), ("GET", "/conversations/export.csv"), ("GET", "/audit"),
    ("GET", "/improve"), ("POST", "/improve/label"), ("GET", "/improve/export.yml"),
    ("GET", "/queue"), ("GET", "/queue.json"), ("GET", "/tickets/{live}"), ("GET", "/tickets/{live}/messages.json"),
    # state changes on the closed ticket: a request that gets through changes nothing
    ("POST", "/tickets/{closed}/take-over"), ("POST", "/tickets/{closed}/reply"),
    ("POST", "/tickets/{closed}/hand-back"), ("POST", "/tickets/{closed}/close"),
    ("GET", "/requests"), ("GET", "/requests/{reference}"), ("POST", "/requests/{reference}/status"),
    ("GET", "/requests/export.csv"), ("POST", "/requests/call-list.csv"),
]
FIELDS = ("username", "password", "conversation_id", "next", "event_id", "label", "new_topic", "status", "notes",
          "text", "q", "start", "end", "channel", "outcome", "page", "show", "after")


def url_for_route(app, template: str) -> str:
    return template.format(reference=app.reference, conversation="visitor-hostile", **app.tickets)


def form_body(token: str, **fields) -> bytes:
    return urllib.parse.urlencode({"csrf_token": token, **fields}).encode()


def nested(depth: int) -> bytes:
    return b'{"text": "hi", "x": ' + b"[" * depth + b"]" * depth + b"}"


# name -> (request arguments given the CSRF token, the one status expected, or None: any clear answer)
BAD_INPUT = {
    "1 MB form": (lambda token: dict(data=form_body(token) + b"&notes=" + MEGABYTE,
                                     content_type="application/x-www-form-urlencoded"), 413),
    "1 MB JSON": (lambda token: dict(data=b'{"text": "' + MEGABYTE + b'"}', content_type="application/json",
                                     headers={"X-CSRFToken": token}), 413),
    "1 MB of bytes": (lambda token: dict(data=MEGABYTE, content_type="application/octet-stream"), 413),
    "invalid UTF-8 in the query string": (lambda token: dict(query_string="q=%ff%fe&status=%c3%28"), 400),
    # as a WSGI server passes bytes it was sent unencoded: each byte as one latin-1 character
    "raw invalid UTF-8 in the query string": (lambda token: dict(environ_overrides={"QUERY_STRING": "q=\xff\xfe"}),
                                              400),
    "invalid UTF-8 in the form": (lambda token: dict(
        data=b"csrf_token=" + token.encode() + b"&conversation_id=%ff%fe&notes=\xc3\x28&text=\xed\xa0\x80",
        content_type="application/x-www-form-urlencoded"), 400),
    "NUL in the query string": (lambda token: dict(query_string="q=a%00b"), 400),
    "NUL in the form": (lambda token: dict(data=form_body(token, **dict.fromkeys(FIELDS, "a\x00b")),
                                           content_type="application/x-www-form-urlencoded"), 400),
    "100 KB query string": (lambda token: dict(query_string="q=" + "x" * 100_000), 414),
    "markup and control characters in every field": (lambda token: dict(
        query_string=urllib.parse.urlencode(dict.fromkeys(FIELDS, HOSTILE)),
        data=form_body(token, **dict.fromkeys(FIELDS, HOSTILE)), content_type="application/x-www-form-urlencoded"),
        None),
    "markup in the search text": (lambda token: dict(query_string={"q": HOSTILE[:190], "next": "/\t/evil.example"}),
                                  None),
    "every field missing": (lambda token: dict(data=form_body(token), content_type="application/x-www-form-urlencoded"),
                            None),
    "fields of the wrong type": (lambda token: dict(
        query_string="page=-1&page=abc&after=1e9&start=2026-13-45&end=99999-01-01&show=1",
        data=form_body(token, event_id="-7", status="9", conversation_id="", label="[]", new_topic="{}"),
        content_type="application/x-www-form-urlencoded"), None),
    "repeated fields": (lambda token: dict(
        data=b"csrf_token=" + token.encode() + b"&status=lost&status=new&status[]=x&notes=a&notes=b" * 50,
        content_type="application/x-www-form-urlencoded"), None),
    "JSON of the wrong type": (lambda token: dict(json=[{"text": 42}, None, ["conversation_id"]],
                                                  headers={"X-CSRFToken": token}), None),
    "malformed JSON": (lambda token: dict(data='{"text": "hi", ', content_type="application/json",
                                          headers={"X-CSRFToken": token}), None),
    "deeply nested JSON": (lambda token: dict(data=nested(20_000), content_type="application/json",
                                              headers={"X-CSRFToken": token}), None),
    "JSON a form expects": (lambda token: dict(json=dict.fromkeys(FIELDS, HOSTILE), headers={"X-CSRFToken": token}),
                            None),
    "a form with files": (lambda token: dict(data={"csrf_token": token, "notes": (io.BytesIO(b"\x00" * 1000), "x.bin")},
                                             content_type="multipart/form-data"), None),
}


def assert_clear_answer(app, response, method, signed_in, expected, label):
    status = response.status_code
    assert status < 500, (label, status)
    if expected is not None:
        assert status == expected, (label, status, response.get_data(as_text=True)[:200])
    elif not signed_in:
        assert status in (302, 400, 401, 200), (label, status)
        if status == 302:
            assert response.location.startswith("/login"), (label, response.location)
        if status == 200:
            assert response.request.path == "/login" and method == "GET", label
    else:
        assert status in (200, 302, 400, 404, 405, 409), (label, status)
    if status == 302:
        assert response.location.startswith("/") and not response.location.startswith("//"), response.location
    body = response.get_data(as_text=True)
    if response.mimetype == "text/html":
        assert SCRIPT not in body and "<img src=x" not in body, label
        assert "\x1b" not in body and "\x00" not in body, label
    elif response.mimetype == "application/json":
        assert isinstance(response.json, dict) and (status < 400 or response.json.get("error")), label
    if status >= 400:  # a clear answer: it says what is wrong
        assert len(body) > 20, (label, body)


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "signed-out"])
@pytest.mark.parametrize("method, template", ROUTES, ids=[f"{m} {t}" for m, t in ROUTES])
def test_every_route_answers_bad_input_clearly(app, kim, method, template, signed_in):
    client = kim if signed_in else app.test_client()
    url = url_for_route(app, template)
    may_change = signed_in and method == "POST"
    before = stored(app)
    for label, (arguments, expected) in BAD_INPUT.items():
        token = kim.token if signed_in else "not-a-token"  # a new one after a sign-out and in again
        response = client.open(url, method=method, **arguments(token))
        assert_clear_answer(app, response, method, signed_in, expected, f"{label}: {method} {url}")
        if may_change:
            assert stored(app) == before, f"{label}: {method} {url} changed something"
        still_works(app, client, signed_in)
    assert stored(app) == before, f"{method} {url} changed something"
    # the other method
    other = "GET" if method == "POST" else "POST"
    if other not in {m for m, t in ROUTES if t == template}:
        response = client.open(url, method=other, data=form_body(kim.token if signed_in else ""),
                               content_type="application/x-www-form-urlencoded")
        assert_clear_answer(app, response, other, signed_in, None, f"{other} {url}")
        # GET /conversations/reveal is a conversation named "reveal": not found
        assert response.status_code in ((400, 404, 405) if signed_in else (302, 401, 400))


def test_the_routes_above_are_all_the_routes(app):
    listed = {re.sub(r"\{\w+\}", "X", template) for _, template in ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            assert re.sub(r"<[^>]+>", "X", rule.rule) in listed, f"{rule.rule}: add it to ROUTES"


def test_the_guards_answer_before_sign_in_and_csrf(app):
    """Size and encoding are checked first, so a signed-out client gets the same clear answer."""
    client = app.test_client()
    assert (
        client.post("/login", data=b"x" * ONE_MB, content_type="application/x-www-form-urlencoded").status_code == 413
    )
    assert client.get("/login", query_string="next=%ff").status_code == 400
    assert client.get("/", environ_overrides={"PATH_INFO": "/conversations/\xff\xfe"}).status_code == 400
    response = client.get("/queue.json", environ_overrides={"PATH_INFO": "/tickets/1\x00/messages.json"})
    assert response.status_code == 400 and response.json == {"error": "The address contains a NUL character."}
    assert app.config.get("WTF_CSRF_ENABLED", True), "CSRF protection stays on"


@pytest.mark.parametrize("cookie", ["garbage", "x" * 4000, "eyJfZnJlc2giOmZhbHNlfQ.forged.signature", "\u00ff\u00fe"])
def test_a_forged_or_broken_session_cookie_means_signed_out(app, cookie):
    client = app.test_client()
    client.set_cookie("console_session", cookie)
    assert client.get("/queue").status_code == 302 and client.get("/queue.json").status_code == 401
    assert client.get("/login").status_code == 200


def test_a_burst_of_bad_requests_from_one_client_is_refused_cheaply(app, kim):
    """500 bad requests in a row: each refused, none slower than a normal page, the console fine after."""
    normal = []
    for _ in range(5):
        started = time.monotonic()
        assert kim.get("/queue").status_code == 200
        normal.append(time.monotonic() - started)
    bad = [
        dict(method="POST", path="/conversations/reveal", data=MEGABYTE, content_type="application/octet-stream"),
        dict(method="GET", path="/conversations", query_string="q=%ff"),
        dict(
            method="POST",
            path=f"/tickets/{app.tickets['live']}/reply",
            data=nested(20_000),
            content_type="application/json",
            headers={"X-CSRFToken": kim.token},
        ),
        dict(method="GET", path="/tickets/99999999999999999999/messages.json"),
        dict(
            method="POST", path=f"/requests/{app.reference}/status", data={"csrf_token": kim.token, "status": HOSTILE}
        ),
    ]
    before, started = stored(app), time.monotonic()
    for number in range(500):
        arguments = dict(bad[number % len(bad)])
        assert 400 <= kim.open(arguments.pop("path"), **arguments).status_code < 500
    per_request = (time.monotonic() - started) / 500
    assert per_request < max(2 * max(normal), 0.05), (per_request, normal)
    assert stored(app) == before
    still_works(app, kim, signed_in=True)


# ---------------------------------------------------------------- ids and numbers of the wrong type

BAD_IDS = ["0", "-1", "abc", "1.5", "1e3", "99999999999999999999", str(MAX_ROW_ID + 1), str(2 ** 64), "%20" + "1",
           "1%2F2", "%EF%BC%91", "9" * 400]


@pytest.mark.parametrize("bad_id", BAD_IDS)
@pytest.mark.parametrize("method, suffix", [("GET", ""), ("GET", "/messages.json"), ("POST", "/take-over"),
                                            ("POST", "/reply"), ("POST", "/hand-back"), ("POST", "/close")])
def test_a_ticket_id_of_the_wrong_type_is_not_found(app, kim, bad_id, method, suffix):
    before = stored(app)
    response = kim.open(f"/tickets/{bad_id}{suffix}", method=method, json={"text": "hello"},
                        headers={"X-CSRFToken": kim.token})
    assert response.status_code == 404, (bad_id, suffix, response.status_code)
    assert stored(app) == before


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", " 1", "²", "١", "99999999999999999999", str(MAX_ROW_ID + 1),
                                   "0x10", ""])
def test_row_numbers_in_parameters_must_be_plain_digits(app, kim, value):
    ticket = app.tickets["live"]
    if value != "":
        assert kim.get(f"/tickets/{ticket}/messages.json", query_string={"after": value}).status_code == 400
        assert kim.get("/conversations", query_string={"page": value}).status_code == 400
    before = stored(app)
    assert (
        kim.post("/improve/label", data={"csrf_token": kim.token, "event_id": value, "label": "greet"}).status_code
        == 400
    )
    assert stored(app) == before
    assert kim.get(f"/tickets/{ticket}/messages.json", query_string={"after": str(MAX_ROW_ID)}).json["messages"] == []


@pytest.mark.parametrize("conversation_id", ["x" * 10_000, "../../etc/passwd", "%2e%2e%2f", SCRIPT, "%E2%80%AE", " "])
def test_a_conversation_id_of_any_shape_is_not_found(app, kim, conversation_id):
    response = kim.get(f"/conversations/{conversation_id}")
    assert response.status_code == 404 and SCRIPT not in response.get_data(as_text=True)
    before = stored(app)
    for url in ("/conversations/reveal", "/conversations/crisis-reviewed"):
        response = kim.post(url, data={"csrf_token": kim.token, "conversation_id": conversation_id})
        assert response.status_code in (400, 404)
    response = kim.post(f"/requests/{urllib.parse.quote(conversation_id, safe='')}/status",
                        data={"csrf_token": kim.token, "status": "booked"})
    assert response.status_code == 404
    assert stored(app) == before


# ---------------------------------------------------------------- refused requests leave nothing behind

REFUSED_REPLIES = [
    {}, {"text": ""}, {"text": "   \n\t "}, {"text": "\x01\x02\x1b\x7f"}, {"text": "\u200b\u200e\u202e"},
    {"text": "x" * 2001}, {"text": None}, {"text": 42}, {"text": ["hi"]}, {"text": {"text": "hi"}}, {"text": "a\x00b"},
    {"message": "hi"},
]


@pytest.mark.parametrize("body", REFUSED_REPLIES, ids=[repr(body)[:30] for body in REFUSED_REPLIES])
def test_a_refused_reply_sends_nothing(app, kim, body):
    url = f"/tickets/{app.tickets['live']}/reply"
    before = stored(app)
    response = kim.post(url, json=body, headers={"X-CSRFToken": kim.token})
    assert response.status_code == 400
    assert response.json["error"].startswith("text:") or "JSON" in response.json["error"]
    assert stored(app) == before
    assert kim.post(url, json={"text": "Hi, this is Kim."}, headers={"X-CSRFToken": kim.token}).status_code == 200
    assert rasa(app).calls[-1] == ("say", "visitor-live", "Hi, this is Kim.", "kim")


@pytest.mark.parametrize("raw", [
    b'{"text": "\\ud800"}',  # a lone surrogate: JSON can say it, no database can store it
    b'{"text": "hi"',
    b'{"text": "\xff\xfe"}',
    nested(50_000),
    b'[' * 100_000,
    b'"just a string"',
    b"",
], ids=["surrogate", "truncated", "invalid-utf8", "nested", "unclosed", "string", "empty"])
def test_a_reply_that_is_not_a_json_object_with_text_is_refused(app, kim, raw):
    before = stored(app)
    response = kim.post(f"/tickets/{app.tickets['live']}/reply", data=raw, content_type="application/json",
                        headers={"X-CSRFToken": kim.token})
    assert response.status_code in (400, 413) and response.json["error"]
    assert stored(app) == before


def test_a_reply_is_sent_without_its_control_characters(app, kim):
    url = f"/tickets/{app.tickets['live']}/reply"
    response = kim.post(url, json={"text": "Hello\x07 there,\x1b[0m\r\nsee you\tsoon \U0001F642"},
                        headers={"X-CSRFToken": kim.token})
    assert response.status_code == 200
    assert rasa(app).calls[-1][2] == "Hello there,[0m\r\nsee you\tsoon \U0001F642"


def test_a_reply_needs_the_csrf_token_and_the_right_ticket(app, kim):
    before = stored(app)
    assert kim.post(f"/tickets/{app.tickets['live']}/reply", json={"text": "hi"}).status_code == 400
    assert kim.post(f"/tickets/{app.tickets['live']}/reply", json={"text": "hi"},
                    headers={"X-CSRFToken": "forged"}).status_code == 400
    for name in ("waiting", "closed"):
        assert kim.post(f"/tickets/{app.tickets[name]}/reply", json={"text": "hi"},
                        headers={"X-CSRFToken": kim.token}).status_code == 409
    assert stored(app) == before


@pytest.mark.parametrize("form", [
    {"status": "lost"}, {"status": ""}, {"status": HOSTILE}, {"status": "booked", "notes": "n" * 4001},
    {"status": "booked", "notes": "a\x00b"}, {"status": "booked\x00"}, {"notes": "no status"},
], ids=["unknown", "empty", "hostile", "long-notes", "nul-notes", "nul-status", "missing"])
def test_a_refused_status_change_is_not_stored(app, kim, form):
    before = stored(app)
    response = kim.post(f"/requests/{app.reference}/status", data={"csrf_token": kim.token, **form})
    assert response.status_code == 400
    assert stored(app) == before


@pytest.mark.parametrize("form", [
    {"event_id": "1", "label": "no_such_intent"}, {"event_id": "1", "label": "new", "new_topic": "Bad Name!"},
    {"event_id": "1", "label": "new", "new_topic": HOSTILE}, {"event_id": "1", "label": "new"},
    {"event_id": "1", "label": "faq"}, {"event_id": "1"}, {"label": "greet"}, {"event_id": "1", "label": HOSTILE},
    {"event_id": "4", "label": "greet"},  # a message that is not in the inbox
])
def test_a_refused_label_is_not_stored(app, kim, form):
    before = stored(app)
    response = kim.post("/improve/label", data={"csrf_token": kim.token, **form})
    assert response.status_code in (400, 404)
    assert stored(app) == before


def test_notes_keep_markup_as_text_and_lose_control_characters(app, kim):
    notes = f"called back {SCRIPT}\x07\x1b[31m\nline two"
    response = kim.post(f"/requests/{app.reference}/status",
                        data={"csrf_token": kim.token, "status": "contacted", "notes": notes})
    assert response.status_code == 302
    record = app.extensions["console"].requests.get(app.reference)
    assert record.staff_notes == f"called back {SCRIPT}[31m\nline two"
    page = kim.get(f"/requests/{app.reference}").get_data(as_text=True)
    assert ESCAPED_SCRIPT in page and SCRIPT not in page
    csv_text = kim.get("/requests/export.csv").get_data(as_text=True)
    assert "\x1b" not in csv_text and "\x07" not in csv_text


def test_hostile_visitor_text_is_escaped_wherever_it_is_shown(app, kim):
    for url in ("/conversations/visitor-hostile", "/conversations", "/improve", "/conversations?q=alert",
                f"/tickets/{app.tickets['live']}", "/conversations/visitor-live"):
        page = kim.get(url)
        body = page.get_data(as_text=True)
        assert page.status_code == 200 and SCRIPT not in body and "<img src=x" not in body, url
    assert ESCAPED_SCRIPT in kim.get("/conversations/visitor-hostile").get_data(as_text=True)
    messages = kim.get(f"/tickets/{app.tickets['live']}/messages.json").json["messages"]
    assert SCRIPT in messages[0]["text"], "JSON carries the text as typed; the page inserts it with textContent"
    search = kim.get("/conversations", query_string={"q": SCRIPT}).get_data(as_text=True)
    assert 'value="&lt;script&gt;' in search and SCRIPT not in search


def test_a_failed_sign_in_shows_the_typed_name_as_text(app):
    client = app.test_client()
    response = client.post("/login", data={"username": HOSTILE, "password": "x", "csrf_token": csrf_token(client)})
    body = response.get_data(as_text=True)
    assert response.status_code == 401 and SCRIPT not in body and "&lt;script&gt;" in body
    for username, password in (("kim", ""), ("", PASSWORD), ("kim", "x" * 5000), ("k" * 65, PASSWORD)):
        response = client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": csrf_token(client)})
        assert response.status_code == 401
    assert client.post("/login", data={"username": "kim", "password": PASSWORD}).status_code == 400, "CSRF stays on"


def test_open_redirects_are_refused(app, kim):
    for target in ("//evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)",
                   "/\t/evil.example", "\x00/x", "/%0d%0aSet-Cookie:x=1"):
        response = kim.post("/conversations/reveal", data={"csrf_token": kim.token, "conversation_id": "visitor-crisis",
                                                           "next": target})
        assert response.status_code in (302, 400), target
        if response.status_code == 302:
            location = response.headers["Location"]
            assert location.startswith("/") and not location.startswith(("//", "/\\")), (target, location)
            assert not re.search(r"[\x00-\x20\\]", location), (target, location)


# ---------------------------------------------------------------- size limits


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


@pytest.mark.parametrize("signed_in", [True, False])
def test_a_large_body_is_refused_before_it_is_read(app, kim, signed_in):
    client = kim if signed_in else app.test_client()
    stream = CountingStream(b"notes=" + b"x" * (8 * ONE_MB))
    started = time.monotonic()
    response = client.post(f"/requests/{app.reference}/status", input_stream=stream,
                           content_length=len(stream.getvalue()), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413 and "64 KB" in response.get_data(as_text=True)
    assert stream.bytes_read == 0 and time.monotonic() - started < 1.0


def test_a_body_just_under_the_limit_is_read(app, kim):
    notes = "n" * 4000
    response = kim.post(f"/requests/{app.reference}/status",
                        data={"csrf_token": kim.token, "status": "contacted", "notes": notes, "pad": "p" * 50_000})
    assert response.status_code == 302
    assert app.extensions["console"].requests.get(app.reference).staff_notes == notes


def test_the_size_limit_is_configurable(app, monkeypatch):
    from console.config import default_config

    monkeypatch.delenv("CONSOLE_MAX_REQUEST_KB", raising=False)
    assert default_config()["MAX_CONTENT_LENGTH"] == 64 * 1024
    monkeypatch.setenv("CONSOLE_MAX_REQUEST_KB", "1")
    assert default_config()["MAX_CONTENT_LENGTH"] == default_config()["MAX_FORM_MEMORY_SIZE"] == 1024
    for wrong in ("0", "-5", "1.5", "lots", "999999"):
        monkeypatch.setenv("CONSOLE_MAX_REQUEST_KB", wrong)
        with pytest.raises(ValueError, match="CONSOLE_MAX_REQUEST_KB"):
            default_config()
    small = app.test_client()
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        assert small.post("/login", data={"username": "kim", "password": "p" * 2000}).status_code == 413
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 64 * 1024


# ---------------------------------------------------------------- the JSON endpoints against console/openapi.yml


def resolve(node, root=OPENAPI):
    """The OpenAPI document with every local $ref replaced by what it points to."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = root
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return resolve(target, root)
        return {key: resolve(value, root) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, root) for value in node]
    return node


OPERATIONS = [(path, method.upper(), operation) for path, item in resolve(OPENAPI["paths"]).items()
              for method, operation in item.items()]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


def parameter_values(schema):
    """Valid values for a parameter, and invalid ones (as the text of a path or query string)."""
    if schema.get("type") == "integer":
        valid = st.integers(schema.get("minimum", 0), min(schema.get("maximum", 2 ** 63), 10 ** 6)).map(str)
        return st.one_of(valid, st.integers(-2 ** 70, 2 ** 70).map(str), st.text(max_size=12),
                         st.sampled_from(["²", "١", "1.0", "0x1", "", "9" * 30]))
    return st.text(max_size=40)


def request_bodies(operation):
    if "requestBody" not in operation:
        return st.none()
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    text = schema["properties"]["text"]
    valid = st.fixed_dictionaries({"text": st.text(min_size=text["minLength"], max_size=text["maxLength"])})
    edge = st.fixed_dictionaries({"text": st.sampled_from(["", " ", "\x00", "\x01", "\u200b", "x" * 2001, SCRIPT])})
    return st.one_of(valid, edge, json_values, st.binary(max_size=40),
                     st.integers(1, 5000).map(lambda depth: nested(depth)))


@st.composite
def requests_for(draw, operation, tickets):
    path_values, query = {}, {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            known = st.sampled_from(sorted(tickets.values())).map(str)
            path_values[parameter["name"]] = draw(st.one_of(known, known, parameter_values(parameter["schema"])))
        elif parameter["in"] == "query" and draw(st.booleans()):
            query[parameter["name"]] = draw(parameter_values(parameter["schema"]))
    return path_values, query, draw(request_bodies(operation)), draw(st.sampled_from(["kim", "lee", "nobody"]))


@pytest.fixture(scope="module")
def lee(app):
    return sign_in(app.test_client(), "lee")


@pytest.mark.parametrize("path, method, operation", OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS])
def test_json_endpoints_answer_as_described(app, kim, lee, path, method, operation):
    clients = {"kim": kim, "lee": lee, "nobody": app.test_client()}

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(request=requests_for(operation, app.tickets))
    def check(request):
        path_values, query, body, who = request
        client = clients[who]
        url = path
        for name, value in path_values.items():
            url = url.replace("{%s}" % name, urllib.parse.quote(value, safe=""))
        arguments = {"query_string": query, "headers": {"X-CSRFToken": getattr(client, "token", "")}}
        if method == "POST":  # a JSON request, as the page sends; the body valid, any JSON, or not JSON at all
            arguments.update(
                data=body if isinstance(body, bytes) else json.dumps(body), content_type="application/json"
            )
        sent = len(rasa(app).calls)
        response = client.open(url, method=method, **arguments)
        status = str(response.status_code)
        assert response.status_code < 500, (url, body, status)
        assert status in operation["responses"], f"{method} {url} answered {status}, not described"
        described = operation["responses"][status]
        assert response.mimetype == "application/json", (url, status, response.mimetype)
        jsonschema.validate(response.json, described["content"]["application/json"]["schema"])
        assert len(rasa(app).calls) == sent + (status == "200" and method == "POST"), "sent only when accepted"

    check()


def test_openapi_describes_every_json_endpoint(app):
    described = {re.sub(r"\{\w+\}", "X", path) for path in OPENAPI["paths"]}
    for rule in app.url_map.iter_rules():
        if rule.rule.endswith(".json") or rule.endpoint == "queue.reply":
            assert re.sub(r"<[^>]+>", "X", rule.rule) in described, rule.rule
