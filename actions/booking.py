"""Consultation booking: the form's validation, the summary, and submitting a request exactly once.

Everything shown to the visitor is in the conversation's language (actions/language.py): the form's
questions and replies are domain responses with Spanish variations; the re-ask reasons are
`Reason`s with a Spanish twin, and the summary is built here in English or Spanish.
"""
import asyncio
import logging
import uuid
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.booking_fields import HELP_WITH_LABELS, HELP_WITH_LABELS_ES, Reason, check_consent, check_help_with
from actions.language import visitor_language
from actions.request_forms import (  # noqa: F401 (MAX_FAILED_ATTEMPTS, clinic_today: re-exported)
    MAX_FAILED_ATTEMPTS,
    ContactFormValidation,
    clinic_today,
    shown_contact,
    shown_times,
)
from clinic.storage import ConsultationRequest, get_store

logger = logging.getLogger(__name__)

FORM_SLOTS = ["full_name", "contact", "preferred_times", "help_with", "consent_to_contact"]
# Slots filled on the side by validation, cleared together with the form's own.
DERIVED_SLOTS = {"contact": ["phone", "email"], "preferred_times": ["preferred_times_parsed"]}
BOOKING_STATE_SLOTS = ["booking_failed_attempts", "booking_stuck", "booking_id", "booking_field"]
YES_OR_NO = Reason("Please answer yes or no.", "Por favor conteste sí o no.")
# The summary's wording and buttons, per language.
SUMMARY_WORDS = {
    "en": {"intro": "Here's your request:", "name": "Name", "contact": "Contact", "times": "Days and times",
           "help_with": "Help with", "question": "Shall I send it to the team?", "and": " and "},
    "es": {"intro": "Esta es su solicitud:", "name": "Nombre", "contact": "Contacto", "times": "Días y horarios",
           "help_with": "Ayuda con", "question": "¿La envío al equipo?", "and": " y "},
}
SUMMARY_BUTTONS = {
    "en": [{"title": "Confirm", "payload": "/affirm"}, {"title": "Change something", "payload": "/change_booking"},
           {"title": "Cancel", "payload": "/stop"}],
    "es": [{"title": "Confirmar", "payload": "/affirm"}, {"title": "Cambiar algo", "payload": "/change_booking"},
           {"title": "Cancelar", "payload": "/stop"}],
}


def cleared_booking_slots() -> List[EventType]:
    names = FORM_SLOTS + [s for derived in DERIVED_SLOTS.values() for s in derived] + BOOKING_STATE_SLOTS
    return [SlotSet(name, None) for name in names]


class ValidateBookingForm(ContactFormValidation):
    """Checks each answer; a bad one gets a clear reason and is asked again, three in a row offer a person.
    Name, contact and days/times are checked as in every form that asks them (actions/request_forms.py)."""

    def name(self) -> Text:
        return "validate_booking_form"

    async def validate_help_with(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        corrected = self.contact_given_instead("help_with", value, dispatcher, tracker)
        if corrected:
            return corrected
        checked = check_help_with(value)
        if checked.problem:
            return self.rejected("help_with", checked.problem, dispatcher, tracker)
        return self.accepted("help_with", tracker, {"help_with": checked.value})

    async def validate_consent_to_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        consent = value if isinstance(value, bool) else check_consent(value)
        if consent is True:
            return self.accepted("consent_to_contact", tracker, {"consent_to_contact": True})
        if consent is False:
            dispatcher.utter_message(response="utter_consent_needed")
            return self.rejected("consent_to_contact", "", dispatcher, tracker) | {"consent_to_contact": None}
        return self.rejected("consent_to_contact", YES_OR_NO, dispatcher, tracker)


def summary_text(tracker: Tracker) -> str:
    language = "es" if visitor_language(tracker) == "es" else "en"
    words = SUMMARY_WORDS[language]
    times = shown_times(tracker, language)
    labels = HELP_WITH_LABELS_ES if language == "es" else HELP_WITH_LABELS
    help_with = labels.get(tracker.get_slot("help_with") or "", "")
    contact = shown_contact(tracker, words["and"])
    return (
        f"{words['intro']}\n"
        f"• {words['name']}: {tracker.get_slot('full_name')}\n"
        f"• {words['contact']}: {contact}\n"
        f"• {words['times']}: {times}\n"
        f"• {words['help_with']}: {help_with}\n"
        f"{words['question']}"
    )


class ActionBookingSummary(Action):
    """After the form: the summary with confirm / change / cancel, or a person when the form got stuck."""

    def name(self) -> Text:
        return "action_booking_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if tracker.get_slot("booking_stuck"):
            dispatcher.utter_message(response="utter_booking_offer_person")
            return [
                SlotSet("booking_stuck", None), SlotSet("handoff_reason", "booking_stuck")
            ] + earlier_request_in_view(tracker)
        language = "es" if visitor_language(tracker) == "es" else "en"
        dispatcher.utter_message(text=summary_text(tracker), buttons=[dict(b) for b in SUMMARY_BUTTONS[language]])
        return [] if tracker.get_slot("booking_id") else [SlotSet("booking_id", uuid.uuid4().hex)]


def request_from(tracker: Tracker) -> Optional[ConsultationRequest]:
    """The request to store, or None when the form is not complete."""
    if any(tracker.get_slot(slot) in (None, "") for slot in FORM_SLOTS) or not tracker.get_slot("booking_id"):
        return None
    if tracker.get_slot("consent_to_contact") is not True:
        return None
    return ConsultationRequest(
        idempotency_key=f"{tracker.sender_id}:{tracker.get_slot('booking_id')}",
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "unknown",
        full_name=tracker.get_slot("full_name"),
        phone=tracker.get_slot("phone"),
        email=tracker.get_slot("email"),
        preferred_times=tracker.get_slot("preferred_times"),
        preferred_times_parsed=tracker.get_slot("preferred_times_parsed") or [],
        help_with=tracker.get_slot("help_with"),
        consent_to_contact=True,
    )


class ActionSubmitBooking(Action):
    """Stores a confirmed request once; when the database is down it is spooled and the visitor told honestly."""

    def name(self) -> Text:
        return "action_submit_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        request = request_from(tracker)
        if request is None:
            dispatcher.utter_message(response="utter_no_booking_in_progress")
            return []
        result = await asyncio.to_thread(get_store().submit, request)
        response = "utter_booking_saved" if result.stored else "utter_booking_saved_later"
        dispatcher.utter_message(
            response=response, full_name=request.full_name, booking_reference=result.reference_code
        )
        # When to expect contact: the clinic profile's response time and phone, when set (domain.yml).
        dispatcher.utter_message(response="utter_booking_next_steps")
        return cleared_booking_slots() + remembered_request(tracker, request, result.reference_code, result.stored)


class ActionChangeBooking(Action):
    """"Change something": asks which answer, clears it, and lets the form ask it again."""

    def name(self) -> Text:
        return "action_change_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if not any(tracker.get_slot(slot) for slot in FORM_SLOTS):
            dispatcher.utter_message(response="utter_no_booking_in_progress")
            return []
        field = tracker.get_slot("booking_field")
        if field not in FORM_SLOTS:
            dispatcher.utter_message(response="utter_ask_booking_field")
            return []
        events = [SlotSet(name, None) for name in [field] + DERIVED_SLOTS.get(field, [])]
        events.append(SlotSet("booking_field", None))
        # Inside the form a rule returns to it; after the summary the form is started again here.
        return events if tracker.active_loop_name else events + [FollowupAction("booking_form")]


class ActionCancelBooking(Action):
    def name(self) -> Text:
        return "action_cancel_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_booking_cancelled")
        return (
            [ActiveLoop(None), SlotSet("requested_slot", None)]
            + cleared_booking_slots()
            + earlier_request_in_view(tracker)
        )


# ---- the requests sent in this conversation (issue "Asking for a person reaches a person"; what is
# done with them afterwards is in actions/after_booking.py)


def sent_requests(tracker: Tracker) -> List[Dict[str, Any]]:
    """The consultation requests sent in this conversation, oldest first, as `booking_requests` keeps
    them: {reference, preferred_times, stored, noted, cancel_asked}; no name, contact or health details.
    A conversation from before that slot existed has its last reference code only."""
    kept = tracker.get_slot("booking_requests")
    requests = [dict(item) for item in kept if isinstance(item, dict) and isinstance(item.get("reference"), str)] \
        if isinstance(kept, list) else []
    reference = tracker.get_slot("booking_reference")
    if not requests and isinstance(reference, str) and reference:
        requests = [{"reference": reference, "preferred_times": None, "stored": True}]
    return requests


def remembered_request(
    tracker: Tracker, request: ConsultationRequest, reference_code: str, stored: bool
) -> List[EventType]:
    """Remembers a sent request: its reference code, and that it is the latest word (booking_submitted)."""
    requests = sent_requests(tracker)
    if all(item["reference"] != reference_code for item in requests):  # the same confirmation again: kept once
        requests.append(
            {"reference": reference_code, "preferred_times": request.preferred_times, "stored": stored,
             "noted": False, "cancel_asked": False}
        )
    return [
        SlotSet("booking_reference", reference_code),
        SlotSet("booking_requests", requests),
        SlotSet("booking_submitted", True),
        SlotSet("callback_submitted", None),
    ]


def another_request_started() -> List[EventType]:
    """For a flow that starts another request (a new booking for someone else, a consultation after a
    call-back request, the call-back form): until it ends, "cancel" and "change" concern it, not a sent
    request, so that the rules of data/rules/after_booking.yml (conditioned on booking_submitted or
    callback_submitted) do not overrule its own."""
    return [SlotSet("booking_submitted", None), SlotSet("callback_submitted", None)]


def earlier_request_in_view(tracker: Tracker) -> List[EventType]:
    """When such a flow ends (stopped or stuck): a request sent earlier in the conversation is the
    latest word again, a consultation request first (asking to book again names it), else a
    call-back request (a change or a cancellation becomes a note on it)."""
    if sent_requests(tracker):
        return [SlotSet("booking_submitted", True)]
    return [SlotSet("callback_submitted", True)] if tracker.get_slot("callback_reference") else []
