"""What the booking form and the call-back form ask alike: a name, a phone number or email, and the
days and times that suit the visitor, each validated the same way, with the same re-asks.

`ContactFormValidation` is the shared FormValidationAction: a bad answer gets its reason (in the
visitor's language) and is asked again; three failed tries in a row at one question end the form
with `booking_stuck` set, and the form's summary action offers a person instead of asking again.
"""
from abc import abstractmethod
from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.availability import describe, parse_availability
from actions.booking_fields import CONTACT_TAKEN, Contact, check_contact, check_name, in_language, plain_text
from actions.language import visitor_language
from clinic.profile import clinic_timezone

MAX_FAILED_ATTEMPTS = 3
# The forms' shared state: failed tries per question, and "stuck" (three in a row).
FAILED_ATTEMPTS_SLOT = "booking_failed_attempts"
STUCK_SLOT = "booking_stuck"


def clinic_today():
    return datetime.now(clinic_timezone()).date()


class ContactFormValidation(FormValidationAction):
    """Validates full_name, contact (-> phone / email) and preferred_times (-> preferred_times_parsed)."""

    @abstractmethod
    def name(self) -> Text:
        """Each form's validation action names itself; abstract, so rasa_sdk does not register this base."""

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        # An empty list ends the form; the form's summary action then offers a person.
        return [] if tracker.get_slot(STUCK_SLOT) else domain_slots

    def rejected(self, slot: str, reason: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        if tracker.get_slot(slot) is None:
            # Emptied by an action since the visitor's message (a call-back request starting afresh), not
            # answered: Rasa hands every slot set since then to validation all the same. Nothing to say,
            # no failed try (said, it was "I didn't catch a name" and three more before the first question).
            return {slot: None}
        failures = dict(tracker.get_slot(FAILED_ATTEMPTS_SLOT) or {})
        failures[slot] = failures.get(slot, 0) + 1
        if failures[slot] >= MAX_FAILED_ATTEMPTS:
            return {slot: None, FAILED_ATTEMPTS_SLOT: {}, STUCK_SLOT: True}
        if reason:
            dispatcher.utter_message(text=in_language(reason, visitor_language(tracker)))
        return {slot: None, FAILED_ATTEMPTS_SLOT: failures}

    @staticmethod
    def accepted(slot: str, tracker: Tracker, values: Dict[Text, Any]) -> Dict[Text, Any]:
        failures = dict(tracker.get_slot(FAILED_ATTEMPTS_SLOT) or {})
        failures.pop(slot, None)
        return {**values, FAILED_ATTEMPTS_SLOT: failures}

    def contact_given_instead(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Optional[Dict[Text, Any]]:
        """"actually wait, my email is ana@example.com" while another question is asked: the phone number
        or email is taken (a correction, or given early) and the question asked again; None otherwise."""
        contact = check_contact(value)
        if contact.problem or self.contact_problem(contact.phone, contact.email, tracker):
            return None
        language = visitor_language(tracker)
        said = contact.shown(" y " if language == "es" else " and ")
        dispatcher.utter_message(text=CONTACT_TAKEN.format(said).in_language(language))
        return {slot: None, **contact_slots(contact)}

    async def validate_full_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        corrected = self.contact_given_instead("full_name", value, dispatcher, tracker)
        if corrected:
            return corrected
        checked = check_name(value)
        if checked.problem:
            return self.rejected("full_name", checked.problem, dispatcher, tracker)
        return self.accepted("full_name", tracker, {"full_name": checked.value})

    def contact_problem(self, phone: Any, email: Any, tracker: Tracker):
        """A reason to ask again for contact details that are valid but not enough here, or None."""
        return None

    async def validate_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        contact = check_contact(value)
        problem = contact.problem or self.contact_problem(contact.phone, contact.email, tracker)
        if problem:
            return self.rejected("contact", problem, dispatcher, tracker)
        return self.accepted("contact", tracker, contact_slots(contact))

    async def validate_preferred_times(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        corrected = self.contact_given_instead("preferred_times", value, dispatcher, tracker)
        if corrected:
            return corrected
        # Kept as typed but without control characters, and read as kept: checked again, it reads the same.
        text = plain_text(value)
        availability = parse_availability(text, clinic_today(), visitor_language(tracker))
        if availability.problem:
            return self.rejected("preferred_times", availability.problem, dispatcher, tracker)
        return self.accepted(
            "preferred_times", tracker, {"preferred_times": text, "preferred_times_parsed": availability.windows}
        )


def contact_slots(contact: Contact) -> Dict[Text, Any]:
    """The slots a valid answer with a phone number and/or email fills: contact as shown, phone, email."""
    return {"contact": contact.shown(), "phone": contact.phone, "email": contact.email}


def shown_contact(tracker: Tracker, joiner: str) -> str:
    """The phone number and/or email as a summary shows them ("+15095550147 and kim@example.com")."""
    shown = Contact(phone=tracker.get_slot("phone"), email=tracker.get_slot("email")).shown(joiner)
    return shown or tracker.get_slot("contact") or ""


def shown_times(tracker: Tracker, language: str) -> str:
    """The days and times as typed, with how they were read when that says something more."""
    times = tracker.get_slot("preferred_times") or ""
    understood = describe(tracker.get_slot("preferred_times_parsed") or [], language)
    return f"{times} ({understood})" if understood and understood.lower() != times.lower() else times
