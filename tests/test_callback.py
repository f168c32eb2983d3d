"""Call-back requests: their own form, their own table (never a consultation), stored exactly once,
spooled while the database is down, and staff alerted without any of the visitor's details."""
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from rasa.shared.core.events import SlotSet as CoreSlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, text

from actions import handoff
from actions.after_booking import (
    ActionAddBookingNote,
    ActionAddCancellationNote,
    ActionRecallBooking,
    ActionStartAnotherBooking,
)
from actions.booking import ValidateBookingForm
from actions.callback import (
    NEED_PHONE,
    ActionCallbackSummary,
    ActionCancelCallback,
    ActionChangeCallback,
    ActionStartCallback,
    ActionSubmitCallback,
    ValidateCallbackForm,
)
from actions.handoff import ActionOfferHandoff, ActionStartHandoff
from clinic import handoff_store, storage
from clinic.handoff_store import HandoffStore
from clinic.notifier import SmtpNotifier
from clinic.storage import CallbackRequest, RequestStore
from rasa_server.nlg import FirstMatchResponseGenerator
from tests.test_after_booking import render
from tests.test_handoff import ALWAYS_OPEN
from tests.test_notifier import mail_server_fixture  # noqa: F401 (the fixture mail_server)

NAME, PHONE, EMAIL = "Maria Quintero", "+15095550147", "maria.quintero@example.com"
SAID = "hi, I'm Maria Quintero, my cell is 509-555-0147, I feel awful and can't sleep"
FILLED = {
    "full_name": NAME, "contact": f"{PHONE} and {EMAIL}", "phone": PHONE, "email": EMAIL,
    "preferred_times": "weekday mornings",
    "preferred_times_parsed": [{"days": ["mon", "tue", "wed", "thu", "fri"], "part_of_day": "morning"}],
    "callback_topic": "billing", "callback_id": "c1", "callback_urgent": False,
}
URGENT = {"full_name": NAME, "contact": PHONE, "phone": PHONE, "callback_id": "u1", "callback_urgent": True}
CALLBACK_BUTTONS = {"Request a call back", "Pedir que me llamen"}
URGENT_BUTTONS = {"Request an urgent call back", "Pedir una llamada urgente"}


class Alerts:
    """A notifier that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.callbacks, self.requests, self.handoffs = [], [], []

    def notify_new_request(self, reference_code):
        self.requests.append(reference_code)

    def notify_callback(self, reference_code, conversation_link, urgent):
        self.callbacks.append((reference_code, conversation_link, urgent))

    def notify_handoff(self, conversation_link, reason, urgent):
        self.handoffs.append((conversation_link, reason, urgent))


@pytest.fixture
def alerts() -> Alerts:
    return Alerts()


@pytest.fixture
def database_dir(tmp_path):
    return tmp_path / "database"


@pytest.fixture
def store(tmp_path, database_dir, alerts, monkeypatch):
    """The store the actions use; its database folder does not exist until `database_dir.mkdir()`."""
    request_store = RequestStore(f"sqlite:///{database_dir / 'clinic.db'}", tmp_path / "spool.jsonl", alerts)
    monkeypatch.setattr(storage, "_store", request_store)
    yield request_store
    request_store.close()


def query(database_dir, sql):
    """Reads the tables directly, as a tool that bypasses the store would."""
    engine = create_engine(f"sqlite:///{database_dir / 'clinic.db'}")
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


async def run(action, make_tracker, domain, slots, text="yes", intent="affirm", **tracker_options):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        text, parse_data={"intent": {"name": intent, "confidence": 1.0}}, slots=slots, **tracker_options
    )
    events = await action.run(dispatcher, tracker, domain.as_dict())
    return events, dispatcher.messages


# ---- starting: every way in leads to the call-back form, urgent after a crisis
@pytest.mark.parametrize(
    "intent, slots, urgent, intro",
    [
        ("request_callback", {}, False, "utter_callback_intro"),
        ("request_urgent_callback", {}, True, "utter_urgent_callback_intro"),
        ("request_callback", {"crisis_flagged": True}, True, "utter_urgent_callback_intro"),
    ],
)
async def test_a_call_back_starts_afresh_urgent_after_a_crisis(make_tracker, domain, intent, slots, urgent, intro):
    events, messages = await run(ActionStartCallback(), make_tracker, domain, {**slots, "full_name": "Old Name"},
                                 text="can someone call me back", intent=intent)
    assert [m["response"] for m in messages] == [intro]
    assert SlotSet("callback_urgent", urgent) in events and SlotSet("full_name", None) in events
    assert any(e["event"] == "slot" and e["name"] == "callback_id" and e["value"] for e in events)


@pytest.mark.parametrize(
    "form, validation", [("callback_form", ValidateCallbackForm), ("booking_form", ValidateBookingForm)]
)
async def test_a_form_starting_with_its_slots_just_emptied_asks_its_first_question_without_complaints(
    make_tracker, domain, form, validation
):
    """A call-back request starts by emptying the form's slots (action_start_callback): Rasa hands
    each of them to validation as if answered; nothing was answered, so nothing is wrong yet."""
    emptied = {slot: None for slot in domain.as_dict()["forms"][form]["required_slots"]}
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("can you call me back?", slots={"full_name": "Old Name"}, extracted=emptied)
    events = await validation().run(dispatcher, tracker, domain.as_dict())
    assert dispatcher.messages == []
    assert not [e for e in events if e["name"] in ("booking_failed_attempts", "booking_stuck") and e["value"]]


def test_every_call_back_button_starts_the_call_back_form_never_the_booking_form(domain):
    buttons = [
        (name, b) for name, variants in domain.responses.items() for v in variants for b in v.get("buttons") or []
    ]
    assert {b["payload"] for _, b in buttons if b["title"] in CALLBACK_BUTTONS} == {"/request_callback"}
    assert {b["payload"] for _, b in buttons if b["title"] in URGENT_BUTTONS} == {"/request_urgent_callback"}
    for name in ("utter_handoff_closed", "utter_handoff_timed_out", "utter_crisis_staff_unavailable"):
        payloads = [b["payload"] for v in domain.responses[name] for b in v.get("buttons") or []]
        assert "/book_consultation" not in payloads and payloads, name
        for variant in domain.responses[name]:
            assert "consultation" not in variant["text"] and "consulta" not in variant["text"]


@pytest.mark.parametrize(
    "response, slots, expected",
    [
        (
            "utter_handoff_closed",
            {"clinic_contact_details": "Phone: (509) 555-0100; Hours: Mon-Fri 9-5"},
            "You can reach the clinic directly (Phone: (509) 555-0100; Hours: Mon-Fri 9-5)",
        ),
        (
            "utter_handoff_timed_out",
            {"clinic_contact_details": "Phone: (509) 555-0100; Hours: Mon-Fri 9-5", "language": "es"},
            "comunicarse directamente con la clínica (Phone: (509) 555-0100; Hours: Mon-Fri 9-5)",
        ),
        ("utter_handoff_closed", {"language": "es"}, "Puedo tomar una solicitud para que le llamen"),
        (
            "utter_crisis_staff_unavailable",
            {"clinic_contact_details": "Phone: (509) 555-0100"},
            "reach the clinic: Phone: (509) 555-0100",
        ),
    ],
)
async def test_the_clinics_phone_and_hours_are_given_when_the_profile_has_them(domain, response, slots, expected):
    tracker = DialogueStateTracker.from_events(
        "visitor", [CoreSlotSet(name, value) for name, value in slots.items()], domain.slots
    )
    message = await FirstMatchResponseGenerator(domain=domain).generate(response, tracker, "rest")
    assert expected in message["text"] and "None" not in message["text"]


async def test_after_a_crisis_with_nobody_free_the_lines_come_with_an_urgent_call_back(
    tmp_path, monkeypatch, make_tracker, domain
):
    profile = tmp_path / "closed.yml"
    profile.write_text("office_hours_schedule: {timezone: UTC, days: {mon: closed}}\n")  # set, no day open
    monkeypatch.setenv("CLINIC_PROFILE_PATH", str(profile))
    _, messages = await run(
        ActionOfferHandoff(), make_tracker, domain, {"crisis_flagged": True}, intent="request_human"
    )
    assert [m["response"] for m in messages] == ["utter_crisis_staff_unavailable"]
    for variant in domain.responses["utter_crisis_staff_unavailable"]:
        assert "988" in variant["text"] and "911" in variant["text"]
        assert [b["payload"] for b in variant["buttons"]] == ["/request_urgent_callback"]


# ---- the form: the same checks and re-asks as booking
async def answer(action, form, make_tracker, domain, slot, value, slots=None):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        str(value), slots={**(slots or {}), "requested_slot": slot}, active_loop=form, extracted={slot: value}
    )
    return await action.run(dispatcher, tracker, domain.as_dict()), [m.get("text") for m in dispatcher.messages]


@pytest.mark.parametrize(
    "slot, value",
    [
        ("full_name", ""),
        ("full_name", "   "),
        ("full_name", "J" * 5000),
        ("full_name", "\ud800\udfff"),
        ("full_name", "🙂🙂🙂"),
        ("full_name", "<script>alert(1)</script>"),
        ("contact", ""),
        ("contact", "5" * 5000),
        ("contact", "\ud83d"),
        ("contact", "509-555-01"),
        ("contact", "kim@"),
        ("contact", "by phone"),
        ("preferred_times", ""),
        ("preferred_times", "x" * 5000),
        ("preferred_times", "February 30th"),
    ],
)
@pytest.mark.parametrize("language", ["en", "es"])
async def test_bad_answers_get_the_same_clear_re_asks_as_booking(make_tracker, domain, slot, value, language):
    slots = {"language": language}
    callback = await answer(ValidateCallbackForm(), "callback_form", make_tracker, domain, slot, value, slots)
    booking = await answer(ValidateBookingForm(), "booking_form", make_tracker, domain, slot, value, slots)
    assert SlotSet(slot, None) in callback[0]
    assert callback[1] == booking[1] and len(callback[1]) == 1 and callback[1][0]


async def test_good_answers_are_kept_as_booking_keeps_them(make_tracker, domain):
    events, messages = await answer(
        ValidateCallbackForm(), "callback_form", make_tracker, domain, "contact", "509.555.0147"
    )
    assert SlotSet("phone", PHONE) in events and messages == []
    events, _ = await answer(
        ValidateCallbackForm(), "callback_form", make_tracker, domain, "preferred_times", "any time"
    )
    assert SlotSet("preferred_times", "any time") in events


@pytest.mark.parametrize(
    "value, topic", [("billing", "billing"), ("skip", "skip"), ("a question about my insurance bill", "billing"),
                     ("otra cosa", "other"), ("agendar una cita", "booking"), ("omitir", "skip")],
)
async def test_the_topic_is_a_choice(make_tracker, domain, value, topic):
    events, messages = await answer(
        ValidateCallbackForm(), "callback_form", make_tracker, domain, "callback_topic", value
    )
    assert SlotSet("callback_topic", topic) in events and messages == []


async def test_health_details_as_a_topic_are_asked_again_as_a_choice(make_tracker, domain):
    events, messages = await answer(
        ValidateCallbackForm(), "callback_form", make_tracker, domain, "callback_topic", "my depression got worse"
    )
    assert SlotSet("callback_topic", None) in events and "pick one of the options" in messages[0]


async def test_urgent_asks_only_a_name_and_a_phone_number(make_tracker, domain):
    events, messages = await answer(
        ValidateCallbackForm(), "callback_form", make_tracker, domain, "contact", EMAIL, {"callback_urgent": True}
    )
    assert SlotSet("contact", None) in events and messages == [str(NEED_PHONE)]
    events, _ = await answer(
        ValidateCallbackForm(), "callback_form", make_tracker, domain, "contact", "509 555 0147",
        {"callback_urgent": True, "full_name": NAME},
    )
    assert SlotSet("requested_slot", None) in events  # done: no time, no topic


# ---- summary, change, cancel
@pytest.mark.parametrize(
    "language, expected, titles",
    [
        (
            "en",
            ["Here's your call-back request:", "Billing or insurance", "When to call: weekday mornings"],
            ["Confirm", "Change something", "Cancel"],
        ),
        (
            "es",
            ["Esta es su solicitud de llamada:", "Facturación o seguro", "entre semana, en las mañanas"],
            ["Confirmar", "Cambiar algo", "Cancelar"],
        ),
    ],
)
async def test_the_summary_offers_confirm_change_cancel(make_tracker, domain, language, expected, titles):
    _, messages = await run(ActionCallbackSummary(), make_tracker, domain, {**FILLED, "language": language})
    assert all(part in messages[0]["text"] for part in expected + [NAME, PHONE])
    assert "consult" not in messages[0]["text"].lower()
    assert [b["title"] for b in messages[0]["buttons"]] == titles
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny", "/stop"]


async def test_change_asks_which_answer_then_the_form_asks_it_again(make_tracker, domain):
    _, messages = await run(ActionChangeCallback(), make_tracker, domain, FILLED, intent="deny")
    assert messages[0]["response"] == "utter_ask_callback_field"
    events, _ = await run(ActionChangeCallback(), make_tracker, domain, {**FILLED, "booking_field": "contact"},
                          intent="change_booking")
    assert SlotSet("contact", None) in events and SlotSet("phone", None) in events
    assert FollowupAction("callback_form") in events


async def test_cancel_says_it_cancels_the_call_back_and_stores_nothing(store, database_dir, make_tracker, domain):
    database_dir.mkdir()
    events, messages = await run(ActionCancelCallback(), make_tracker, domain, FILLED, active_loop="callback_form")
    assert [m["response"] for m in messages] == ["utter_callback_cancelled"]
    assert ActiveLoop(None) in events and SlotSet("full_name", None) in events
    assert all("call-back request" in v["text"] or "solicitud de llamada" in v["text"]
               for v in domain.responses["utter_callback_cancelled"])
    assert store.list_requests(kind="callback") == []


# ---- stored: as a call-back, once, spooled while the database is down
async def test_a_confirmed_call_back_is_stored_as_a_call_back_not_a_consultation(
    store, database_dir, alerts, make_tracker, domain
):
    database_dir.mkdir()
    events, messages = await run(ActionSubmitCallback(), make_tracker, domain, {**FILLED, "language": "es"})
    [record] = store.list_requests(kind="callback")
    assert (
        messages[0]["response"] == "utter_callback_saved" and messages[0]["callback_reference"] == record.reference_code
    )
    assert (record.full_name, record.phone, record.email, record.topic, record.urgent) == (
        NAME,
        PHONE,
        EMAIL,
        "billing",
        False,
    )
    assert (record.status, record.language, record.conversation_id, record.preferred_times) == (
        "new", "es", "test-visitor", "weekday mornings")
    assert store.list_requests() == []  # no consultation request
    assert query(database_dir, "SELECT reference_code FROM consultation_requests") == []
    assert query(database_dir, "SELECT reference_code, full_name, urgent FROM callback_requests") == [
        (record.reference_code, NAME, False)]
    assert SlotSet("full_name", None) in events and SlotSet("callback_reference", record.reference_code) in events
    assert [(code, urgent) for code, _, urgent in alerts.callbacks] == [(record.reference_code, False)]
    assert alerts.requests == []
    updated = store.update_status(record.reference_code, "called", kind="callback")
    assert updated.status == "called"
    with pytest.raises(ValueError):
        store.update_status(record.reference_code, "booked", kind="callback")


async def test_a_change_or_a_cancellation_after_a_call_back_is_a_note_on_it(store, database_dir, make_tracker, domain):
    """"Could you call me Thursday after 3 instead?" once the call-back request is sent: a note on that
    request for staff (never the consultation form, never a second request), stored once; "cancel" a
    cancellation note on it; and "did it go through?" gives its code, then the earlier consultation request's."""
    database_dir.mkdir()
    events, _ = await run(ActionSubmitCallback(), make_tracker, domain, FILLED)
    [record] = store.list_requests(kind="callback")
    slots = {"callback_reference": record.reference_code, "callback_submitted": True, "booking_submitted": None}
    assert all(SlotSet(name, value) in events for name, value in slots.items())
    consultation_sent = {"booking_requests": [{"reference": "TC-EARLY2", "preferred_times": "any", "stored": True}]}
    for _ in range(2):  # the same change again, or the action retried: one note
        _, messages = await run(ActionAddBookingNote(), make_tracker, domain,
                                {**consultation_sent, **slots, "booking_note": "Thursday after 3 instead"},
                                intent="change_booking")
        assert (messages[0]["response"], messages[0]["booking_reference"]) == (
            "utter_booking_note_added", record.reference_code)
    await run(ActionAddCancellationNote(), make_tracker, domain, slots)
    assert [(n.kind, n.text) for n in store.notes(record.reference_code)] == [
        ("change", "Thursday after 3 instead"), ("cancel", "The visitor asked in the chat to cancel this request.")]
    assert store.list_requests(kind="callback")[0].status == "new" and store.list_requests() == []
    _, messages = await run(ActionStartAnotherBooking(), make_tracker, domain, slots, intent="book_consultation")
    assert messages == []  # "book a consultation" after a call-back: the form's intro, not "for someone else"
    _, messages = await run(ActionRecallBooking(), make_tracker, domain, {**consultation_sent, **slots})
    assert [(m["response"], m.get("callback_reference"), m.get("booking_references")) for m in messages] == [
        ("utter_callback_recall", record.reference_code, None), ("utter_booking_recall_others", None, "TC-EARLY2")]
    for language, words in (("en", "call-back request"), ("es", "solicitud de llamada")):
        for response in ("utter_ask_booking_note", "utter_offer_cancellation_note", "utter_booking_kept"):
            shown = await render(domain, response, {**slots, "language": language})
            assert f"{words} {record.reference_code}" in shown


async def test_the_same_confirmation_twice_is_stored_once(store, database_dir, alerts, make_tracker, domain):
    database_dir.mkdir()
    _, first = await run(ActionSubmitCallback(), make_tracker, domain, FILLED)
    _, second = await run(ActionSubmitCallback(), make_tracker, domain, FILLED)
    assert first[0]["callback_reference"] == second[0]["callback_reference"]
    assert len(store.list_requests(kind="callback")) == 1 and len(alerts.callbacks) == 1


async def test_an_urgent_call_back_is_stored_at_once_as_urgent(store, database_dir, alerts, make_tracker, domain):
    database_dir.mkdir()
    _, messages = await run(ActionCallbackSummary(), make_tracker, domain, {**URGENT, "crisis_flagged": True})
    [record] = store.list_requests(kind="callback")
    assert (record.urgent, record.phone, record.email, record.topic, record.preferred_times) == (
        True,
        PHONE,
        None,
        None,
        "",
    )
    assert messages[0]["response"] == "utter_urgent_callback_saved" and messages[0]["callback_phone"] == PHONE
    assert alerts.callbacks == [(record.reference_code, alerts.callbacks[0][1], True)]
    assert "/conversations/" in alerts.callbacks[0][1]


async def test_while_the_database_is_down_it_is_spooled_then_replayed_once(
    store, database_dir, alerts, make_tracker, domain
):
    _, messages = await run(ActionSubmitCallback(), make_tracker, domain, FILLED)
    _, again = await run(ActionSubmitCallback(), make_tracker, domain, FILLED)
    assert messages[0]["response"] == "utter_callback_saved_later"
    assert again[0]["callback_reference"] == messages[0]["callback_reference"] and store.spooled_count() == 1
    assert alerts.callbacks == []  # told once it is in the console

    database_dir.mkdir()
    assert store.replay_spool() == 1 and store.replay_spool() == 0
    [record] = store.list_requests(kind="callback")
    assert record.reference_code == messages[0]["callback_reference"] and store.list_requests() == []
    assert [code for code, _, _ in alerts.callbacks] == [record.reference_code]


async def test_an_urgent_call_back_is_announced_at_once_even_while_spooled(
    store, database_dir, alerts, make_tracker, domain
):
    _, messages = await run(ActionCallbackSummary(), make_tracker, domain, URGENT)
    assert [urgent for _, _, urgent in alerts.callbacks] == [True]
    database_dir.mkdir()
    assert store.replay_spool() == 1
    assert store.get(messages[0]["callback_reference"], kind="callback").urgent is True
    assert len(alerts.callbacks) == 1  # not announced a second time


def test_a_call_back_needs_a_way_to_reach_the_visitor_and_an_urgent_one_a_phone():
    with pytest.raises(ValueError):
        CallbackRequest("k", "c", "rest", "en", NAME)
    with pytest.raises(ValueError):
        CallbackRequest("k", "c", "rest", "en", NAME, email=EMAIL, urgent=True)
    with pytest.raises(ValueError):
        CallbackRequest("k", "c", "rest", "en", NAME, phone=PHONE, topic="my symptoms")


# ---- staff alerts: the reference and the link, never the visitor's details or words
@pytest.fixture
def mail(mail_server, monkeypatch):
    """(an SMTP notifier, its mailbox): the handoff's alerts go there too."""
    controller, mailbox = mail_server
    notifier = SmtpNotifier(controller.hostname, controller.port, "assistant@clinic.example", ["desk@clinic.example"])
    monkeypatch.setattr(handoff, "notifier_from_env", lambda: notifier)
    return notifier, mailbox


def sent(mailbox):
    return [message_from_bytes(envelope.content, policy=default_policy) for envelope in mailbox.envelopes]


def assert_nothing_personal(message):
    raw = message.as_string()
    for detail in (
        NAME,
        "Maria",
        "Quintero",
        PHONE,
        "509-555-0147",
        "5550147",
        EMAIL,
        "awful",
        "sleep",
        "billing",
        "weekday",
    ):
        assert detail not in raw


@pytest.mark.parametrize("slots", [FILLED, {**URGENT, "crisis_flagged": True}])
async def test_the_call_back_alert_has_no_name_phone_or_words(tmp_path, mail, make_tracker, domain, monkeypatch, slots):
    notifier, mailbox = mail
    request_store = RequestStore(f"sqlite:///{tmp_path / 'clinic.db'}", tmp_path / "spool.jsonl", notifier)
    monkeypatch.setattr(storage, "_store", request_store)
    try:
        action = ActionCallbackSummary() if slots.get("callback_urgent") else ActionSubmitCallback()
        _, messages = await run(action, make_tracker, domain, slots, text=SAID, intent="inform")
    finally:
        request_store.close()
    [message] = sent(mailbox)
    reference = messages[0]["callback_reference"]
    assert reference in message["Subject"] and "/conversations/" in message.get_content()
    assert ("URGENT" in message["Subject"] and message["X-Priority"] == "1") == bool(slots.get("callback_urgent"))
    assert_nothing_personal(message)


@pytest.mark.parametrize("crisis", [False, True])
async def test_a_visitor_starting_to_wait_for_a_person_alerts_staff_once(
    tmp_path, mail, make_tracker, domain, monkeypatch, crisis
):
    _, mailbox = mail
    profile = tmp_path / "open.yml"
    profile.write_text(ALWAYS_OPEN)
    monkeypatch.setenv("CLINIC_PROFILE_PATH", str(profile))
    tickets = HandoffStore(f"sqlite:///{tmp_path / 'clinic.db'}")
    monkeypatch.setattr(handoff_store, "_store", tickets)
    monkeypatch.setattr(handoff, "ensure_watchdog", lambda: None)
    try:
        slots = {**FILLED, "crisis_flagged": crisis}
        await run(ActionStartHandoff(), make_tracker, domain, slots, text=SAID)
        await run(ActionStartHandoff(), make_tracker, domain, slots, text=SAID)  # the same visitor, still waiting
    finally:
        tickets.close_connections()
    [message] = sent(mailbox)
    assert ("URGENT" in message["Subject"]) == crisis and "/conversations/" in message.get_content()
    assert_nothing_personal(message)
