"""The Rasa-server extensions' own logic (rasa_server/, channels/rest.py, rasa_sdk_plugins/).

Their effect on a running assistant is tested end to end in test_assistant_bad_input.py and
test_production.py; these tests pin the decisions themselves.
"""
import logging
import sys
from types import SimpleNamespace

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore, LockError
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk.executor import CollectingDispatcher

from actions.booking import SUMMARY_BUTTONS, ActionBookingSummary
from actions.faq import ActionClarify
from channels.rest import message_call_problem
from channels.socketio import message_event_problem
from rasa_sdk_plugins import action_call_problem
from rasa_server import message_guard
from rasa_server.action_calls import current_failures
from rasa_server.button_payloads import (
    as_plain_text,
    domain_button_payloads,
    is_system_intent,
    payload_parse,
    typed_button_payload,
    visitor_may_send,
)
from rasa_server.http_api_checks import api_body_problem, fields_needed
from rasa_server.log_redaction import MARK, VisitorTextFilter, visitor_text
from rasa_server.rate_limit import SlidingWindowLimiter
from rasa_server.refusals import crisis_line, refusal


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


# ---- only the assistant's own button payloads count as intents (rasa_server/button_payloads.py)


def bot_offered(*payloads: str) -> DialogueStateTracker:
    buttons = [{"title": payload, "payload": payload} for payload in payloads]
    return DialogueStateTracker.from_events("visitor", [BotUttered("Choose:", data={"buttons": buttons})])


NOTHING_OFFERED = DialogueStateTracker.from_events("visitor", [])


@pytest.mark.parametrize("payload", [
    "/book_consultation", "/request_human", "/affirm", "/deny", "/stop",
    '/inform{"help_with": "anxiety"}',  # domain.yml writes {{ }}: as Rasa's NLG sends it
    '/change_booking{"booking_field": "contact"}',
])
def test_the_domains_button_payloads_are_accepted_from_visitors(domain, payload):
    assert visitor_may_send(payload, domain, NOTHING_OFFERED)


@pytest.mark.parametrize("payload", [
    "/restart", "/session_start", "/back", "/out_of_scope", "/nlu_fallback",  # Rasa's built-in intents
    "/EXTERNAL_handoff_ended", "/EXTERNAL_handoff_timeout", "/ EXTERNAL_handoff_ended",  # the API's
    "/greet", "/inform", '/inform{"help_with": "anything"}', "/affirm@0.1", '/inform{"x":',  # no button sends these
    "/call me at 509-555-0199", "/nonexistent_intent",
])
def test_other_payloads_are_not_accepted_from_visitors(domain, payload):
    assert not visitor_may_send(payload, domain, NOTHING_OFFERED)


def test_buttons_the_bot_sent_in_the_conversation_are_accepted_but_never_a_system_intent(domain):
    # A payload only an action builds (the booking summary's "change" buttons carry the field).
    built_in_code = '/change_booking{"booking_field": "consent_to_contact"}'
    assert built_in_code not in domain_button_payloads(domain)
    assert not visitor_may_send(built_in_code, domain, NOTHING_OFFERED)
    assert visitor_may_send(built_in_code, domain, bot_offered(built_in_code))
    for payload in ("/restart", "/EXTERNAL_handoff_ended"):
        assert is_system_intent(payload) and not visitor_may_send(payload, domain, bot_offered(payload))
    assert not [payload for payload in domain_button_payloads(domain) if is_system_intent(payload)]


async def test_every_button_an_action_sends_is_accepted_back(domain, make_tracker):
    """Actions build buttons in code (the booking summary, the clarification's suggestions): what
    they send is what the conversation records, and so what the visitor may send back."""
    summary, clarify = CollectingDispatcher(), CollectingDispatcher()
    slots = {
        "full_name": "Maria Lopez",
        "contact": "509-555-0142",
        "preferred_times": "mornings",
        "help_with": "anxiety",
    }
    await ActionBookingSummary().run(summary, make_tracker(slots=slots), domain.as_dict())
    ranking = {"intent": {"name": "nlu_fallback", "confidence": 0.4},
               "intent_ranking": [{"name": "book_consultation", "confidence": 0.4}, {"name": "faq", "confidence": 0.3}]}
    await ActionClarify().run(clarify, make_tracker("book?", parse_data=ranking), domain.as_dict())
    sent = [message for dispatcher in (summary, clarify) for message in dispatcher.messages if message.get("buttons")]
    payloads = [button["payload"] for message in sent for button in message["buttons"]]
    assert "/change_booking" in payloads and "/request_human" in payloads
    conversation = DialogueStateTracker.from_events(
        "visitor", [BotUttered("x", data={"buttons": m["buttons"]}) for m in sent]
    )
    assert all(visitor_may_send(payload, domain, conversation) for payload in payloads if payload.startswith("/"))


def summary_shown(language: str, earlier=()) -> DialogueStateTracker:
    """A conversation whose latest bot message is the booking summary, with its buttons."""
    summary = BotUttered("Here's your request", data={"buttons": SUMMARY_BUTTONS[language]})
    return DialogueStateTracker.from_events("visitor", [*earlier, UserUttered("yes"), summary])


@pytest.mark.parametrize("typed, language, payload", [
    ("confirm", "en", "/affirm"),
    ("Confirm!", "en", "/affirm"),
    ("  CHANGE something. ", "en", "/change_booking"),
    ("cancel 🙂", "en", "/stop"),
    ("confirmar", "es", "/affirm"),
    ("Cámbiar algo", "es", "/change_booking"),
])
def test_typing_a_buttons_label_is_tapping_it(typed, language, payload):
    assert typed_button_payload(typed, summary_shown(language)) == payload


@pytest.mark.parametrize("typed", ["confirm it and tell me the cost", "confirmed?", "", "   ", "?!", "yes"])
def test_only_a_whole_label_counts_and_the_models_read_everything_else(typed):
    assert typed_button_payload(typed, summary_shown("en")) is None


def test_only_the_buttons_of_the_bots_latest_message_count():
    person = {"title": "Talk to a person", "payload": "/request_human"}
    earlier = [BotUttered("Connect you?", data={"buttons": [person]})]
    assert typed_button_payload("talk to a person", summary_shown("en", earlier)) is None  # the visitor spoke since
    offered_last = DialogueStateTracker.from_events("visitor", earlier)
    assert typed_button_payload("talk to a person", offered_last) == "/request_human"
    assert typed_button_payload("confirm", NOTHING_OFFERED) is None


@pytest.mark.parametrize("text", ["/restart", "//restart", " / EXTERNAL_handoff_ended", '/inform{"x":', "/"])
def test_a_payload_a_visitor_may_not_send_is_read_as_words_at_the_same_positions(domain, text):
    plain = as_plain_text(text)
    assert len(plain) == len(text) and not plain.strip().startswith("/")
    assert plain.strip() == text.replace("/", " ").strip()
    assert payload_parse(plain, domain) is None


# ---- refusals carry the crisis line (rasa_server/refusals.py, rasa_server/message_guard.py)


def test_the_crisis_line_in_each_language_and_in_both_until_the_language_is_known():
    assert crisis_line("en") == "If you are in danger right now, call 911, or call or text 988."
    assert crisis_line("es") == "Si está en peligro ahora, llame al 911, o llame o envíe un texto al 988."
    both = crisis_line(None)
    assert both.index(crisis_line("en")) < both.index(crisis_line("es"))
    assert crisis_line("fr") == both
    assert refusal("Please wait.") == f"Please wait.\n\n{both}"
    assert all("911" in crisis_line(language) and "988" in crisis_line(language) for language in ("en", "es", None))


class RefusingAgent:
    """The agent as message_guard sees it; `process` stands for Rasa's processing of a message."""

    handle_message = message_guard.handle_message

    def __init__(self, domain, process) -> None:
        self.domain = domain
        self.lock_store = InMemoryLockStore()
        self.processor = SimpleNamespace(
            handle_message=process, nlg=TemplatedNaturalLanguageGenerator(domain.responses),
            get_tracker=self._tracker, save_tracker=self._save,
        )

    def is_ready(self) -> bool:
        return True

    async def _tracker(self, sender_id: str) -> DialogueStateTracker:
        return DialogueStateTracker(sender_id, self.domain.slots)

    async def _save(self, tracker: DialogueStateTracker) -> None:
        return None


async def processed(message: UserMessage) -> None:
    return None


async def store_down(message: UserMessage) -> None:
    raise LockError("Redis is down")


async def action_server_down(message: UserMessage) -> None:
    current_failures.get().action_names.append("action_greet")


@pytest.mark.parametrize("case", ["too long", "too fast", "store unreachable", "action server unreachable"])
async def test_every_refusal_the_visitor_reads_carries_the_crisis_line(domain, monkeypatch, case):
    process = {"store unreachable": store_down, "action server unreachable": action_server_down}.get(case, processed)
    agent = RefusingAgent(domain, process)
    text = "x" * (message_guard.max_message_chars() + 1) if case == "too long" else "hello"
    if case == "too fast":
        used_up = SlidingWindowLimiter(1)
        used_up.allow("refused-visitor")
        monkeypatch.setattr(message_guard, "sender_limiter", lambda: used_up)
        monkeypatch.setattr(message_guard, "slow_down_notice_limiter", lambda: SlidingWindowLimiter(1))
    output = CollectingOutputChannel()
    await agent.handle_message(UserMessage(text, output, "refused-visitor"))
    assert output.messages, "the visitor is told"
    reply = "\n\n".join(message.get("text") or "" for message in output.messages)
    assert reply.endswith(crisis_line(None)) and reply.count("988") == 2, reply
    expected = {"too long": "shorter", "too fast": "faster", "store unreachable": "technical problem",
                "action server unreachable": "went wrong"}[case]
    assert expected in reply


# ---- visitor text out of the logs (rasa_server/log_redaction.py)


def logged(message: str, *args, exc_info=None) -> str:
    """The line a record makes once VisitorTextFilter has seen it."""
    record = logging.LogRecord("rasa.core.processor", logging.WARNING, __file__, 1, message, args, exc_info)
    VisitorTextFilter().filter(record)
    return logging.Formatter().format(record)


CONTACT = "/call me at 509-555-0199 or maria.lopez@example.com, I'm Maria Quintero"


def test_a_visitors_text_is_removed_from_every_record_made_while_it_is_handled():
    with visitor_text(CONTACT):
        assert logged("Text: %s", CONTACT) == f"Text: {MARK}"
        line = logged("Found call me at 509-555-0199 in %r; continuing without Maria Quintero.", CONTACT)
        assert "509-555-0199" not in line and "Quintero" not in line and "maria.lopez" not in line, line
        assert logged('{"user_text": "%s", "event": "x"}', CONTACT.replace('"', '\\"')).count("509") == 0
        assert logged("Conversation abc is over its rate limit.") == "Conversation abc is over its rate limit."
        try:
            raise ValueError(f"could not read {CONTACT!r}")
        except ValueError:
            line = logged("Action failed", exc_info=sys.exc_info())
        assert "Traceback" in line and "509-555-0199" not in line and "example.com" not in line


@pytest.mark.parametrize("warning", [
    "Failed to parse arguments in line '/call me at 509-555-0199'. Expected the intent to be one of [...] but "
    "found call me at 509-555-0199.Continuing with given line as user text.",
    "Failed to parse arguments in line '/inform{\"x\": \"509-555-0199\"'. Failed to interpret some parts. "
    "Continuing without {\"x\": \"509-555-0199\".",
    "Invalid to parse arguments in line '/greet@x 509-555-0199'. Could not parse confidence value `x`.",
    '{"user_text": "/{\\"phone\\": \\"509-555-0199\\"}", "event": "message.parsing.failed", "level": "warning"}',
])
def test_rasas_payload_parser_warnings_lose_the_line_they_quote_whatever_its_origin(warning):
    """Also for text that no channel registered (the HTTP API's /model/parse)."""
    assert "509-555-0199" not in logged(warning)


# ---- the action server's secret (rasa_sdk_plugins/)
def test_the_action_server_wants_its_secret_and_without_one_answers_this_machine_only():
    from rasa_sdk_plugins import may_call

    def request(ip: str, authorization: str = "") -> SimpleNamespace:
        return SimpleNamespace(ip=ip, headers={"Authorization": authorization} if authorization else {})

    assert may_call(request("10.0.0.5", "Bearer s3cret"), "s3cret")
    assert not may_call(request("127.0.0.1"), "s3cret"), "with a secret, even this machine must carry it"
    assert not may_call(request("127.0.0.1", "Bearer other"), "s3cret")
    # Plain `rasa run actions` without ACTION_SERVER_TOKEN: loopback callers only.
    for ip in ("127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"):
        assert may_call(request(ip), None), ip
    for ip in ("10.0.0.5", "192.168.1.20", "::ffff:10.0.0.5", "fe80::1", ""):
        assert not may_call(request(ip, "Bearer anything"), None), ip


# ---- responses in the visitor's language (rasa_server/nlg.py; the upstream methods it overrides
# are pinned in rasa_server/extensions.py, checked by test_rasa_extensions.py)
async def test_a_spanish_visitor_gets_the_spanish_text_for_an_unset_clinic_detail(domain):
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_server.nlg import FirstMatchResponseGenerator

    tracker = DialogueStateTracker.from_dict("visitor", [], domain.slots)
    tracker.slots["language"].value = "es"
    answers = {
        (await FirstMatchResponseGenerator(domain=domain).generate("utter_faq/cost", tracker, "rest"))["text"]
        for _ in range(20)
    }
    assert len(answers) == 1 and "None" not in answers.pop()


def test_the_assistant_uses_the_response_generator_everywhere():
    from pathlib import Path

    import yaml

    for name in ("endpoints.yml", "endpoints.env.yml", "endpoints.production.yml"):
        endpoints = yaml.safe_load((Path(__file__).resolve().parent.parent / name).read_text())
        assert endpoints["nlg"]["type"] == "rasa_server.nlg.FirstMatchResponseGenerator", name
