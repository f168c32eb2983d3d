"""What visitors can and cannot do to a running assistant (scripts/live_stack.py), end to end.

- invalid Unicode never reaches the stored conversation (REST and the widget's Socket.IO; the
  messaging webhooks: test_channel_input.py);
- typed intent payloads do not steer the dialogue: only the assistant's own buttons count, and
  the EXTERNAL_ intents belong to the HTTP API;
- no visitor text or contact detail reaches the Rasa server's or the action server's log at the
  default level;
- a refusal the visitor reads carries the crisis line;
- the HTTP API checks the token before it says anything about a request's body.
"""
import asyncio
import json
import os
import secrets
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Tuple

import pytest
import socketio

from rasa_server.refusals import crisis_line
from scripts.live_stack import LiveAssistant

ALLOWED_ORIGIN = "http://localhost:8080"


def call(url: str, body: Any = None, method: str = "POST", raw: Optional[bytes] = None) -> Tuple[int, Any]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read()
    try:
        return status, json.loads(answer)
    except ValueError:
        return status, answer


def say(assistant: LiveAssistant, sender: str, text: str) -> List[Dict[str, Any]]:
    status, replies = call(f"{assistant.url}/webhooks/rest/webhook", {"sender": sender, "message": text})
    assert status == 200, (status, replies)
    return replies


def text_of(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(reply.get("text") or "" for reply in replies)


def tracker(assistant: LiveAssistant, sender: str) -> Dict[str, Any]:
    status, state = call(assistant.api(f"/conversations/{sender}/tracker"), method="GET")
    assert status == 200
    return state


def user_events(state: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [event for event in state["events"] if event["event"] == "user"]


def action_names(state: Dict[str, Any]) -> List[str]:
    return [event["name"] for event in state["events"] if event["event"] == "action"]


def new_sender(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}"


# ---- nothing to read (a blank message; over SMS or WhatsApp, a picture without words)


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_a_blank_message_is_asked_to_be_put_another_way(live_assistant, blank):
    sender = new_sender("blank")

    replies = say(live_assistant, sender, blank)

    assert "didn't quite follow" in text_of(replies)
    assert user_events(tracker(live_assistant, sender))[-1]["parse_data"]["intent"]["name"] == "nlu_fallback"


# ---- invalid Unicode (issue: one lone surrogate made the conversation unreadable in the console)

LONE_SURROGATE_TEXT = "hi \ud800 there"


def assert_stored_as_valid_unicode(state: Dict[str, Any]) -> None:
    texts = [event["text"] for event in user_events(state)]
    assert texts and "hi" in texts[-1] and "there" in texts[-1]
    json.dumps(state, ensure_ascii=False).encode("utf-8")  # raises UnicodeEncodeError on a lone surrogate


def test_a_lone_surrogate_sent_over_rest_is_stored_as_valid_unicode(live_assistant):
    sender = new_sender("surrogate-rest")
    say(live_assistant, sender, LONE_SURROGATE_TEXT)
    assert_stored_as_valid_unicode(tracker(live_assistant, sender))


async def test_a_lone_surrogate_sent_by_the_widget_is_stored_as_valid_unicode(live_assistant):
    client = socketio.AsyncClient(reconnection=False)
    session_id = uuid.uuid4().hex
    confirmed, replies = asyncio.Event(), asyncio.Queue()
    client.on("session_confirm", lambda _: confirmed.set())
    client.on("bot_uttered", replies.put_nowait)
    await client.connect(
        live_assistant.url, headers={"Origin": ALLOWED_ORIGIN}, transports=["polling"], wait_timeout=10
    )
    try:
        await client.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(confirmed.wait(), timeout=10)
        await client.emit("user_uttered", {"message": LONE_SURROGATE_TEXT, "session_id": session_id,
                                           "metadata": {"page": "/faq\udfff"}})
        await asyncio.wait_for(replies.get(), timeout=60)
    finally:
        await client.disconnect()
    assert_stored_as_valid_unicode(await asyncio.to_thread(tracker, live_assistant, session_id))


# ---- typed payloads do not steer the dialogue


def pause_as_a_handoff_does(assistant: LiveAssistant, sender: str) -> None:
    """The state actions/handoff.py leaves while staff answer: handoff_active, the bot paused."""
    events = [{"event": "slot", "name": "handoff_active", "value": True}, {"event": "pause"}]
    status, _ = call(assistant.api(f"/conversations/{sender}/tracker/events"), events)
    assert status == 200


TYPED_COMMANDS = ["/restart", "/EXTERNAL_handoff_ended", "/EXTERNAL_handoff_timeout", "/session_start", "/back",
                  "//restart"]
SYSTEM_INTENTS = {"restart", "session_start", "back", "EXTERNAL_handoff_ended", "EXTERNAL_handoff_timeout"}


def test_during_a_handoff_typed_commands_neither_unpause_nor_end_it(live_assistant):
    sender = new_sender("handoff-typed")
    say(live_assistant, sender, "hello")
    pause_as_a_handoff_does(live_assistant, sender)
    before = len(tracker(live_assistant, sender)["events"])
    for typed in TYPED_COMMANDS:
        assert say(live_assistant, sender, typed) == [], typed  # staff are answering: the bot says nothing

    state = tracker(live_assistant, sender)
    assert state["paused"] and state["slots"]["handoff_active"] is True
    later = state["events"][before:]
    assert {event["event"] for event in later} == {"user"}, later  # no restart, resume, rewind, action
    assert [event["text"] for event in later] == TYPED_COMMANDS
    assert not {event["parse_data"]["intent"]["name"] for event in later} & SYSTEM_INTENTS


@pytest.mark.parametrize("typed", ["/EXTERNAL_handoff_ended", "/EXTERNAL_handoff_timeout", "/restart"])
def test_outside_a_handoff_typed_system_intents_do_nothing_of_the_kind(live_assistant, typed):
    sender = new_sender("typed-intent")
    say(live_assistant, sender, "/book_consultation")
    say(live_assistant, sender, "Maria Lopez")
    say(live_assistant, sender, typed)
    state = tracker(live_assistant, sender)
    assert user_events(state)[-1]["parse_data"]["intent"]["name"] not in SYSTEM_INTENTS
    assert "action_handoff_finished" not in action_names(state) and "action_restart" not in action_names(state)
    assert not [event for event in state["events"] if event["event"] == "restart"]
    assert state["slots"]["full_name"] == "Maria Lopez"  # the form's answers are all still there


def test_the_assistants_own_buttons_still_work(live_assistant):
    sender = new_sender("buttons")
    assert "full name" in text_of(say(live_assistant, sender, "/book_consultation"))
    for answer in ("Maria Lopez", "509-555-0142", "weekday mornings", '/inform{"help_with": "anxiety"}', "/affirm"):
        replies = say(live_assistant, sender, answer)
    summary_buttons = [button["payload"] for reply in replies for button in reply.get("buttons") or []]
    assert "/change_booking" in summary_buttons, replies  # built by action_booking_summary, not in the domain
    assert "What would you like to change?" in text_of(say(live_assistant, sender, "/change_booking"))
    intents = [
        (event["text"], event["parse_data"]["intent"]["name"]) for event in user_events(tracker(live_assistant, sender))
    ]
    assert ("/book_consultation", "book_consultation") in intents
    assert ('/inform{"help_with": "anxiety"}', "inform") in intents
    assert ("/change_booking", "change_booking") in intents


@pytest.mark.parametrize(
    "greeting, times, question, typed_confirm, summary_question",
    [
        ("hello", "weekday mornings", "what happens at the consultation?", "Confirm", "Shall I send it to the team?"),
        ("hola", "entre semana por la mañana", "¿qué pasa en la consulta?", "confirmar", "¿La envío al equipo?"),
    ],
    ids=["English", "Spanish"],
)
def test_a_question_at_the_booking_summary_is_answered_and_a_typed_confirm_sends_the_request(
    live_assistant, greeting, times, question, typed_confirm, summary_question
):
    sender = new_sender("summary")
    say(live_assistant, sender, greeting)
    say(live_assistant, sender, "/book_consultation")
    for answer in ("Maria Lopez", "509-555-0142", times, '/inform{"help_with": "anxiety"}', "/affirm"):
        replies = say(live_assistant, sender, answer)
    assert summary_question in text_of(replies)

    replies = say(live_assistant, sender, question)
    assert summary_question in text_of(replies)  # answered, then the request is shown again, not dropped
    assert len(replies) >= 2

    replies = say(live_assistant, sender, typed_confirm)  # the button's label, typed
    assert "TC-" in text_of(replies), replies
    typed = user_events(tracker(live_assistant, sender))[-1]
    assert (typed["text"], typed["parse_data"]["intent"]["name"]) == (typed_confirm, "affirm")


def test_the_http_api_still_resumes_a_handoff_with_an_external_intent(live_assistant):
    """As clinic/rasa_api.py does when staff hand back (with the token)."""
    sender = new_sender("handoff-api")
    say(live_assistant, sender, "hello")
    pause_as_a_handoff_does(live_assistant, sender)
    resume = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
    assert call(live_assistant.api(f"/conversations/{sender}/tracker/events"), resume)[0] == 200
    status, answer = call(
        live_assistant.api(f"/conversations/{sender}/trigger_intent"), {"name": "EXTERNAL_handoff_ended"}
    )
    assert status == 200 and "You're back with the clinic's automated assistant" in text_of(answer["messages"])
    state = tracker(live_assistant, sender)
    assert not state["paused"] and state["slots"]["handoff_active"] is False


@pytest.mark.parametrize(
    "greeting, crisis, waiting_note",
    [("hello", "I want to kill myself", "will join"), ("hola", "me quiero matar, ya no aguanto", "se unirá")],
    ids=["English", "Spanish"],
)
def test_during_a_handoff_a_crisis_message_still_gets_the_crisis_lines(live_assistant, greeting, crisis, waiting_note):
    sender = new_sender("handoff-crisis")
    say(live_assistant, sender, greeting)
    pause_as_a_handoff_does(live_assistant, sender)
    assert say(live_assistant, sender, "ok") == []  # staff are answering: the bot says nothing

    replies = say(live_assistant, sender, crisis)

    assert "911" in text_of(replies) and "988" in text_of(replies) and waiting_note in text_of(replies)
    assert not [button for reply in replies for button in reply.get("buttons") or []]
    state = tracker(live_assistant, sender)
    assert state["paused"] and state["slots"]["handoff_active"] is True  # still waiting for the person
    assert action_names(state)[-1] in ("action_crisis_response", "action_crisis_check_in")
    assert say(live_assistant, sender, "ok") == []  # and silent again for what is not a crisis


# ---- visitor text out of the logs


def test_no_visitor_text_reaches_the_logs_at_the_default_level(live_assistant):
    if os.environ.get("LOG_LEVEL", "INFO").upper() == "DEBUG":
        pytest.skip("LOG_LEVEL=DEBUG logs message text on purpose")
    unique = secrets.token_hex(3)
    phone = f"509-555-{int(unique, 16) % 10000:04d}"
    email = f"marisol.q{unique}@example.com"
    name = f"Marisol Quintanilla{unique}"
    secrets_sent = [phone, phone.replace("-", ""), email, f"Quintanilla{unique}", f"nonexistent_intent_{unique}",
                    f"zx{unique}"]
    messages = [
        f"/call me at {phone}", f"my name is {name}, email me at {email}", '/inform{"x":' + f' "zx{unique}"',
        '/inform{"x":', f"/nonexistent_intent_{unique}", f'/{{"phone": "{phone}"}}', f"/@0.9 {email}",
        f'/inform{{"help_with": "zx{unique}"}}', f"/greet@zx{unique}", f"I'm {name}, call {phone}",
    ]
    sender = new_sender("log-check")
    for message in messages:
        say(live_assistant, sender, message)
    # The booking form takes the contact details to the action server.
    for message in ("/book_consultation", name, phone, email, "weekday mornings"):
        say(live_assistant, sender, message)
    # The HTTP API parses without a visitor's conversation: Rasa's parser warnings still lose the text.
    for message in messages:
        assert call(live_assistant.api("/model/parse"), {"text": message})[0] == 200
    time.sleep(1)  # the servers' last lines reach their files

    for log in ("rasa.log", "actions.log"):
        written = (live_assistant.data_dir / log).read_text(errors="replace")
        leaked = [text for text in secrets_sent if text in written]
        assert not leaked, f"{log} holds {leaked}"
    assert "could not read a message starting with" in (live_assistant.data_dir / "rasa.log").read_text()


# ---- refusals the visitor reads carry the crisis line (per-IP: test_channel_input.py)


def test_a_message_too_long_is_refused_with_the_crisis_line(live_assistant):
    reply = text_of(say(live_assistant, new_sender("too-long"), "I feel anxious. " * 500))
    assert "shorter" in reply and crisis_line(None) in reply


def test_a_conversation_sending_too_fast_is_told_so_with_the_crisis_line(live_assistant):
    sender = new_sender("too-fast")
    replies = [
        text_of(say(live_assistant, sender, f"hello {n}")) for n in range(31)
    ]  # RATE_LIMIT_SENDER_PER_MINUTE: 30
    assert "faster than I can answer" in replies[-1] and crisis_line(None) in replies[-1]


# ---- the HTTP API: the token first


BAD_BODIES = [b'{"sender": "x", "message": ', b"[1, 2, 3]", b"{}", b""]
CHECKED_ENDPOINTS = ["/model/parse", "/conversations/token-first/messages", "/conversations/token-first/trigger_intent",
                     "/conversations/token-first/execute"]


@pytest.mark.parametrize("endpoint", CHECKED_ENDPOINTS)
@pytest.mark.parametrize("body", BAD_BODIES)
def test_the_http_api_refuses_a_wrong_token_before_reading_the_body(live_assistant, endpoint, body):
    status, answer = call(f"{live_assistant.url}{endpoint}?token=wrong", raw=body)
    assert status == 401, answer
    assert "must" not in json.dumps(answer), answer  # nothing about the body's expected shape
    status, answer = call(live_assistant.api(endpoint), raw=body)
    assert status == 400, answer  # with the right token: what is wrong with the body
