"""Call-back requests: the visitor asks for a person to phone them, and staff are told.

Its own request, never the consultation booking form: intent `request_callback` (typed, or the
"Request a call back" button wherever a person cannot join the chat) starts `callback_form`, which
asks who (full_name), how to reach them (contact: a phone number or an email, checked as the
booking form checks it), when suits them (preferred_times, read by the same availability parser;
"any time" is fine) and, optionally, what about (callback_topic: a button choice, never health
details; "Skip" is one). A summary with confirm / change / cancel follows; confirmed, the request is
stored once as a call-back (clinic/storage.py, table callback_requests), staff are alerted without
any of the visitor's details, and the reference code is shown.

Urgent (intent `request_urgent_callback`: the "Request an urgent call back" button that the crisis
response's "Connect me with staff" gives while nobody can join the chat): the same form asks only a
name and a phone number, and the request is stored at once, urgent, "as soon as possible", and
staff are alerted as urgent. A call-back asked for in a conversation flagged for a crisis is urgent
too.
"""
import asyncio
import uuid
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.booking import another_request_started, earlier_request_in_view
from actions.booking_fields import Reason, check_choice
from actions.language import visitor_language
from actions.request_forms import FAILED_ATTEMPTS_SLOT, STUCK_SLOT, ContactFormValidation, shown_contact, shown_times
from clinic.storage import CallbackRequest, get_store

URGENT_INTENT = "request_urgent_callback"
FORM_SLOTS = ["full_name", "contact", "preferred_times", "callback_topic"]
URGENT_FORM_SLOTS = ["full_name", "contact"]
# Slots filled on the side by validation, cleared with the form's own.
DERIVED_SLOTS = {"contact": ["phone", "email"], "preferred_times": ["preferred_times_parsed"]}
STATE_SLOTS = ["callback_urgent", "callback_id", FAILED_ATTEMPTS_SLOT, STUCK_SLOT, "booking_field"]
SKIP = "skip"
# Typed answers to "what is the call about?" (the buttons send the value itself); the first that
# matches wins, so "a question about my bill" is billing.
TOPIC_CHOICES = {
    "booking": ("booking", "book", "appointment", "consult", "consultation", "schedule",
                "cita", "agendar", "consulta", "reservar"),
    "billing": ("billing", "bill", "insurance", "payment", "pay", "cost", "price", "invoice",
                "factura", "facturacion", "seguro", "pago", "cobro", "precio", "costo"),
    "treatment_question": ("question", "treatment", "ketamine", "infusion", "infusions",
                           "pregunta", "tratamiento", "ketamina", "infusion", "infusiones"),
    "other": ("other", "something else", "else", "otra", "otro", "otra cosa", "algo mas"),
    SKIP: ("skip", "rather not", "prefer not", "no", "nothing", "none", "n/a",
           "omitir", "saltar", "prefiero no", "nada", "ninguno"),
}
TOPIC_LABELS = {
    "en": {"booking": "Booking a consultation", "treatment_question": "A question about treatment",
           "billing": "Billing or insurance", "other": "Something else"},
    "es": {"booking": "Agendar una consulta", "treatment_question": "Una pregunta sobre el tratamiento",
           "billing": "Facturación o seguro", "other": "Otra cosa"},
}
SUMMARY_WORDS = {
    "en": {"intro": "Here's your call-back request:", "name": "Name", "contact": "Contact", "times": "When to call",
           "topic": "About", "question": "Shall I send it to the team?", "and": " and "},
    "es": {"intro": "Esta es su solicitud de llamada:", "name": "Nombre", "contact": "Contacto",
           "times": "Cuándo llamarle", "topic": "Tema", "question": "¿La envío al equipo?", "and": " y "},
}
# "Change something" says no to the summary as it stands (a "change" typed is understood too).
SUMMARY_BUTTONS = {
    "en": [{"title": "Confirm", "payload": "/affirm"}, {"title": "Change something", "payload": "/deny"},
           {"title": "Cancel", "payload": "/stop"}],
    "es": [{"title": "Confirmar", "payload": "/affirm"}, {"title": "Cambiar algo", "payload": "/deny"},
           {"title": "Cancelar", "payload": "/stop"}],
}
NEED_PHONE = Reason(
    "For an urgent call back I need a phone number, like 509-555-0147.",
    "Para una llamada urgente necesito un número de teléfono, por ejemplo 509-555-0147.",
)


def language_of(tracker: Tracker) -> str:
    return "es" if visitor_language(tracker) == "es" else "en"


def form_slots(urgent: bool) -> List[str]:
    return URGENT_FORM_SLOTS if urgent else FORM_SLOTS


def cleared_callback_slots() -> List[EventType]:
    names = FORM_SLOTS + [slot for derived in DERIVED_SLOTS.values() for slot in derived] + STATE_SLOTS
    return [SlotSet(name, None) for name in names]


class ActionStartCallback(Action):
    """Starts a call-back request afresh: urgent or not, a new id (one request, stored once), the intro."""

    def name(self) -> Text:
        return "action_start_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        urgent = intent == URGENT_INTENT or bool(tracker.get_slot("crisis_flagged"))
        dispatcher.utter_message(response="utter_urgent_callback_intro" if urgent else "utter_callback_intro")
        # While it is filled in, "cancel" and "change" concern the call-back, not a consultation request sent earlier.
        return cleared_callback_slots() + another_request_started() + [
            SlotSet("callback_urgent", urgent), SlotSet("callback_id", uuid.uuid4().hex)
        ]


class ValidateCallbackForm(ContactFormValidation):
    """Name, contact and times as the booking form checks them; urgent: name and a phone number only."""

    def name(self) -> Text:
        return "validate_callback_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        if tracker.get_slot(STUCK_SLOT):
            return []
        return form_slots(bool(tracker.get_slot("callback_urgent")))

    def contact_problem(self, phone: Any, email: Any, tracker: Tracker) -> Optional[str]:
        return NEED_PHONE if tracker.get_slot("callback_urgent") and not phone else None

    async def validate_callback_topic(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        checked = check_choice(value, TOPIC_CHOICES)
        if checked.problem:
            return self.rejected("callback_topic", checked.problem, dispatcher, tracker)
        return self.accepted("callback_topic", tracker, {"callback_topic": checked.value})


def summary_text(tracker: Tracker) -> str:
    language = language_of(tracker)
    words = SUMMARY_WORDS[language]
    lines = [
        words["intro"],
        f"• {words['name']}: {tracker.get_slot('full_name')}",
        f"• {words['contact']}: {shown_contact(tracker, words['and'])}",
        f"• {words['times']}: {shown_times(tracker, language)}",
    ]
    topic = TOPIC_LABELS[language].get(tracker.get_slot("callback_topic") or "")
    if topic:
        lines.append(f"• {words['topic']}: {topic}")
    return "\n".join(lines + [words["question"]])


def request_from(tracker: Tracker) -> Optional[CallbackRequest]:
    """The call-back to store, or None when none is complete."""
    urgent = bool(tracker.get_slot("callback_urgent"))
    if any(tracker.get_slot(slot) in (None, "") for slot in form_slots(urgent)) or not tracker.get_slot("callback_id"):
        return None
    phone, email = tracker.get_slot("phone"), tracker.get_slot("email")
    if not (phone or email) or (urgent and not phone):
        return None
    topic = tracker.get_slot("callback_topic")
    return CallbackRequest(
        idempotency_key=f"{tracker.sender_id}:callback:{tracker.get_slot('callback_id')}",
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "unknown",
        language=language_of(tracker),
        full_name=tracker.get_slot("full_name"),
        phone=phone,
        email=None if urgent else email,
        preferred_times="" if urgent else tracker.get_slot("preferred_times"),
        preferred_times_parsed=None if urgent else tracker.get_slot("preferred_times_parsed") or [],
        topic=None if urgent or topic == SKIP else topic,
        urgent=urgent,
    )


async def submit(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Stores the call-back once (staff are alerted from the store, in this worker thread) and shows the code."""
    request = request_from(tracker)
    if request is None:
        dispatcher.utter_message(response="utter_no_callback_in_progress")
        return []
    result = await asyncio.to_thread(get_store().submit, request)
    if request.urgent:
        response = "utter_urgent_callback_saved"
    else:
        response = "utter_callback_saved" if result.stored else "utter_callback_saved_later"
    dispatcher.utter_message(
        response=response, full_name=request.full_name, callback_reference=result.reference_code,
        callback_phone=request.phone,
    )
    # the call-back request is now the latest word: "change the time" or "cancel" concern it
    return cleared_callback_slots() + [
        SlotSet("callback_reference", result.reference_code),
        SlotSet("callback_submitted", True),
        SlotSet("booking_submitted", None),
    ]


class ActionCallbackSummary(Action):
    """After the form: the summary with confirm / change / cancel; an urgent call-back is stored at
    once instead; a form that got stuck offers a person."""

    def name(self) -> Text:
        return "action_callback_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if tracker.get_slot(STUCK_SLOT):
            dispatcher.utter_message(response="utter_callback_offer_person")
            return [
                SlotSet(STUCK_SLOT, None), SlotSet("handoff_reason", "callback_stuck")
            ] + earlier_request_in_view(tracker)
        if tracker.get_slot("callback_urgent"):
            return await submit(dispatcher, tracker)
        dispatcher.utter_message(
            text=summary_text(tracker), buttons=[dict(b) for b in SUMMARY_BUTTONS[language_of(tracker)]]
        )
        return [] if tracker.get_slot("callback_id") else [SlotSet("callback_id", uuid.uuid4().hex)]


class ActionSubmitCallback(Action):
    """Confirmed: stored once as a call-back (spooled while the database is down), code shown."""

    def name(self) -> Text:
        return "action_submit_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        return await submit(dispatcher, tracker)


class ActionChangeCallback(Action):
    """"Change something": asks which answer, clears it, and lets the form ask it again."""

    def name(self) -> Text:
        return "action_change_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if not tracker.get_slot("callback_id"):
            dispatcher.utter_message(response="utter_no_callback_in_progress")
            return []
        field = tracker.get_slot("booking_field")
        if field not in form_slots(bool(tracker.get_slot("callback_urgent"))):
            dispatcher.utter_message(response="utter_ask_callback_field")
            return [SlotSet("booking_field", None)]
        events = [SlotSet(name, None) for name in [field] + DERIVED_SLOTS.get(field, [])]
        events.append(SlotSet("booking_field", None))
        return events if tracker.active_loop_name else events + [FollowupAction("callback_form")]


def cancel(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Stops the form (if asking) and forgets the answers: nothing is sent."""
    dispatcher.utter_message(response="utter_callback_cancelled")
    stop_form = [ActiveLoop(None), SlotSet("requested_slot", None)]
    return stop_form + cleared_callback_slots() + earlier_request_in_view(tracker)


class ActionCancelCallback(Action):
    """"Cancel" confirmed inside the form, or at the summary: says the call-back request is cancelled."""

    def name(self) -> Text:
        return "action_cancel_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        return cancel(dispatcher, tracker)
