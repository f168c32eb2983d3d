"""After a consultation request was sent: what the visitor asks about it is answered from this
conversation, and a change or a cancellation becomes a note on that same request, never a second
request and never the whole form again (issue "Asking for a person reaches a person").

- "What was my reference code again?", "did it go through?" (intent ask_reference_code):
  action_recall_booking gives the reference code and what was asked for, from `booking_requests`
  (actions/booking.py keeps it when a request is sent); with nothing sent in this conversation it
  says so and offers to book.
- "I need to change my time", "cambiar la hora" once a request was sent (data/rules/after_booking.yml):
  booking_note_form asks what is new, validate_booking_note_form checks the answer, and
  action_add_booking_note adds it to the sent request as a note (clinic/storage.py,
  RequestStore.add_note), confirming with the same reference code. The same note twice is stored once.
- "Cancel" once a request was sent: the visitor is told the request is with the team and offered a
  cancellation note (action_add_cancellation_note); the request's status is staff's to change.
- The same for a call-back request while it is the latest word (callback_submitted): a change or a
  cancellation is a note on it, and asking to book starts a consultation request.
- Asking to book again: the request already in is named, with a note or a new request for someone
  else offered (action_start_another_booking).

Before a request is sent, the booking form's own change and cancel (actions/booking.py) apply.
"""
import asyncio
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.availability import parse_availability
from actions.booking import FORM_SLOTS, another_request_started, cleared_booking_slots, sent_requests
from actions.booking_fields import check_contact, check_note
from actions.language import visitor_language
from actions.request_forms import ContactFormValidation, clinic_today
from clinic.storage import get_store

logger = logging.getLogger(__name__)

# The intents that open the note form with the change already said (data/rules/after_booking.yml).
CHANGE_INTENTS = ("change_booking", "request_callback")
# When a request was sent without its days and times being kept (an older conversation).
TIMES_NOT_KEPT = {"en": "the ones you gave", "es": "los que usted indicó"}
# The note staff read when a visitor asks in the chat to cancel a request (staff read English).
CANCEL_NOTE = "The visitor asked in the chat to cancel this request."
CANCEL_NOTE_LANGUAGE = {"es": " (The conversation is in Spanish.)"}


def latest_reference(tracker: Tracker) -> Optional[str]:
    """The reference code of the sent request a change or a cancellation concerns: the call-back
    request while it is the latest word (callback_submitted), else the latest consultation request."""
    if tracker.get_slot("callback_submitted") and tracker.get_slot("callback_reference"):
        return tracker.get_slot("callback_reference")
    requests = sent_requests(tracker)
    return requests[-1]["reference"] if requests else None


def marked(requests: List[Dict[str, Any]], reference: str, flag: str) -> List[Dict[str, Any]]:
    return [{**item, flag: True} if item["reference"] == reference else item for item in requests]


def booking_in_progress(tracker: Tracker) -> bool:
    return tracker.active_loop_name == "booking_form" or any(tracker.get_slot(slot) for slot in FORM_SLOTS)


class ActionRecallBooking(Action):
    """"What was my reference code again?" / "did it go through?": answered from this conversation,
    for a consultation request, or a call-back request when that is what was sent."""

    def name(self) -> Text:
        return "action_recall_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        requests = sent_requests(tracker)
        callback = tracker.get_slot("callback_reference")  # a call-back request sent in this conversation
        if callback and tracker.get_slot("callback_submitted"):  # sent after any consultation request
            dispatcher.utter_message(response="utter_callback_recall", callback_reference=callback)
            if requests:
                others = ", ".join(item["reference"] for item in requests)
                dispatcher.utter_message(response="utter_booking_recall_others", booking_references=others)
            return []
        if not requests:
            if booking_in_progress(tracker):
                dispatcher.utter_message(response="utter_booking_recall_in_progress")
            elif callback:
                dispatcher.utter_message(response="utter_callback_recall", callback_reference=callback)
            else:
                dispatcher.utter_message(response="utter_booking_recall_none")
            return []
        language = "es" if visitor_language(tracker) == "es" else "en"
        latest = requests[-1]
        dispatcher.utter_message(
            response="utter_booking_recall" if latest.get("stored", True) else "utter_booking_recall_later",
            booking_reference=latest["reference"],
            booking_times=latest.get("preferred_times") or TIMES_NOT_KEPT[language],
        )
        if latest.get("noted"):
            dispatcher.utter_message(response="utter_booking_recall_noted")
        if latest.get("cancel_asked"):
            dispatcher.utter_message(response="utter_booking_recall_cancel_asked")
        if len(requests) > 1:
            others = ", ".join(item["reference"] for item in requests[:-1])
            dispatcher.utter_message(response="utter_booking_recall_others", booking_references=others)
        if booking_in_progress(tracker):  # a new request for someone else, not sent yet
            dispatcher.utter_message(response="utter_booking_recall_in_progress")
        elif not latest.get("cancel_asked"):
            dispatcher.utter_message(response="utter_booking_next_steps")
        return []


def says_what_is_new(text: str, language: Optional[str]) -> bool:
    """A change request that names the new days or times, or new contact details ("can I change the time
    to Friday mornings?", "my new number is 509-555-0188")."""
    if parse_availability(text, clinic_today(), language).windows:
        return True
    contact = check_contact(text)
    return bool(contact.phone or contact.email)


class ValidateBookingNoteForm(ContactFormValidation):
    """What to change on a sent request: any sentence up to a length; empty, too long or unreadable
    text is asked again with the reason, and three failed tries in a row offer a person."""

    def name(self) -> Text:
        return "validate_booking_note_form"

    async def extract_booking_note(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """The change request that opened the form is the note when it already says what is new: asked
        "What would you like to change?" after "can I change the time to Friday mornings?", visitors
        answered "ok thanks". Once a call-back request was sent, "could you call me Thursday instead?"
        (read as asking for a call) opens the form too (data/rules/after_booking.yml)."""
        message = tracker.latest_message or {}
        if tracker.get_slot("booking_note") or (message.get("intent") or {}).get("name") not in CHANGE_INTENTS:
            return {}
        text = message.get("text") or ""
        return {"booking_note": text} if says_what_is_new(text, visitor_language(tracker)) else {}

    async def validate_booking_note(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        checked = check_note(value)
        if checked.problem:
            return self.rejected("booking_note", checked.problem, dispatcher, tracker)
        return self.accepted("booking_note", tracker, {"booking_note": checked.value})


class ActionAddBookingNote(Action):
    """After booking_note_form: the change is added to the sent request as a note, once."""

    def name(self) -> Text:
        return "action_add_booking_note"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        reference = latest_reference(tracker)
        events: List[EventType] = [SlotSet("booking_note", None), SlotSet("booking_failed_attempts", None)]
        if tracker.get_slot("booking_stuck"):
            dispatcher.utter_message(response="utter_booking_note_offer_person", booking_reference=reference)
            return events + [SlotSet("booking_stuck", None), SlotSet("handoff_reason", "booking_stuck")]
        note = check_note(tracker.get_slot("booking_note")).value
        if reference is None or note is None:
            dispatcher.utter_message(response="utter_no_booking_in_progress")
            return events
        if not await add_note(reference, "change", note, tracker.sender_id):
            dispatcher.utter_message(response="utter_booking_note_failed", booking_reference=reference)
            return events
        dispatcher.utter_message(response="utter_booking_note_added", booking_reference=reference, booking_note=note)
        return events + [SlotSet("booking_requests", marked(sent_requests(tracker), reference, "noted"))]


class ActionAddCancellationNote(Action):
    """"Yes, ask them to cancel": a cancellation note on the sent request; its status is staff's to change."""

    def name(self) -> Text:
        return "action_add_cancellation_note"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        reference = latest_reference(tracker)
        if reference is None:
            dispatcher.utter_message(response="utter_no_booking_in_progress")
            return []
        note = CANCEL_NOTE + CANCEL_NOTE_LANGUAGE.get(visitor_language(tracker) or "", "")
        if not await add_note(reference, "cancel", note, tracker.sender_id):
            dispatcher.utter_message(response="utter_booking_note_failed", booking_reference=reference)
            return []
        dispatcher.utter_message(response="utter_booking_cancellation_noted", booking_reference=reference)
        return [SlotSet("booking_requests", marked(sent_requests(tracker), reference, "cancel_asked"))]


async def add_note(reference: str, kind: str, text: str, conversation_id: str) -> bool:
    """True when the note is on the request (added now, or already there); False when it could not be
    added (database unavailable, or the request is still waiting in the spool), logged without its text."""
    try:
        result = await asyncio.to_thread(get_store().add_note, reference, kind, text, conversation_id)
    except LookupError:
        logger.error("Could not add a %s note to request %s: not in the database (yet)", kind, reference)
        return False
    except Exception as error:  # the visitor is told; the note's text is not logged
        logger.error("Could not add a %s note to request %s (%s)", kind, reference, type(error).__name__)
        return False
    if not result.added:
        logger.info("The same %s note was already on request %s; nothing added", kind, reference)
    return True


class ActionStartAnotherBooking(Action):
    """"New request for someone else", or a consultation asked for after a call-back request: a fresh
    form; the sent request stays as it is."""

    def name(self) -> Text:
        return "action_start_another_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        # a consultation asked for after a call-back request ("book", not "for someone else"): the
        # form's intro says it all
        if (tracker.latest_message.get("intent") or {}).get("name") != "book_consultation":
            dispatcher.utter_message(response="utter_booking_another")
        # "cancel" and "change" now concern the new request, until it is sent or stopped.
        return cleared_booking_slots() + another_request_started()
