"""The Rasa-server extensions' own logic (rasa_server/, channels/rest.py, rasa_sdk_plugins/).

Their effect on a running assistant is tested end to end in test_assistant_bad_input.py and
test_production.py; these tests pin the decisions themselves.
"""
import pytest

from channels.rest import message_call_problem
from channels.socketio import message_event_problem
from rasa_sdk_plugins import action_call_problem
from rasa_server.button_payloads import payload_parse
from rasa_server.http_api_checks import api_body_problem, fields_needed
from rasa_server.rate_limit import SlidingWindowLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_limit_allows_that_many_a_minute_then_refuses_until_the_window_moves():
    clock = Clock()
    limiter = SlidingWindowLimiter(3, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b"), "another key has its own count"
    clock.now += 61
    assert limiter.allow("a")


def test_a_limit_of_zero_is_no_limit_and_memory_stays_bounded():
    assert all(SlidingWindowLimiter(0).allow("a") for _ in range(1000))
    limiter = SlidingWindowLimiter(1, max_keys=10)
    for n in range(100):
        limiter.allow(f"visitor-{n}")
    assert len(limiter._hits) == 10


@pytest.mark.parametrize("body, problem", [
    ({"sender": "abc", "message": "hi"}, None),
    ({"sender": "abc", "message": "hi", "metadata": {"page": "/faq"}}, None),
    ([], "JSON object"),
    ({"message": "hi"}, '"sender"'),
    ({"sender": "", "message": "hi"}, '"sender"'),
    ({"sender": "x" * 129, "message": "hi"}, "128"),
    ({"sender": "a\nb", "message": "hi"}, "printable"),
    ({"sender": "abc", "message": 5}, '"message"'),
    ({"sender": "abc", "message": "hi", "metadata": "x"}, '"metadata"'),
])
def test_rest_message_calls_are_checked(body, problem):
    found = message_call_problem(body)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize("data, ok", [
    ({"session_id": "0123456789abcdef0123456789abcdef", "message": "hi"}, True),
    ({"session_id": "+15095550142", "message": "hi"}, False),  # an SMS conversation's id
    ({"session_id": "0123456789ABCDEF0123456789ABCDEF", "message": "hi"}, False),
    ({"session_id": "0123456789abcdef0123456789abcdef", "message": None}, False),
    ("hi", False),
])
def test_web_chat_events_need_the_widgets_session_id_shape(data, ok):
    assert (message_event_problem(data) is None) == ok


@pytest.mark.parametrize("call, ok", [
    ({"next_action": "action_greet", "tracker": {"sender_id": "x", "events": [], "slots": {}}, "domain": {}}, True),
    ({"next_action": "", "tracker": {"sender_id": "x"}}, False),
    ({"next_action": "action_greet", "tracker": {"sender_id": 5}}, False),
    ({"next_action": "action_greet", "tracker": {"sender_id": "x", "events": [1]}}, False),
    ({"next_action": "action_greet", "tracker": {"sender_id": "x", "slots": []}}, False),
    ({"next_action": "action_greet", "tracker": {"sender_id": "x"}, "version": 3}, False),
    ({"next_action": "action_greet", "tracker": {"sender_id": "x"}, "domain": "x"}, False),
])
def test_action_calls_are_checked(call, ok):
    assert (action_call_problem(call) is None) == ok


@pytest.mark.parametrize("path, body, ok", [
    ("/model/parse", {"text": "hi"}, True),
    ("/model/parse", ["hi"], False),
    ("/model/parse", {"text": 5}, False),
    ("/model/parse", None, False),  # an empty body
    ("/conversations/abc/trigger_intent", {}, False),
    ("/conversations/abc/trigger_intent", {"name": "greet"}, True),
])
def test_http_api_bodies_are_checked(path, body, ok):
    assert (api_body_problem(fields_needed(path), body) is None) == ok


def test_http_api_paths_rasa_checks_itself_are_left_to_it():
    assert fields_needed("/conversations/abc/tracker/events") is None
    assert fields_needed("/webhooks/rest/webhook") is None


def test_button_payloads_are_parsed_as_rasa_would_and_other_text_is_left_to_the_models(domain):
    parsed = payload_parse('/inform{"help_with": "anxiety"}', domain)
    assert parsed["intent"] == {"name": "inform", "confidence": 1.0}
    assert [(e["entity"], e["value"]) for e in parsed["entities"]] == [("help_with", "anxiety")]
    assert payload_parse("/book_consultation", domain)["intent"]["name"] == "book_consultation"
    assert payload_parse("/not_an_intent", domain) is None
    assert payload_parse("hello /affirm", domain) is None
    assert payload_parse("What is ketamine?", domain) is None
