"""After a consultation request was sent: the confirmation says when to expect contact (from the clinic
profile, inventing nothing), "what was my reference code?" is answered from the conversation, and a
change or a cancellation is a note on the same request, stored once, never a second request."""
import re

import pytest
from rasa.shared.core.events import SlotSet as CoreSlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.after_booking import (
    ActionAddBookingNote,
    ActionAddCancellationNote,
    ActionRecallBooking,
    ActionStartAnotherBooking,
    ValidateBookingNoteForm,
)
from actions.booking import ActionBookingSummary, ActionCancelBooking, ActionSubmitBooking
from actions.booking_fields import MAX_NOTE_LENGTH
from actions.form_stop import ActionAskConfirmStopForm
from actions.session import ActionSessionStart
from clinic import storage
from clinic.notifier import LogNotifier
from clinic.storage import RequestStore
from rasa_server.nlg import FirstMatchResponseGenerator
from tests.bookings import FILLED

PROFILE_SET = {"clinic_response_time": "within one business day", "clinic_phone": "(509) 555-0100"}
PROFILE_UNSET = {"clinic_response_time": None, "clinic_phone": None}


def slots_after(events):
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


async def run(action, make_tracker, domain, **tracker_args):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker(**tracker_args), domain.as_dict())
    return events, dispatcher.messages


async def submitted(store, make_tracker, domain, language=None):
    """Sends FILLED as a visitor confirming the summary would; returns the conversation's slots after it."""
    slots = {**FILLED, **({"language": language} if language else {})}
    events, _ = await run(ActionSubmitBooking(), make_tracker, domain, slots=slots)
    return {**({"language": language} if language else {}), **slots_after(events)}


async def render(domain, response, slots, **kwargs):
    """The text a visitor reads, as the Rasa server's response generator fills it in."""
    tracker = DialogueStateTracker.from_events(
        "visitor", [CoreSlotSet(name, value) for name, value in slots.items()], slots=domain.slots
    )
    message = await FirstMatchResponseGenerator(domain=domain).generate(response, tracker, "rest", **kwargs)
    return message["text"]


# ---- the confirmation: when to expect contact


async def test_the_confirmation_says_when_to_expect_contact(store, make_tracker, domain):
    events, messages = await run(ActionSubmitBooking(), make_tracker, domain, slots=FILLED)
    assert [m["response"] for m in messages] == ["utter_booking_saved", "utter_booking_next_steps"]
    reference = store.list_requests()[0].reference_code
    after = slots_after(events)
    assert after["booking_reference"] == reference and after["booking_submitted"] is True
    assert after["booking_requests"] == [
        {"reference": reference, "preferred_times": "weekday mornings", "stored": True, "noted": False,
         "cancel_asked": False}
    ]
    assert after["full_name"] is None  # personal details are still not kept in the conversation


@pytest.mark.parametrize(
    "language, profile, expected",
    [
        ("en", PROFILE_SET, "A member of our team will contact you within one business day to arrange your free "
                            "consultation. If you'd rather not wait, you can also call the clinic at (509) 555-0100."),
        ("en", {**PROFILE_UNSET, "clinic_phone": "(509) 555-0100"},
         "A member of our team will contact you to arrange your free consultation. If you'd rather not wait, "
         "you can also call the clinic at (509) 555-0100."),
        ("en", {**PROFILE_UNSET, "clinic_response_time": "within one business day"},
         "A member of our team will contact you within one business day to arrange your free consultation."),
        ("en", PROFILE_UNSET, "A member of our team will contact you to arrange your free consultation."),
        ("es", PROFILE_UNSET, "Alguien de nuestro equipo se comunicará con usted para programar su consulta gratuita."),
        ("es", PROFILE_SET,
         "Alguien de nuestro equipo se comunicará con usted para programar su consulta gratuita. Esto es lo que la "
         "clínica indica sobre cuándo se comunica: within one business day. Si lo prefiere, también puede llamar a "
         "la clínica al (509) 555-0100."),
    ],
)
async def test_when_to_expect_contact_comes_from_the_profile(domain, language, profile, expected):
    assert await render(domain, "utter_booking_next_steps", {"language": language, **profile}) == expected


@pytest.mark.parametrize("language", ["en", "es", None])
async def test_with_nothing_set_no_time_or_number_is_invented(domain, language):
    text = await render(domain, "utter_booking_next_steps", {"language": language, **PROFILE_UNSET})
    assert not re.search(r"\d|\{|None|within|hours?|days?|horas?|d[ií]as?|mañana|tomorrow|today|hoy", text)


def test_no_variation_shows_a_value_it_requires_to_be_unset(domain):
    """A variation for "phone not set" never quotes {clinic_phone}, and so on."""
    for variation in domain.responses["utter_booking_next_steps"]:
        unset = {c["name"] for c in variation.get("condition") or [] if c.get("value") is None}
        assert not {name for name in unset if f"{{{name}}}" in variation["text"]}


async def test_the_session_fills_response_time_and_phone_from_the_profile(
    tmp_path, monkeypatch, dispatcher, make_tracker, domain
):
    profile = tmp_path / "profile.yml"
    profile.write_text('phone: "(509) 555-0100"\nresponse_time: "within one business day"\n')
    monkeypatch.setenv("CLINIC_PROFILE_PATH", str(profile))
    events = await ActionSessionStart().run(dispatcher, make_tracker(), domain.as_dict())
    assert SlotSet("clinic_response_time", "within one business day") in events
    assert SlotSet("clinic_phone", "(509) 555-0100") in events
    profile.write_text('phone: ""\nresponse_time: "TODO: ask the office manager"\n')
    events = await ActionSessionStart().run(dispatcher, make_tracker(), domain.as_dict())
    assert SlotSet("clinic_response_time", None) in events and SlotSet("clinic_phone", None) in events


# ---- "what was my reference code again?" / "did it go through?"


async def test_the_reference_code_and_the_request_are_recalled(store, make_tracker, domain):
    slots = await submitted(store, make_tracker, domain)
    _, messages = await run(ActionRecallBooking(), make_tracker, domain, slots=slots)
    assert messages[0]["response"] == "utter_booking_recall"
    assert messages[0]["booking_reference"] == store.list_requests()[0].reference_code
    assert messages[0]["booking_times"] == "weekday mornings"
    assert messages[-1]["response"] == "utter_booking_next_steps"
    text = await render(domain, "utter_booking_recall", {"language": "es"}, booking_reference="TC-ABC234",
                        booking_times="entre semana")
    assert text.startswith("Sí, su solicitud se envió: su código de referencia es TC-ABC234.")


async def test_did_it_go_through_after_a_call_back_request_gives_its_reference(make_tracker, domain):
    _, messages = await run(ActionRecallBooking(), make_tracker, domain, slots={"callback_reference": "TC-KJH234"})
    assert [(m["response"], m.get("callback_reference")) for m in messages] == [("utter_callback_recall", "TC-KJH234")]
    text = await render(domain, "utter_callback_recall", {"language": "es"}, callback_reference="TC-KJH234")
    assert "TC-KJH234" in text and "llamada" in text


async def test_did_it_go_through_with_nothing_sent_says_so_and_offers_to_book(make_tracker, domain):
    _, messages = await run(ActionRecallBooking(), make_tracker, domain)
    assert [m["response"] for m in messages] == ["utter_booking_recall_none"]
    for language in ("en", "es"):
        variation = next(
            v for v in domain.responses["utter_booking_recall_none"]
            if any(c.get("value") == "es" for c in v.get("condition") or []) == (language == "es")
        )
        assert "/book_consultation" in [b["payload"] for b in variation["buttons"]]
    _, messages = await run(ActionRecallBooking(), make_tracker, domain, slots={"full_name": "Maria Lopez"},
                            active_loop="booking_form")
    assert [m["response"] for m in messages] == ["utter_booking_recall_in_progress"]


# ---- a change after the request was sent: a note on that request


async def test_a_change_is_a_note_on_the_sent_request_stored_once(store, make_tracker, domain):
    slots = await submitted(store, make_tracker, domain)
    reference = slots["booking_reference"]
    for _ in range(2):  # the same change again, or the action retried: one note
        events, messages = await run(
            ActionAddBookingNote(), make_tracker, domain, slots={**slots, "booking_note": "Thursday afternoon instead"}
        )
        assert messages[0]["response"] == "utter_booking_note_added"
        assert messages[0]["booking_reference"] == reference  # the same reference code
        assert messages[0]["booking_note"] == "Thursday afternoon instead"
        assert SlotSet("booking_note", None) in events
    requests = store.list_requests()
    assert len(requests) == 1 and requests[0].reference_code == reference  # never a second request
    assert requests[0].status == "new" and requests[0].preferred_times == "weekday mornings"
    notes = store.notes(reference)
    assert [(n.kind, n.text) for n in notes] == [("change", "Thursday afternoon instead")]
    assert notes[0].created_at is not None and notes[0].conversation_id == "test-visitor"
    assert slots_after(events)["booking_requests"][0]["noted"] is True


async def test_a_different_change_is_a_second_note_on_the_same_request(store, make_tracker, domain):
    slots = await submitted(store, make_tracker, domain)
    for note in ("Thursday afternoon instead", "my new number is 509-555-0188"):
        await run(ActionAddBookingNote(), make_tracker, domain, slots={**slots, "booking_note": note})
    assert len(store.list_requests()) == 1
    assert [n.text for n in store.notes(slots["booking_reference"])] == [
        "Thursday afternoon instead", "my new number is 509-555-0188"
    ]


@pytest.mark.parametrize(
    "typed, reason",
    [
        ("", "I didn't get what to change"),
        ("   \n\t ", "I didn't get what to change"),
        ("ok", "I didn't get what to change"),
        ("ok thanks!", "I didn't get what to change"),
        ("Sí, muchas gracias", "I didn't get what to change"),
        ("🙂🙂", "I didn't get what to change"),
        ("x" * (MAX_NOTE_LENGTH + 1), "longer than I can add as a note"),
        ("Thursday " * 5000, "longer than I can add as a note"),
        ("thursday \ud800 afternoon", "couldn't be read"),
        ("caf\ufffd on friday", "couldn't be read"),
    ],
)
async def test_bad_input_in_the_change_is_asked_again_with_the_reason(make_tracker, domain, typed, reason):
    events, messages = await run(
        ValidateBookingNoteForm(), make_tracker, domain, text=typed,
        slots={"requested_slot": "booking_note", "booking_reference": "TC-ABC234"},
        active_loop="booking_note_form", extracted={"booking_note": typed},
    )
    assert SlotSet("booking_note", None) in events
    assert reason in messages[0]["text"]


@pytest.mark.parametrize(
    "typed, language, intent, sent",
    [
        ("can I change the time to Friday mornings?", "en", "change_booking", "booking_submitted"),
        ("my new number is 509-555-0188", "en", "change_booking", "booking_submitted"),
        ("¿se puede cambiar para el martes en la tarde?", "es", "change_booking", "booking_submitted"),
        # once a call-back request was sent, read as asking for a call
        ("could you call me thursday after 3 instead", "en", "request_callback", "callback_submitted"),
    ],
)
async def test_a_change_that_says_what_is_new_is_the_note_without_asking(
    make_tracker, domain, typed, language, intent, sent
):
    # As Rasa calls the validation when the form starts: the change request is the latest message.
    events, messages = await run(
        ValidateBookingNoteForm(), make_tracker, domain, text=typed,
        parse_data={"intent": {"name": intent, "confidence": 0.9}},
        slots={sent: True, "language": language}, active_loop="booking_note_form",
    )
    assert SlotSet("booking_note", typed) in events and messages == []


@pytest.mark.parametrize(
    "typed", ["I need to change my appointment", "quiero cambiar mi cita", "/change_booking"]
)
async def test_a_change_that_does_not_say_what_is_new_is_asked(make_tracker, domain, typed):
    events, _ = await run(
        ValidateBookingNoteForm(), make_tracker, domain, text=typed,
        parse_data={"intent": {"name": "change_booking", "confidence": 0.9}},
        slots={"booking_submitted": True}, active_loop="booking_note_form",
    )
    assert "booking_note" not in slots_after(events)


async def test_the_reason_is_in_spanish_in_a_spanish_conversation(make_tracker, domain):
    _, messages = await run(
        ValidateBookingNoteForm(), make_tracker, domain, text="",
        slots={"requested_slot": "booking_note", "language": "es"},
        active_loop="booking_note_form", extracted={"booking_note": ""},
    )
    assert messages[0]["text"].startswith("No entendí qué quiere cambiar.")


async def test_a_change_is_kept_as_typed_without_control_characters(make_tracker, domain):
    events, messages = await run(
        ValidateBookingNoteForm(), make_tracker, domain, text="x",
        slots={"requested_slot": "booking_note"}, active_loop="booking_note_form",
        extracted={"booking_note": "mejor el jueves\x00 en la tarde"},
    )
    assert SlotSet("booking_note", "mejor el jueves en la tarde") in events and messages == []


async def test_three_unreadable_changes_offer_a_person_and_store_nothing(store, make_tracker, domain):
    slots = await submitted(store, make_tracker, domain)
    events, _ = await run(
        ValidateBookingNoteForm(), make_tracker, domain, text="",
        slots={**slots, "requested_slot": "booking_note", "booking_failed_attempts": {"booking_note": 2}},
        active_loop="booking_note_form", extracted={"booking_note": ""},
    )
    assert SlotSet("booking_stuck", True) in events
    _, messages = await run(ActionAddBookingNote(), make_tracker, domain, slots={**slots, "booking_stuck": True})
    assert messages[0]["response"] == "utter_booking_note_offer_person"
    assert store.notes(slots["booking_reference"]) == []


async def test_database_down_the_visitor_is_told_and_nothing_breaks(tmp_path, monkeypatch, make_tracker, domain):
    down = RequestStore(f"sqlite:///{tmp_path / 'missing-dir' / 'clinic.db'}", tmp_path / "spool.jsonl", LogNotifier())
    monkeypatch.setattr(storage, "_store", down)
    slots = await submitted(down, make_tracker, domain)  # the request itself is spooled
    _, messages = await run(ActionAddBookingNote(), make_tracker, domain, slots={**slots, "booking_note": "Friday"})
    assert messages[0]["response"] == "utter_booking_note_failed"
    assert messages[0]["booking_reference"] == slots["booking_reference"]
    _, messages = await run(ActionRecallBooking(), make_tracker, domain, slots=slots)
    assert messages[0]["response"] == "utter_booking_recall_later"  # said honestly
    (tmp_path / "missing-dir").mkdir()  # back: the spooled request is written, then takes the note
    await run(ActionAddBookingNote(), make_tracker, domain, slots={**slots, "booking_note": "Friday"})
    assert [n.text for n in down.notes(slots["booking_reference"])] == ["Friday"]
    assert len(down.list_requests()) == 1
    down.close()


# ---- cancel: inside the form, and once the request was sent


async def test_cancel_after_sending_adds_a_cancellation_note_and_leaves_the_status(store, make_tracker, domain):
    slots = await submitted(store, make_tracker, domain, language="es")
    for _ in range(2):
        events, messages = await run(ActionAddCancellationNote(), make_tracker, domain, slots=slots)
        assert messages[0]["response"] == "utter_booking_cancellation_noted"
        assert not any(isinstance(e, dict) and e.get("event") == "active_loop" for e in events)  # no form
    reference = slots["booking_reference"]
    assert [n.kind for n in store.notes(reference)] == ["cancel"]
    assert "Spanish" in store.notes(reference)[0].text
    assert store.get(reference).status == "new"  # staff decide
    assert slots_after(events)["booking_requests"][0]["cancel_asked"] is True


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "Stop this consultation request? Nothing has been sent to the clinic yet."),
        ("es", "¿Detener esta solicitud de consulta? Todavía no se ha enviado nada a la clínica."),
    ],
)
async def test_cancel_inside_the_booking_form_says_what_it_stops(domain, make_tracker, language, expected):
    assert await render(domain, "utter_ask_confirm_cancel_booking", {"language": language}) == expected
    # the question every form asks reads the same for the booking form
    _, messages = await run(ActionAskConfirmStopForm(), make_tracker, domain, slots={"language": language},
                            active_loop="booking_form")
    assert await render(domain, messages[0]["response"], {"language": language}, form_noun=messages[0]["form_noun"]) \
        == expected


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "Stop this call-back request? Nothing has been sent to the clinic yet."),
        ("es", "¿Detener esta solicitud de llamada? Todavía no se ha enviado nada a la clínica."),
    ],
)
async def test_cancel_inside_the_call_back_form_names_the_call_back_request(domain, make_tracker, language, expected):
    _, messages = await run(ActionAskConfirmStopForm(), make_tracker, domain, slots={"language": language},
                            active_loop="callback_form")
    assert await render(domain, messages[0]["response"], {"language": language}, form_noun=messages[0]["form_noun"]) \
        == expected


async def test_cancel_of_a_second_request_names_the_first_one_which_stays(store, make_tracker, domain):
    slots = await submitted(store, make_tracker, domain)
    text = await render(domain, "utter_ask_confirm_cancel_booking", slots)
    assert slots["booking_reference"] in text and "not affected" in text
    events, _ = await run(
        ActionCancelBooking(),
        make_tracker,
        domain,
        slots={**slots, **FILLED, "booking_submitted": None},
        active_loop="booking_form",
    )
    assert ActiveLoop(None) in events and SlotSet("booking_submitted", True) in events
    assert len(store.list_requests()) == 1


# ---- asking to book again


async def test_a_new_request_for_someone_else_starts_clean_and_keeps_the_first(store, make_tracker, domain):
    slots = await submitted(store, make_tracker, domain)
    events, messages = await run(ActionStartAnotherBooking(), make_tracker, domain, slots=slots)
    assert messages[0]["response"] == "utter_booking_another"
    after = slots_after(events)
    assert after["booking_submitted"] is None and after["full_name"] is None and after["booking_id"] is None
    assert "booking_reference" not in after and "booking_requests" not in after  # the first one is kept
    # sent too: both are remembered, the latest first in the answer to "what was my reference code?"
    events, _ = await run(ActionSubmitBooking(), make_tracker, domain,
                          slots={**slots, **FILLED, "booking_id": "b2", "full_name": "Jose Lopez"})
    both = slots_after(events)["booking_requests"]
    assert len(both) == 2 and len(store.list_requests()) == 2
    _, messages = await run(ActionRecallBooking(), make_tracker, domain, slots={"booking_requests": both})
    assert messages[0]["booking_reference"] == both[1]["reference"]
    assert any(m.get("booking_references") == both[0]["reference"] for m in messages)


async def test_the_same_confirmation_twice_is_remembered_once(store, make_tracker, domain):
    slots = await submitted(store, make_tracker, domain)
    events, _ = await run(ActionSubmitBooking(), make_tracker, domain, slots={**slots, **FILLED})
    assert len(slots_after(events)["booking_requests"]) == 1


async def test_a_stuck_second_request_brings_the_first_back_into_view(store, make_tracker, domain):
    slots = await submitted(store, make_tracker, domain)
    events, _ = await run(ActionBookingSummary(), make_tracker, domain,
                          slots={**slots, "booking_submitted": None, "booking_stuck": True})
    assert SlotSet("booking_submitted", True) in events


async def test_booking_again_names_the_request_already_in(domain):
    for language, phrase in (("en", "is already with our team"), ("es", "ya está con nuestro equipo")):
        text = await render(
            domain, "utter_booking_already_in", {"language": language, "booking_reference": "TC-ABC234"}
        )
        assert "TC-ABC234" in text and phrase in text
    payloads = {b["payload"] for v in domain.responses["utter_booking_already_in"] for b in v["buttons"]}
    assert payloads == {"/change_booking", "/book_another", "/deny"}
