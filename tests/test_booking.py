"""The booking form's actions, run as the action server runs them, against a real SQLite database."""
import pytest
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.booking import (
    ActionBookingSummary,
    ActionCancelBooking,
    ActionChangeBooking,
    ActionSubmitBooking,
    ValidateBookingForm,
)
from clinic import storage
from clinic.notifier import LogNotifier
from clinic.storage import RequestStore
from tests.bookings import FILLED


async def validate(make_tracker, domain, slot, value, slots=None):
    """Runs the form validation for one answer to `slot`, as Rasa calls it after slot extraction."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        text=str(value),
        slots={**(slots or {}), "requested_slot": slot},
        active_loop="booking_form",
        extracted={slot: value},
    )
    events = await ValidateBookingForm().run(dispatcher, tracker, domain.as_dict())
    return events, [m.get("text") or m.get("response") for m in dispatcher.messages]


async def test_a_valid_phone_is_stored_normalised(make_tracker, domain):
    events, messages = await validate(make_tracker, domain, "contact", "509.555.0147")
    assert SlotSet("phone", "+15095550147") in events
    assert SlotSet("contact", "+15095550147") in events
    assert messages == []


async def test_a_bad_answer_is_asked_again_with_the_reason(make_tracker, domain):
    events, messages = await validate(make_tracker, domain, "contact", "kim@")
    assert SlotSet("contact", None) in events
    assert "email address doesn't look complete" in messages[0]


async def test_in_a_spanish_conversation_the_reason_is_in_spanish(make_tracker, domain):
    _, messages = await validate(make_tracker, domain, "contact", "kim@", slots={"language": "es"})
    assert messages[0].startswith("Ese correo electrónico no parece estar completo")
    _, messages = await validate(make_tracker, domain, "preferred_times", "February 30th", slots={"language": "es"})
    assert messages[0].startswith("Febrero no tiene 30 días")
    _, messages = await validate(make_tracker, domain, "consent_to_contact", "tal vez", slots={"language": "es"})
    assert messages == ["Por favor conteste sí o no."]


async def test_three_failed_tries_offer_a_person_instead_of_looping(make_tracker, domain):
    failures = {"booking_failed_attempts": {"contact": 2}}
    events, messages = await validate(make_tracker, domain, "contact", "no idea", slots=failures)
    assert SlotSet("booking_stuck", True) in events
    # the form ends (nothing more is requested) and the summary action offers a person
    assert SlotSet("requested_slot", None) in events
    dispatcher = CollectingDispatcher()
    await ActionBookingSummary().run(dispatcher, make_tracker(slots={"booking_stuck": True}), domain.as_dict())
    assert dispatcher.messages[0]["response"] == "utter_booking_offer_person"
    # the offer's "Talk to a person" button leads to the handoff, which records why


async def test_a_good_answer_resets_the_failure_count(make_tracker, domain):
    events, _ = await validate(
        make_tracker, domain, "full_name", "Maria Lopez", slots={"booking_failed_attempts": {"full_name": 2}}
    )
    assert SlotSet("booking_failed_attempts", {}) in events


async def test_an_impossible_date_is_asked_again(make_tracker, domain):
    events, messages = await validate(make_tracker, domain, "preferred_times", "February 30th")
    assert SlotSet("preferred_times", None) in events
    assert "30" in messages[0]


async def test_preferred_times_are_kept_verbatim_and_parsed(make_tracker, domain):
    events, _ = await validate(make_tracker, domain, "preferred_times", "weekday mornings")
    assert SlotSet("preferred_times", "weekday mornings") in events
    parsed = next(e["value"] for e in events if e["name"] == "preferred_times_parsed")
    assert parsed[0]["part_of_day"] == "morning"


@pytest.mark.parametrize(
    "slot, typed, language, said, phone, email",
    [
        ("preferred_times", "actually wait, my email is kim.lee@example.com", None,
         "Thanks, we'll use kim.lee@example.com to reach you.", None, "kim.lee@example.com"),
        ("full_name", "perdón, mi número correcto es 509 555 0147", "es",
         "Gracias, usaremos +15095550147 para contactarle.", "+15095550147", None),
        ("help_with", "oh and my new number is (509) 555-0147, email kim.lee@example.com", None,
         "Thanks, we'll use +15095550147 and kim.lee@example.com to reach you.", "+15095550147", "kim.lee@example.com"),
    ],
)
async def test_a_phone_or_email_given_at_another_question_is_taken_and_that_question_asked_again(
    make_tracker, domain, slot, typed, language, said, phone, email
):
    events, messages = await validate(
        make_tracker, domain, slot, typed, slots={"language": language, "contact": "old@example.com"}
    )
    assert messages == [said]
    assert SlotSet(slot, None) in events
    assert SlotSet("phone", phone) in events and SlotSet("email", email) in events
    assert not any(e["name"] == "booking_failed_attempts" and e["value"] for e in events)  # no failed try


async def test_an_answer_without_a_phone_or_email_is_not_taken_as_one(make_tracker, domain):
    events, messages = await validate(make_tracker, domain, "preferred_times", "Monday 10 to 11:30am")
    assert SlotSet("preferred_times", "Monday 10 to 11:30am") in events
    assert not any(e["name"] == "contact" for e in events) and messages == []


async def test_saying_no_to_contact_explains_why_it_is_needed(make_tracker, domain):
    events, messages = await validate(make_tracker, domain, "consent_to_contact", False)
    assert SlotSet("consent_to_contact", None) in events
    assert messages == ["utter_consent_needed"]


async def test_summary_lists_the_answers_with_confirm_change_cancel(make_tracker, domain):
    dispatcher = CollectingDispatcher()
    events = await ActionBookingSummary().run(dispatcher, make_tracker(slots=FILLED), domain.as_dict())
    message = dispatcher.messages[0]
    assert "Maria Lopez" in message["text"] and "+15095550147" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/change_booking", "/stop"]
    assert events == []  # booking_id already set: the same request keeps its id


async def test_the_summary_is_in_spanish_in_a_spanish_conversation(make_tracker, domain):
    dispatcher = CollectingDispatcher()
    await ActionBookingSummary().run(dispatcher, make_tracker(slots={**FILLED, "language": "es"}), domain.as_dict())
    message = dispatcher.messages[0]
    assert message["text"].startswith("Esta es su solicitud:")
    assert "entre semana, en las mañanas" in message["text"] and "Ansiedad" in message["text"]
    assert [b["title"] for b in message["buttons"]] == ["Confirmar", "Cambiar algo", "Cancelar"]
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/change_booking", "/stop"]


async def test_confirming_stores_one_row_and_shows_the_reference(store, make_tracker, domain):
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitBooking().run(dispatcher, make_tracker(slots=FILLED), domain.as_dict())
    rows = store.list_requests()
    assert len(rows) == 1 and rows[0].full_name == "Maria Lopez" and rows[0].status == "new"
    assert dispatcher.messages[0]["response"] == "utter_booking_saved"
    assert dispatcher.messages[0]["booking_reference"] == rows[0].reference_code
    assert SlotSet("full_name", None) in events  # personal details are not kept in the conversation state


async def test_the_same_confirmation_twice_is_stored_once(store, make_tracker, domain):
    first, second = CollectingDispatcher(), CollectingDispatcher()
    await ActionSubmitBooking().run(first, make_tracker(slots=FILLED), domain.as_dict())
    await ActionSubmitBooking().run(second, make_tracker(slots=FILLED), domain.as_dict())
    assert len(store.list_requests()) == 1
    assert first.messages[0]["booking_reference"] == second.messages[0]["booking_reference"]


async def test_database_down_the_visitor_is_told_honestly_and_nothing_is_lost(
    tmp_path, monkeypatch, make_tracker, domain
):
    down = RequestStore(f"sqlite:///{tmp_path / 'missing-dir' / 'clinic.db'}", tmp_path / "spool.jsonl", LogNotifier())
    monkeypatch.setattr(storage, "_store", down)
    dispatcher = CollectingDispatcher()
    await ActionSubmitBooking().run(dispatcher, make_tracker(slots=FILLED), domain.as_dict())
    assert dispatcher.messages[0]["response"] == "utter_booking_saved_later"
    assert down.spooled_count() == 1
    (tmp_path / "missing-dir").mkdir()
    assert down.replay_spool() == 1
    assert down.get(dispatcher.messages[0]["booking_reference"]).full_name == "Maria Lopez"
    down.close()


async def test_an_incomplete_request_is_never_submitted(store, make_tracker, domain):
    dispatcher = CollectingDispatcher()
    await ActionSubmitBooking().run(
        dispatcher, make_tracker(slots={**FILLED, "consent_to_contact": None}), domain.as_dict()
    )
    assert store.list_requests() == []
    assert dispatcher.messages[0]["response"] == "utter_no_booking_in_progress"


async def test_change_clears_only_that_answer_and_reopens_the_form(make_tracker, domain):
    dispatcher = CollectingDispatcher()
    events = await ActionChangeBooking().run(
        dispatcher, make_tracker(slots={**FILLED, "booking_field": "contact"}), domain.as_dict()
    )
    assert SlotSet("contact", None) in events and SlotSet("phone", None) in events
    assert SlotSet("full_name", None) not in events
    assert FollowupAction("booking_form") in events


async def test_change_without_a_field_asks_which(make_tracker, domain):
    dispatcher = CollectingDispatcher()
    assert await ActionChangeBooking().run(dispatcher, make_tracker(slots=FILLED), domain.as_dict()) == []
    assert dispatcher.messages[0]["response"] == "utter_ask_booking_field"


async def test_cancel_stops_the_form_and_forgets_the_answers(make_tracker, domain):
    dispatcher = CollectingDispatcher()
    events = await ActionCancelBooking().run(
        dispatcher, make_tracker(slots=FILLED, active_loop="booking_form"), domain.as_dict()
    )
    assert ActiveLoop(None) in events and SlotSet("full_name", None) in events
    assert dispatcher.messages[0]["response"] == "utter_booking_cancelled"


@pytest.mark.parametrize(
    "response, payload",
    [
        ("utter_ask_help_with", '/inform{"help_with": "anxiety"}'),
        ("utter_ask_booking_field", '/change_booking{"booking_field": "contact"}'),
    ],
)
async def test_buttons_with_entities_reach_the_visitor_intact(domain, response, payload):
    """Rasa fills {placeholders} in responses: entity payloads must survive that unchanged."""
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_server.nlg import FirstMatchResponseGenerator

    nlg = FirstMatchResponseGenerator(domain=domain)
    message = await nlg.generate(response, DialogueStateTracker.from_dict("visitor", [], domain.slots), "rest")
    assert payload in [button["payload"] for button in message["buttons"]]


@pytest.mark.parametrize(
    "slot, typed, expected",
    [
        ("full_name", "me llamo Ana Lopez", {"full_name": "Ana Lopez"}),
        ("full_name", "soy Juan Perez", {"full_name": "Juan Perez"}),
        ("full_name", "mi nombre es Ana López Hernández", {"full_name": "Ana López Hernández"}),
        ("contact", "mi cel es 509 555 0147", {"contact": "+15095550147", "phone": "+15095550147"}),
        ("help_with", "ansiedad", {"help_with": "anxiety"}),
        ("consent_to_contact", "sí, claro", {"consent_to_contact": True}),
        (
            "preferred_times",
            "entre semana por la mañana",
            {
                "preferred_times": "entre semana por la mañana",
                "preferred_times_parsed": [{"days": ["mon", "tue", "wed", "thu", "fri"], "part_of_day": "morning"}],
            },
        ),
        # day/month or month/day: kept as typed, no window guessed
        (
            "preferred_times",
            "el 3/12 en la tarde",
            {"preferred_times": "el 3/12 en la tarde", "preferred_times_parsed": []},
        ),
    ],
)
async def test_spanish_answers_fill_the_form(make_tracker, domain, slot, typed, expected):
    events, messages = await validate(make_tracker, domain, slot, typed, slots={"language": "es"})
    assert messages == []
    for name, value in expected.items():
        assert SlotSet(name, value) in events


async def test_spanish_answers_that_miss_the_point_are_asked_again_in_spanish(make_tracker, domain):
    _, messages = await validate(make_tracker, domain, "contact", "por telefono", slots={"language": "es"})
    assert messages == ["Claro, por teléfono: solo necesito el número, por ejemplo 509-555-0147."]
    _, messages = await validate(make_tracker, domain, "full_name", "hola", slots={"language": "es"})
    assert messages[0].startswith("Eso no parece un nombre")
    events, messages = await validate(
        make_tracker, domain, "consent_to_contact", "no, gracias", slots={"language": "es"}
    )
    assert SlotSet("consent_to_contact", None) in events and messages == ["utter_consent_needed"]
