"""Conversations in plain words, for front-desk staff.

Rasa's events speak developer: a button click is stored as its payload (`/affirm`,
`/inform{"help_with": "anxiety"}`), every turn holds internal events (action_session_start,
action_listen, slot sets) and every message its intent and confidence. Staff read instead:

- the visitor's words, and a button click as the button's title ("Confirm", "Anxiety"): the payload
  looked up among the buttons of the bot messages before it (the latest first), else described in
  words from its intent and entities (BUTTON_WORDS), never the raw payload;
- the assistant's and staff's words, with the buttons offered;
- a few notes in words where something happened that is not a message (a visitor waiting for a
  person, the assistant paused for staff and back, a consultation request sent, a language change);
- the technical detail (intent, confidence, FAQ answer, entities, the form question a message
  answered, the crisis detector's tier and pattern, the actions the assistant ran) apart, as
  (label, value) pairs that the transcript folds under "Details" for whoever improves the assistant.

Internal events (action_session_start, action_listen, slot sets, form bookkeeping) are not shown.
"""
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from console.tracker import FORM_SLOT, LANGUAGE_SLOT, LANGUAGES, Message, event_data, to_datetime, to_message

HIDDEN_ACTIONS = {"action_listen", "action_session_start"}
# Actions staff should know about, said in words in the transcript (the action's name stays in the details).
NOTE_ACTIONS = {
    "action_start_handoff": "The visitor asked for a person and is waiting in the live queue.",
    "action_submit_booking": "The consultation request was sent to the clinic.",
}
# System messages (Rasa's external intents), in words.
EXTERNAL_NOTES = {
    "EXTERNAL_handoff_ended": "Staff handed the conversation back to the assistant.",
    "EXTERNAL_handoff_timeout": "Nobody was free to take the chat in time; the assistant told the visitor.",
}
PAUSE_NOTE = "The assistant paused: a staff member is talking with the visitor."
RESUME_NOTE = "The assistant is back in the conversation."
# A button payload: "/intent" or "/intent{json}" (Rasa's format).
PAYLOAD = re.compile(r"/(?P<intent>[A-Za-z_][\w-]*)(?P<entities>\{.*\})?", re.S)
# What a button does, in words, when its title cannot be found (BUTTON_WORDS[intent], or per entity value).
BUTTON_WORDS = {
    "affirm": "Yes",
    "deny": "No",
    "book_consultation": "Book a consultation",
    "request_human": "Talk to a person",
    "stop": "Cancel",
    "change_booking": "Change something",
    "greet": "Hello",
    "thanks": "Thanks",
    "goodbye": "Goodbye",
    "inform": "An answer",
    "switch_language": "Change the language",
}
ENTITY_WORDS = {
    "help_with": ("Help with", {"anxiety": "Anxiety", "depression": "Depression", "ptsd": "PTSD",
                                "other": "Something else",
                                "prefer_to_say_at_consultation": "I'd prefer to say at the consultation"}),
    "booking_field": ("Change", {"full_name": "the name", "contact": "the contact details",
                                 "preferred_times": "the days and times", "help_with": "what it is about"}),
    "language": ("Language", LANGUAGES),
}
CLICKED = "Clicked a button"
# The booking form's questions, in words (the requested slot).
FORM_QUESTIONS = {
    "full_name": "their name", "contact": "how to reach them", "preferred_times": "the days and times that suit them",
    "help_with": "what they would like help with", "consent_to_contact": "whether the clinic may contact them",
}


@dataclass
class Entry:
    """One line of the transcript as staff read it."""

    id: int  # the event's row: the anchor #msg-<id>, and the crisis flags' message ids
    kind: str  # "visitor", "bot", "staff" or "note"
    time: datetime
    text: str  # what staff read: the visitor's words or the clicked button's title, a reply, a note
    message: Optional[Message] = None
    clicked: bool = False  # a button click: `text` is the button's title (or what it does)
    buttons: Tuple[str, ...] = ()  # the buttons a bot message offered (their titles)
    form_question: str = ""  # the form question a visitor message answered, in words
    details: List[Tuple[str, str]] = field(default_factory=list)  # technical detail, folded

    @property
    def staff(self) -> Optional[str]:
        return self.message.staff if self.message else None

    @property
    def replayed(self) -> bool:
        return bool(self.message and self.message.replayed)


def payload_parts(text: str) -> Optional[Tuple[str, Dict[str, str]]]:
    """(intent, entities) when the text is a button payload, e.g. ("inform", {"help_with": "anxiety"})."""
    found = PAYLOAD.fullmatch(text.strip())
    if not found:
        return None
    entities: Dict[str, str] = {}
    if found["entities"]:
        try:
            loaded = json.loads(found["entities"])
        except (ValueError, RecursionError):
            loaded = None
        if not isinstance(loaded, dict):
            return None
        entities = {str(key): value if isinstance(value, str) else json.dumps(value) for key, value in loaded.items()}
    return found["intent"], entities


def described(intent: str, entities: Dict[str, str]) -> str:
    """A button click in words when its title cannot be found, e.g. "Help with: Anxiety"."""
    for name, value in entities.items():
        if name in ENTITY_WORDS:
            label, values = ENTITY_WORDS[name]
            return f"{label}: {values.get(value, value.replace('_', ' '))}"
    return BUTTON_WORDS.get(intent, CLICKED)


def button_title(text: str, earlier_bot_messages: Sequence[Message]) -> Optional[str]:
    """The title of the button whose payload is `text`, among the buttons of the bot messages before
    it, the latest first; None when it is not a button click. A payload found on no button is
    described in words (described), never shown as it is."""
    payload = text.strip()
    if not payload:
        return None
    for bot in reversed(earlier_bot_messages):
        for title, button_payload in bot.button_payloads:
            if button_payload.strip() == payload and title.strip():
                return title
    parts = payload_parts(payload)
    return described(*parts) if parts else None


def _confidence(value: Optional[float]) -> str:
    return f"{value:.2f}" if value is not None else "–"


def visitor_details(
    message: Message, form: Optional[str], question: Optional[str], paused: bool
) -> List[Tuple[str, str]]:
    details = [("Intent", f"{message.intent or '–'} ({_confidence(message.confidence)})")]
    if message.faq_key:
        details.append(("FAQ answer", f"{message.faq_key} ({_confidence(message.faq_confidence)})"))
    if message.entities:
        details.append(("Entities", ", ".join(f"{name} = {value}" for name, value in message.entities)))
    if message.detected_language:
        code, confidence = message.detected_language
        details.append(("Language detected", f"{code} ({_confidence(confidence)})"))
    if form and question:
        details.append(("Form answer", f"{form}, requested slot {question}"))
    if paused:
        details.append(("Assistant", "paused (the visitor was talking with staff)"))
    if message.crisis:
        detected = message.crisis
        details.append(("Crisis detector", ", ".join(part for part in (
            f"tier {detected.tier}" if detected.tier else "",
            f"score {detected.score:.2f}" if detected.score is not None else "",
            detected.reason,
        ) if part) or "flagged"))
    if message.replayed:
        details.append(("Replayed", "after the crisis check-in was answered no"))
    return details


def plain_transcript(rows: Iterable) -> List[Entry]:
    """The transcript staff read, from a conversation's events in order (TrackerStore.events)."""
    entries: List[Entry] = []
    bots: List[Message] = []  # the bot messages so far, for button titles
    actions: List[str] = []  # actions since the last message, for the details of the reply they made
    form: Optional[str] = None
    question: Optional[str] = None
    paused = False
    language = ""

    def note(row, text: str, *details: Tuple[str, str]) -> None:
        entries.append(Entry(id=row.id, kind="note", time=to_datetime(row.timestamp or 0), text=text,
                             details=list(details)))

    def flush_actions() -> None:
        """Actions after which no message came: in the details of the last line."""
        if actions and entries:
            entries[-1].details.append(("Assistant actions", ", ".join(actions)))
        actions.clear()

    for row in rows:
        kind = row.type_name
        if kind == "user":
            flush_actions()
            message = to_message(row)
            if message is None:
                continue
            if message.external:
                note(row, EXTERNAL_NOTES.get(message.intent or "", "The system sent the assistant a signal."),
                     ("System intent", message.intent or "–"))
                continue
            title = None if message.replayed else button_title(message.text, bots)
            entry = Entry(id=message.id, kind="visitor", time=message.time, message=message,
                          text=title if title is not None else message.text, clicked=title is not None,
                          form_question=FORM_QUESTIONS.get(question or "", question or "") if form and question else "",
                          details=visitor_details(message, form, question, paused))
            entries.append(entry)
        elif kind == "bot":
            message = to_message(row)
            if message is None:
                continue
            details = []
            if actions:
                details.append(("Assistant actions", ", ".join(actions)))
                actions.clear()
            if message.response:
                details.append(("Response", message.response))
            entries.append(Entry(id=message.id, kind=message.kind, time=message.time, text=message.text,
                                 message=message, buttons=message.buttons, details=details))
            if message.kind == "bot":
                bots.append(message)
        elif kind == "action":
            name = row.action_name or ""
            if name in HIDDEN_ACTIONS or not name:
                continue
            if name in NOTE_ACTIONS:
                flush_actions()
                note(row, NOTE_ACTIONS[name], ("Assistant action", name))
            else:
                actions.append(name)
        elif kind == "pause":
            flush_actions()
            paused = True
            note(row, PAUSE_NOTE)
        elif kind == "resume":
            flush_actions()
            paused = False
            note(row, RESUME_NOTE)
        elif kind == "active_loop":
            form = row.action_name or None
            if form is None:
                question = None
        elif kind in ("session_started", "restart"):
            form = question = None
        elif kind == "slot":
            value = (event_data(row.data) or {}).get("value")
            if row.action_name == FORM_SLOT:
                question = value if isinstance(value, str) and value else None
            elif row.action_name == LANGUAGE_SLOT and value in LANGUAGES:
                if language and value != language:
                    flush_actions()
                    note(row, f"The conversation continues in {LANGUAGES[value]}.", ("Slot", f"language = {value}"))
                language = value
    flush_actions()
    return entries


def plain_messages(rows: Iterable) -> List[Entry]:
    """Only the messages (visitor, assistant, staff) of plain_transcript: the live handoff page and
    the CSV export."""
    return [entry for entry in plain_transcript(rows) if entry.kind != "note"]
