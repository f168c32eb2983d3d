"""Sample data for the staff console, without an assistant: conversations written as Rasa's SQL
tracker store writes them (the events in the order Rasa logs them, json.dumps, so a lone surrogate
is stored escaped), consultation and call-back requests, and handoff tickets.

Used by tests/test_console_staff_view.py (what staff see) and scripts/console_screenshots.py (the
screenshots in docs/screenshots/). Everything happened within the last two hours.
"""
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional

from sqlalchemy import create_engine, insert, update

from clinic.handoff_store import HandoffStore, HandoffTicket
from clinic.notifier import LogNotifier
from clinic.storage import (
    CallbackRequest,
    CallbackRequestRecord,
    ConsultationRequest,
    ConsultationRequestRecord,
    RequestStore,
)
from console.tracker import EVENTS

PASSWORD = "correct horse battery staple"
PHONE, EMAIL = "+15095550147", "maria.lopez@example.com"
HOSTILE = "<script>alert('x')</script> \ud800 <img src=x onerror=alert(2)>"
HOSTILE_TITLE = "<b>Yes</b> \udfff"
CHANGE_NOTE = "could we do Thursday afternoon instead? my cell is 509-555-0147"
CANCEL_NOTE = "=please cancel, I found a clinic closer to home <b>"
GREETING_BUTTONS = [("How does ketamine work?", "How does ketamine work on the brain?"),
                    ("Side effects", "What are the side effects?"),
                    ("Book a free consultation", "/book_consultation"),
                    ("Español", '/switch_language{"language": "es"}')]
HELP_WITH_BUTTONS = [("Anxiety", '/inform{"help_with": "anxiety"}'),
                     ("Depression", '/inform{"help_with": "depression"}'),
                     ("PTSD", '/inform{"help_with": "ptsd"}'),
                     ("Something else", '/inform{"help_with": "other"}')]
SUMMARY_BUTTONS = [("Confirm", "/affirm"), ("Change something", "/change_booking"), ("Cancel", "/stop")]


def event(sender: str, kind: str, at: float, **data) -> dict:
    """One row of Rasa's `events` table (for slots and actions Rasa puts the name in action_name)."""
    intent = (data.get("parse_data") or {}).get("intent", {}).get("name")
    return dict(sender_id=sender, type_name=kind, timestamp=at, intent_name=intent, action_name=data.get("name"),
                data=json.dumps({"event": kind, "timestamp": at, **data}))


def visitor(sender, text, intent, at, confidence=0.93, language=None, entities=(), crisis=None, **extra):
    parse = {"intent": {"name": intent, "confidence": confidence}, "text": text,
             "entities": [{"entity": name, "value": value} for name, value in entities]}
    if language:
        parse["language"] = {"name": language[0], "confidence": language[1]}
    if crisis:
        parse["crisis"] = crisis
    if intent == "faq":
        parse["response_selector"] = {"faq": {"response": {"intent_response_key": extra.pop("faq_key"),
                                                           "confidence": 0.96}}}
    return event(sender, "user", at, text=text, input_channel=extra.pop("channel", "socketio"), parse_data=parse,
                 **extra)


def bot(sender, text, at, buttons=(), response=None, staff=None):
    metadata = {"utter_action": response} if response else {}
    if staff:
        metadata["staff"] = staff
    return event(sender, "bot", at, text=text, data={"buttons": [{"title": t, "payload": p} for t, p in buttons]},
                 metadata=metadata)


def action(sender, name, at):
    return event(sender, "action", at, name=name, policy="RulePolicy", confidence=1.0)


def slot(sender, name, value, at):
    return event(sender, "slot", at, name=name, value=value)


def session_start(sender, at):
    return [action(sender, "action_session_start", at), event(sender, "session_started", at),
            slot(sender, "crisis_flagged", False, at), slot(sender, "disclaimer_shown", False, at),
            action(sender, "action_listen", at)]


def listen(sender, at):
    return action(sender, "action_listen", at)


def form_question(sender, slot_name, text, at, buttons=()):
    return [slot(sender, "requested_slot", slot_name, at), bot(sender, text, at, buttons, f"utter_ask_{slot_name}"),
            listen(sender, at)]


def booking_conversation(sender: str, at: float, reference: str) -> List[dict]:
    """An English visitor books through the form, clicking buttons for what they can."""
    return [
        *session_start(sender, at),
        visitor(sender, "hi there", "greet", at + 5, 0.91, ("en", 0.73)),
        slot(sender, "language", "en", at + 5),
        action(sender, "action_greet", at + 6),
        bot(sender, "Hi, I'm the clinic's virtual assistant. How can I help?", at + 6, GREETING_BUTTONS, "utter_greet"),
        listen(sender, at + 6),
        visitor(sender, "/book_consultation", "book_consultation", at + 20, 1.0),
        action(sender, "utter_booking_intro", at + 21),
        bot(sender, "I'd be glad to set up your free consultation. Five short questions.", at + 21, (),
            "utter_booking_intro"),
        action(sender, "booking_form", at + 21),
        event(sender, "active_loop", at + 21, name="booking_form"),
        *form_question(sender, "full_name", "First, what is your full name?", at + 21),
        visitor(sender, "Maria Lopez", "nlu_fallback", at + 40, 0.52, ("es", 0.75)),
        slot(sender, "full_name", "Maria Lopez", at + 40),
        action(sender, "booking_form", at + 41),
        *form_question(sender, "contact", "How can our team reach you?", at + 41),
        visitor(sender, f"call me at 509-555-0147 or {EMAIL}", "inform", at + 60, 0.9, ("en", 0.93)),
        slot(sender, "contact", PHONE, at + 60),
        action(sender, "booking_form", at + 61),
        *form_question(sender, "preferred_times", "Which days and times usually suit you?", at + 61),
        visitor(sender, "any morning", "nlu_fallback", at + 80, 0.41, ("en", 0.95)),
        slot(sender, "preferred_times", "any morning", at + 80),
        action(sender, "booking_form", at + 81),
        *form_question(sender, "help_with", "What would you like help with?", at + 81, HELP_WITH_BUTTONS),
        visitor(sender, '/inform{"help_with": "anxiety"}', "inform", at + 100, 1.0,
                entities=[("help_with", "anxiety")]),
        action(sender, "booking_form", at + 101),
        *form_question(sender, "consent_to_contact", "May our team contact you about this request?", at + 101,
                       [("Yes", "/affirm"), ("No", "/deny")]),
        visitor(sender, "/affirm", "affirm", at + 120, 1.0),
        action(sender, "booking_form", at + 121),
        slot(sender, "requested_slot", None, at + 121),
        event(sender, "active_loop", at + 121, name=None),
        action(sender, "action_booking_summary", at + 121),
        bot(sender, "Here's your request: Maria Lopez, weekday mornings, anxiety.", at + 121, SUMMARY_BUTTONS),
        listen(sender, at + 121),
        visitor(sender, "/affirm", "affirm", at + 140, 1.0),
        action(sender, "action_submit_booking", at + 141),
        bot(sender, f"Thank you, Maria Lopez. Your reference code is {reference}.", at + 141, (),
            "utter_booking_saved"),
        slot(sender, "booking_reference", reference, at + 141),
        listen(sender, at + 141),
        # a payload no button offered (typed, or from an old page): described in words
        visitor(sender, '/change_booking{"booking_field": "contact"}', "change_booking", at + 160, 1.0,
                entities=[("booking_field", "contact")]),
        action(sender, "action_change_booking", at + 161),
        bot(sender, "Your request is already with our team. What would you like to change?", at + 161),
        listen(sender, at + 161),
        visitor(sender, CHANGE_NOTE, "inform", at + 180, 0.88, ("en", 0.99)),
        action(sender, "action_add_request_note", at + 181),
        bot(sender, f"I've added that to your request {reference}.", at + 181),
        listen(sender, at + 181),
    ]


def spanish_conversation(sender: str, at: float) -> List[dict]:
    """A Spanish visitor: an FAQ, a question the assistant did not understand, a button to a person."""
    return [
        *session_start(sender, at),
        visitor(sender, "hola, buenas tardes", "greet", at + 5, 0.95, ("es", 0.99)),
        slot(sender, "language", "es", at + 5),
        action(sender, "action_greet", at + 6),
        bot(sender, "Hola, soy el asistente virtual de la clínica. ¿Qué le gustaría saber?", at + 6,
            [("Efectos secundarios", "cuales son los efectos secundarios"),
             ("Agendar una consulta gratuita", "/book_consultation"),
             ("English", '/switch_language{"language": "en"}')], "utter_greet"),
        listen(sender, at + 6),
        visitor(sender, "¿cuánto dura una sesión de ketamina?", "faq", at + 30, 0.97, ("es", 0.99),
                faq_key="faq/visit_length"),
        action(sender, "utter_faq", at + 31),
        bot(sender, "Una sesión dura unos 40 minutos, y se queda en observación un rato después.", at + 31, (),
            "utter_faq/visit_length"),
        listen(sender, at + 31),
        visitor(sender, "¿tienen estacionamiento para bicicletas?", "nlu_fallback", at + 60, 0.38, ("es", 0.98)),
        action(sender, "action_clarify", at + 61),
        bot(sender, "Quiero asegurarme de darle la respuesta correcta. ¿Quiso decir alguna de estas?", at + 61,
            [("Cómo llegar", "como llego a la clinica"), ("Hablar con una persona", "/request_human")],
            "utter_clarify"),
        listen(sender, at + 61),
        visitor(sender, "/request_human", "request_human", at + 90, 1.0),
        action(sender, "action_offer_handoff", at + 91),
        bot(sender, "Nuestro equipo no está disponible ahora. Puedo tomar una solicitud de llamada.", at + 91,
            [("Pedir una llamada", "/book_consultation"), ("No, gracias", "/deny")], "utter_handoff_closed"),
        listen(sender, at + 91),
    ]


def unclear_conversation(sender: str, at: float) -> List[dict]:
    """English messages the assistant did not understand, and one it rightly found out of scope."""
    return [
        *session_start(sender, at),
        visitor(sender, "do you do infusions for migraines?", "out_of_scope", at + 5, 0.81, ("en", 0.99)),
        slot(sender, "language", "en", at + 5),
        action(sender, "utter_out_of_scope", at + 6),
        bot(sender, "I can only help with questions about the clinic and its treatments.", at + 6, (),
            "utter_out_of_scope"),
        listen(sender, at + 6),
        visitor(sender, "write me a poem about cats", "out_of_scope", at + 30, 0.97, ("en", 0.95)),
        action(sender, "utter_out_of_scope", at + 31),
        bot(sender, "I can only help with questions about the clinic and its treatments.", at + 31, (),
            "utter_out_of_scope"),
        listen(sender, at + 31),
        visitor(sender, "is the parking lot free on saturdays", "nlu_fallback", at + 50, 0.44, ("en", 0.99)),
        action(sender, "action_clarify", at + 51),
        bot(sender, "I want to be sure I give you the right answer. Did you mean one of these?", at + 51,
            [("Office hours", "What are your office hours?"), ("Talk to a person", "/request_human")], "utter_clarify"),
        listen(sender, at + 51),
    ]


def hostile_conversation(sender: str, at: float) -> List[dict]:
    """Markup and a lone surrogate in a message, and in a button the visitor clicked."""
    return [
        *session_start(sender, at),
        visitor(sender, HOSTILE, "nlu_fallback", at + 5, 0.2),
        action(sender, "action_clarify", at + 6),
        bot(sender, "Did you mean one of these?", at + 6, [(HOSTILE_TITLE, "/affirm"), ("No", "/deny")],
            "utter_clarify"),
        listen(sender, at + 6),
        visitor(sender, "/affirm", "affirm", at + 20, 1.0),
        listen(sender, at + 21),
    ]


def handoff_conversation(sender: str, at: float, text: str, intent: str, language: str) -> List[dict]:
    """A visitor who asked for a person and is waiting (the assistant paused)."""
    return [
        *session_start(sender, at),
        visitor(sender, text, intent, at + 5, 0.95, (language, 0.98)),
        slot(sender, "language", language, at + 5),
        action(sender, "action_start_handoff", at + 6),
        bot(sender, "A person will join this chat as soon as possible." if language == "en" else
            "Una persona se unirá a este chat lo antes posible.", at + 6, (), "utter_handoff_started"),
        event(sender, "pause", at + 7),
        visitor(sender, "thanks, I'll wait" if language == "en" else "gracias, espero", "nlu_fallback", at + 30, 0.4,
                (language, 0.9)),
    ]


def crisis_conversation(sender: str, at: float) -> List[dict]:
    """A Spanish crisis message (the phrase list), the crisis response, a call-back asked for."""
    return [
        *session_start(sender, at),
        visitor(sender, "ya no puedo más, quiero morir", "crisis", at + 5, 1.0, ("es", 0.99),
                crisis={"tier": "sure", "score": 1.0, "reason": "pattern: es_want_to_die"}),
        slot(sender, "language", "es", at + 5),
        action(sender, "action_crisis_response", at + 6),
        bot(sender, "Si está en peligro, llame al 911. Puede llamar al 988 (marque 2 para español).", at + 6, (),
            "utter_crisis_response"),
        slot(sender, "crisis_flagged", True, at + 6),
        listen(sender, at + 6),
    ]


@dataclass
class Sample:
    tracker_url: str
    clinic_url: str
    conversations: Dict[str, str] = field(default_factory=dict)  # name -> conversation id
    references: Dict[str, str] = field(default_factory=dict)  # name -> reference code
    tickets: Dict[str, int] = field(default_factory=dict)  # name -> handoff ticket id


def build(folder: Path, now: Optional[float] = None) -> Sample:
    """Writes the sample tracker store and clinic database into `folder`."""
    folder = Path(folder)
    now = now or time.time()
    sample = Sample(f"sqlite:///{folder / 'tracker.db'}", f"sqlite:///{folder / 'clinic.db'}")
    ids = {name: f"sample-{name}" for name in ("booking", "spanish", "unclear", "hostile", "waiting", "urgent_handoff",
                                               "crisis", "callback")}
    sample.conversations = ids
    store = RequestStore(sample.clinic_url, folder / "spool.jsonl", LogNotifier())
    try:
        sample.references["booking"] = store.submit(ConsultationRequest(
            idempotency_key=f"{ids['booking']}:1", conversation_id=ids["booking"], channel="socketio",
            full_name="Maria Lopez", phone=PHONE, email=EMAIL, preferred_times="any morning", help_with="anxiety",
            consent_to_contact=True)).reference_code
        sample.references["no_consent"] = store.submit(ConsultationRequest(
            idempotency_key=f"{ids['unclear']}:1", conversation_id=ids["unclear"], channel="socketio",
            full_name="Sam O'Neil", phone="+15095550188", preferred_times="=1+1 evenings", help_with="other",
            consent_to_contact=False)).reference_code
        sample.references["callback"] = store.submit(CallbackRequest(
            idempotency_key=f"{ids['callback']}:1", conversation_id=ids["callback"], channel="socketio", language="en",
            full_name="Dana Whitfield", phone="+15095550123", preferred_times="after 5 pm",
            topic="billing")).reference_code
        sample.references["urgent_callback"] = store.submit(CallbackRequest(
            idempotency_key=f"{ids['crisis']}:1", conversation_id=ids["crisis"], channel="socketio", language="es",
            full_name="José Hernández", phone="+15095550199", urgent=True)).reference_code
        store.add_note(sample.references["booking"], "change", CHANGE_NOTE, ids["booking"])
        store.add_note(sample.references["no_consent"], "cancel", CANCEL_NOTE, ids["unclear"])
    finally:
        store.close()
    conversations = [
        booking_conversation(ids["booking"], now - 5400, sample.references["booking"]),
        spanish_conversation(ids["spanish"], now - 4800),
        unclear_conversation(ids["unclear"], now - 4200),
        hostile_conversation(ids["hostile"], now - 3600),
        crisis_conversation(ids["crisis"], now - 1500),
        handoff_conversation(ids["waiting"], now - 900, "can I talk to someone about prices?", "request_human", "en"),
        handoff_conversation(ids["urgent_handoff"], now - 1200, "necesito hablar con alguien ya", "request_human",
                             "es"),
        [*session_start(ids["callback"], now - 2400),
         visitor(ids["callback"], "please call me back about a bill", "request_human", now - 2395, 0.9, ("en", 0.99)),
         slot(ids["callback"], "language", "en", now - 2395)],
    ]
    engine = create_engine(sample.tracker_url)
    try:
        EVENTS.metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(insert(EVENTS), [row for rows in conversations for row in rows])
    finally:
        engine.dispose()
    handoffs = HandoffStore(sample.clinic_url)
    try:
        sample.tickets["waiting"] = handoffs.open_ticket(ids["waiting"], "socketio", "request_human").id
        sample.tickets["urgent"] = handoffs.open_ticket(ids["urgent_handoff"], "socketio", "crisis").id
    finally:
        handoffs.close_connections()
    # As if each had arrived when its conversation says.
    arrived = {
        (ConsultationRequestRecord, sample.references["booking"]): now - 5259,
        (ConsultationRequestRecord, sample.references["no_consent"]): now - 4000,
        (CallbackRequestRecord, sample.references["callback"]): now - 2390,
        (CallbackRequestRecord, sample.references["urgent_callback"]): now - 1480,
        (HandoffTicket, sample.tickets["waiting"]): now - 894,
        (HandoffTicket, sample.tickets["urgent"]): now - 1194,
    }
    engine = create_engine(sample.clinic_url)
    try:
        with engine.begin() as connection:
            for (table, key), at in arrived.items():
                column = table.id if table is HandoffTicket else table.reference_code
                moment = datetime.fromtimestamp(at, timezone.utc)
                connection.execute(update(table).where(column == key).values(created_at=moment, updated_at=moment))
    finally:
        engine.dispose()
    return sample
