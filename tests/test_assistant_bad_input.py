"""Bad input to every endpoint of the Rasa server and the action server: a clear 4xx, never a crash.

The console's endpoints have their own file (test_console_bad_input.py); floods and the per-IP and
per-conversation limits are tested on the production stack (test_production.py).
"""
import json
import urllib.error
import urllib.request
from typing import Dict, Tuple

import pytest

NESTED = b'{"a":' * 20_000 + b"1" + b"}" * 20_000  # within the size limit, deeper than any parser allows
BAD_BODIES: Dict[str, Tuple[bytes, Dict[str, str]]] = {
    "malformed JSON": (b'{"sender": "x", "message": ', {}),
    "empty body": (b"", {}),
    "a JSON list": (b"[1, 2, 3]", {}),
    "a JSON string": (b'"hello"', {}),
    "missing fields": (b"{}", {}),
    "wrong types": (json.dumps({"sender": 5, "message": ["x"], "text": {"a": 1}, "name": 7, "next_action": 3,
                                "tracker": "x", "event": 9}).encode(), {}),
    "1 MB body": (json.dumps({"sender": "big", "message": "x" * 1_048_576}).encode(), {}),
    "invalid UTF-8": (b'{"sender": "\xff\xfe", "message": "\xc3\x28"}', {}),
    "deeply nested JSON": (NESTED, {}),
    "form-encoded body": (b"sender=x&message=hi", {"Content-Type": "application/x-www-form-urlencoded"}),
    "bad deflate": (b"not deflate at all", {"Content-Encoding": "deflate"}),
}
RASA_POST_ENDPOINTS = [
    "/webhooks/rest/webhook",
    "/webhooks/facebook/webhook", "/webhooks/slack/webhook", "/webhooks/twilio/webhook", "/webhooks/telegram/webhook",
    "/model/parse", "/conversations/bad-input/messages", "/conversations/bad-input/tracker/events",
    "/conversations/bad-input/trigger_intent", "/conversations/bad-input/execute", "/conversations/bad-input/predict",
]


def request(url: str, body: bytes = None, headers: Dict[str, str] = None, method: str = "POST") -> Tuple[int, bytes]:
    call = urllib.request.Request(url, data=body, method=method,
                                  headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(call, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def still_answers(assistant) -> bool:
    status, body = request(f"{assistant.url}/webhooks/rest/webhook",
                           json.dumps({"sender": "after-bad-input", "message": "What is ketamine?"}).encode())
    return status == 200 and "ketamine" in body.decode().lower()


@pytest.mark.parametrize("endpoint", RASA_POST_ENDPOINTS)
@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_rasa_server_answers_bad_input_with_a_clear_4xx(live_assistant, endpoint, case):
    body, headers = BAD_BODIES[case]
    url = live_assistant.api(endpoint) if not endpoint.startswith("/webhooks") else live_assistant.url + endpoint
    status, answer = request(url, body, headers)
    assert 400 <= status < 500, (status, answer[:300])


@pytest.mark.parametrize("endpoint", RASA_POST_ENDPOINTS[5:])
def test_the_http_api_refuses_requests_without_the_token(live_assistant, endpoint):
    status, _ = request(live_assistant.url + endpoint, b'{"text": "hi"}')
    assert status == 401


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_action_server_answers_bad_input_with_a_clear_4xx_that_echoes_nothing(live_assistant, case):
    body, headers = BAD_BODIES[case]
    status, answer = request(
        f"{live_assistant.actions_url}/webhook", body, {**headers, **live_assistant.action_headers}
    )
    assert 400 <= status < 500 and status != 401, (status, answer[:300])
    assert b"request_body" not in answer


def test_action_server_refuses_a_well_formed_call_of_an_unknown_action(live_assistant):
    call = {"next_action": "action_drop_tables", "tracker": {"sender_id": "x", "events": []}, "domain": {}}
    status, answer = request(
        f"{live_assistant.actions_url}/webhook", json.dumps(call).encode(), live_assistant.action_headers
    )
    assert status == 404 and b"action_drop_tables" in answer


def test_control_characters_are_removed_and_the_question_answered(live_assistant):
    status, body = request(
        f"{live_assistant.url}/webhooks/rest/webhook",
        json.dumps({"sender": "control-chars", "message": "What\x00 is\x1b[31m ketamine\x07?"}).encode(),
    )
    assert status == 200 and "ketamine" in body.decode().lower()
    status, tracker = request(live_assistant.api("/conversations/control-chars/tracker"), method="GET")
    texts = [event["text"] for event in json.loads(tracker)["events"] if event["event"] == "user"]
    assert texts and not any(character in texts[-1] for character in "\x00\x1b\x07")


def test_a_message_too_long_to_read_gets_a_request_to_shorten_it(live_assistant):
    status, body = request(f"{live_assistant.url}/webhooks/rest/webhook",
                           json.dumps({"sender": "long-message", "message": "I feel anxious. " * 500}).encode())
    assert status == 200 and "shorter" in body.decode()


def test_the_assistant_still_answers_after_all_that(live_assistant):
    for endpoint in RASA_POST_ENDPOINTS:
        for body, headers in BAD_BODIES.values():
            request(live_assistant.url + endpoint, body, headers)
    assert still_answers(live_assistant)
