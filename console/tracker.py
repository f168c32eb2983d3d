"""Reading (and, for retention, deleting) conversations in Rasa's SQL tracker store.

Rasa keeps every event as one row of the table `events` (endpoints.yml): the columns used for
filtering (type_name, intent_name, action_name, timestamp) plus `data`, the whole event as JSON.
For slot events Rasa puts the slot's name in action_name.

Crisis detection has two tiers (actions/safety.py): a `crisis` message gets the crisis response
(action_crisis_response); a `possible_crisis` message gets a check-in question
(action_crisis_check_in), and the visitor's answer runs action_check_in_answer: "yes" or "not sure"
(read by clinic/check_in.py) gives the crisis response, "no" takes the check-in back (two `rewind`
events) and replays the original message with its ordinary intent (parse_data "crisis_check_in":
"no"). The flagged message's parse_data says why: `crisis`: {"tier": "sure" | "check", "score",
"reason"}. `crisis_history` reads this from a conversation's events, the columns to find them and
`event_data` for what they say.
"""
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, FrozenSet, Iterable, Iterator, List, Optional, Tuple

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    delete,
    func,
    inspect,
    or_,
    select,
)

from clinic.check_in import check_in_answer
from clinic.storage import create_engine_for

EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
E = EVENTS.c
MESSAGE_COLUMNS = (E.id, E.sender_id, E.type_name, E.timestamp, E.action_name, E.data)  # what to_message reads

# The channel names Rasa records as input_channel (credentials.yml).
CHANNELS = ("socketio", "rest", "facebook", "slack", "twilio", "telegram")
# What the assistant did in a conversation (in the order pages show them).
OUTCOME_LABELS = {
    "answered": "FAQ answered",
    "clarification": "Asked to rephrase",
    "out_of_scope": "Out of scope",
    "crisis": "Crisis",  # the crisis response (a crisis message, or "yes" to the check-in)
    "crisis_check_in": "Crisis check-in",  # the check-in question was asked, whatever the answer
    "handoff": "Handoff",
    "booking": "Booking",
}
# Outcomes found with SQL conditions on one event; the crisis outcomes are read from the
# conversation's crisis events (crisis_history).
OUTCOMES = {
    "answered": and_(E.type_name == "action", E.action_name == "utter_faq"),
    # The assistant asked the visitor to rephrase. Not every nlu_fallback message: an answer typed into
    # the booking form ("any morning") may be one, and the form takes it without asking again.
    "clarification": and_(E.type_name == "action", E.action_name == "action_clarify"),
    "out_of_scope": and_(E.type_name == "user", E.intent_name == "out_of_scope"),
    "handoff": and_(E.type_name == "action", E.action_name == "action_start_handoff"),
    "booking": and_(E.type_name == "action", E.action_name == "action_submit_booking"),
}
CRISIS_OUTCOMES = ("crisis", "crisis_check_in")
CRISIS_INTENT, POSSIBLE_CRISIS_INTENT = "crisis", "possible_crisis"
CRISIS_RESPONSE, CHECK_IN, CHECK_IN_ANSWER = (
    "action_crisis_response", "action_crisis_check_in", "action_check_in_answer"
)
CRISIS_FLAG = "crisis_flagged"  # the slot set with the crisis response
# Answers to the check-in that got the crisis response (clinic/check_in.py).
URGENT_ANSWERS = ("yes", "unsure")
# An event of a conversation that may hold a crisis or a check-in (read further by crisis_history).
# Not the crisis_flagged slot: every session starts by setting it (false, or true carried over), and
# it is only ever set true after a crisis message (the crisis response, the action server's
# fallback in rasa_server/message_guard.py) or a yes to the check-in.
CRISIS_EVENT = or_(
    and_(E.type_name == "user", E.intent_name.in_((CRISIS_INTENT, POSSIBLE_CRISIS_INTENT))),
    and_(E.type_name == "action", E.action_name.in_((CRISIS_RESPONSE, CHECK_IN, CHECK_IN_ANSWER))),
)
LANGUAGE_SLOT = "language"
LANGUAGES = {"en": "English", "es": "Español"}
UNKNOWN_LANGUAGE = "unknown"  # the language filter's value for conversations whose language is not yet clear
INBOX_INTENTS = ("nlu_fallback", "out_of_scope")
# Out of scope this sure is understood (the assistant said it cannot help with that, rightly): not
# for the improve inbox. Below it (never under FallbackClassifier's 0.75, which makes nlu_fallback)
# the message may be a question the assistant should know.
OUT_OF_SCOPE_SURE = 0.9
# A message's own detected language counts, for the inbox, when the conversation has none yet and
# the detector is this sure (short messages are often unclear: "hello" scores 0.62 Spanish).
DETECTED_LANGUAGE_SURE = 0.9
INBOX_SCAN = 5000  # the newest candidate messages the improve inbox reads
FORM_SLOT = "requested_slot"
# Events that tell whether a form question was waiting or the assistant was paused (a handoff).
FORM_STATE_EVENTS = ("active_loop", "session_started", "restart", "pause", "resume")
# A UTF-16 surrogate on its own: JSON can spell it ("\\ud800"), no page, CSV or database can hold it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
CHUNK = 500  # conversation ids per DELETE statement
# Actions counted on the overview page.
COUNTED_ACTIONS = {
    "action_start_handoff": "handoffs", "action_submit_booking": "bookings", CRISIS_RESPONSE: "crisis",
    CHECK_IN: "check_ins",
}


@dataclass(frozen=True)
class Detection:
    """Why the crisis detector flagged a message (its parse_data `crisis`)."""

    tier: str = ""  # "sure" (the crisis response) or "check" (the check-in question)
    score: Optional[float] = None  # 0.0-1.0
    reason: str = ""  # "classifier" or "pattern: <name>"


def detection(parse_data: dict) -> Optional[Detection]:
    """The crisis detector's verdict on a message, when it flagged it."""
    found = parse_data.get("crisis")
    if not isinstance(found, dict):
        return None
    tier, score, reason = found.get("tier"), found.get("score"), found.get("reason")
    return Detection(
        tier=tier if isinstance(tier, str) else "",
        score=float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
        reason=reason if isinstance(reason, str) else "",
    )


@dataclass(frozen=True)
class Message:
    """One transcript line: a visitor message, a bot or staff reply, or an action the assistant took."""

    id: int
    conversation_id: str
    kind: str  # visitor, bot, staff, action
    time: datetime
    text: str
    intent: Optional[str] = None
    confidence: Optional[float] = None
    faq_key: Optional[str] = None
    faq_confidence: Optional[float] = None
    staff: Optional[str] = None
    buttons: Tuple[str, ...] = ()
    channel: Optional[str] = None
    crisis: Optional[Detection] = None  # visitor messages the crisis detector flagged
    replayed: bool = False  # the message given again after the visitor said "no" to the check-in
    external: bool = False  # an intent the system sent (a handoff ended), not the visitor's words
    entities: Tuple[Tuple[str, str], ...] = ()  # visitor messages: (entity, value)
    detected_language: Optional[Tuple[str, Optional[float]]] = None  # the language detector's (code, confidence)
    button_payloads: Tuple[Tuple[str, str], ...] = ()  # bot messages: (title, payload) of each button
    response: Optional[str] = None  # bot messages: the response it came from, e.g. utter_faq/side_effects


@dataclass(frozen=True)
class CrisisEpisode:
    """A crisis message, or a possible crisis and its check-in, in a conversation."""

    kind: str  # "crisis" or "check_in"
    time: datetime  # when staff should have known: the crisis response, the "yes", else the message
    message_id: Optional[int]  # the visitor message that raised it
    detection: Optional[Detection] = None
    handled: bool = False  # the crisis response was given / the check-in question was asked
    answer: Optional[str] = None  # check-ins: "yes", "unsure", "no" (clinic/check_in.py), or None (not answered so)
    answer_id: Optional[int] = None  # the visitor's answer (or what the visitor wrote instead)

    @property
    def urgent(self) -> bool:
        """A crisis, or a check-in answered yes or not sure: what the live queue puts at the top."""
        return self.kind == "crisis" or self.answer in URGENT_ANSWERS


@dataclass(frozen=True)
class CrisisHistory:
    episodes: Tuple[CrisisEpisode, ...] = ()
    channel: str = ""

    @property
    def outcomes(self) -> FrozenSet[str]:
        found = set()
        if any(episode.urgent for episode in self.episodes):
            found.add("crisis")
        if any(episode.kind == "check_in" for episode in self.episodes):
            found.add("crisis_check_in")
        return frozenset(found)

    def after(self, moment: Optional[datetime], urgent_only: bool = False) -> List[CrisisEpisode]:
        """The episodes raised after `moment` (all when None), e.g. since the last staff review."""
        return [episode for episode in self.episodes
                if (episode.urgent or not urgent_only) and (moment is None or episode.time > moment)]


@dataclass
class ConversationSummary:
    conversation_id: str
    started: datetime
    last_active: datetime
    visitor_messages: int
    outcomes: FrozenSet[str]
    channel: str = ""
    preview: str = ""
    crisis: CrisisHistory = field(default_factory=CrisisHistory)
    language: str = ""  # "en", "es", or "" while not yet clear


@dataclass(frozen=True)
class Filters:
    text: str = ""
    start: Optional[float] = None  # epoch seconds, inclusive
    end: Optional[float] = None  # exclusive
    channel: str = ""
    outcome: str = ""
    conversation_id: str = ""
    language: str = ""  # "en", "es", UNKNOWN_LANGUAGE, or "" for any


@dataclass
class Activity:
    """What the overview counts: visitor messages and notable actions in a time range."""

    messages: List[Tuple[str, float, str, Optional[str]]] = field(default_factory=list)  # sender, time, intent, faq key
    actions: List[Tuple[float, str]] = field(default_factory=list)  # time, counted name


def to_datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)


def like_containing(raw: str) -> str:
    """A LIKE pattern (escape character backslash) matching text that contains `raw`."""
    return "%" + raw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def like_json(text: str) -> str:
    """A LIKE pattern for `text` as it appears inside JSON-encoded event data."""
    return like_containing(json.dumps(text)[1:-1])


def valid_text(value):
    """`value` with every lone surrogate, in any string inside it, replaced by U+FFFD."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {valid_text(key): valid_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [valid_text(item) for item in value]
    return value


def event_data(raw: Optional[str]) -> Optional[dict]:
    """A stored event's data, whatever is stored: every string valid Unicode (a visitor's lone surrogate
    becomes U+FFFD); None when it is not a JSON object. Every reading of `data` goes through here."""
    try:
        data = json.loads(raw or "{}")
    except (ValueError, RecursionError):
        return None
    return valid_text(data) if isinstance(data, dict) else None


def faq_answer(parse_data: dict) -> Tuple[Optional[str], Optional[float]]:
    """The FAQ answer chosen for a message and its confidence, e.g. ("faq/side_effects", 0.96), when
    its intent is `faq`; (None, None) otherwise."""
    intent = parse_data.get("intent") or {}
    if intent.get("name") != "faq":
        return None, None
    response = ((parse_data.get("response_selector") or {}).get("faq") or {}).get("response") or {}
    return response.get("intent_response_key") or intent.get("full_retrieval_intent_name"), response.get("confidence")


def _number(value) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _entities(parse: dict) -> Tuple[Tuple[str, str], ...]:
    found = parse.get("entities")
    if not isinstance(found, list):
        return ()
    return tuple((str(entity.get("entity", "")), str(entity.get("value", "")))
                 for entity in found if isinstance(entity, dict) and entity.get("entity"))


def _detected_language(parse: dict) -> Optional[Tuple[str, Optional[float]]]:
    found = parse.get("language")
    if isinstance(found, dict) and isinstance(found.get("name"), str):
        return found["name"], _number(found.get("confidence"))
    return None


def to_message(row) -> Optional[Message]:
    data = event_data(row.data)
    if data is None:
        return None
    base = dict(id=row.id, conversation_id=row.sender_id, time=to_datetime(row.timestamp or 0))
    if row.type_name == "user":
        parse = data.get("parse_data")
        parse = parse if isinstance(parse, dict) else {}
        intent = parse.get("intent")
        intent = intent if isinstance(intent, dict) else {}
        key, key_confidence = faq_answer(parse)
        metadata = data.get("metadata")
        return Message(
            kind="visitor", text=str(data.get("text") or ""), intent=intent.get("name"),
            confidence=_number(intent.get("confidence")), faq_key=key, faq_confidence=_number(key_confidence),
            channel=data.get("input_channel"), crisis=detection(parse),
            replayed=parse.get("crisis_check_in") == "no",
            external=isinstance(metadata, dict) and metadata.get("is_external") is True,
            entities=_entities(parse), detected_language=_detected_language(parse), **base,
        )
    if row.type_name == "bot":
        metadata = data.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        staff = metadata.get("staff")
        buttons = (data.get("data") or {}).get("buttons") if isinstance(data.get("data"), dict) else None
        buttons = [button for button in buttons if isinstance(button, dict)] if isinstance(buttons, list) else []
        response = metadata.get("utter_action") or metadata.get("template")
        return Message(
            kind="staff" if staff else "bot", text=str(data.get("text") or ""), staff=str(staff) if staff else None,
            buttons=tuple(str(button.get("title", "")) for button in buttons),
            button_payloads=tuple((str(button.get("title", "")), str(button.get("payload", ""))) for button in buttons),
            response=response if isinstance(response, str) else None, **base,
        )
    if row.type_name == "action" and row.action_name != "action_listen":
        return Message(kind="action", text=row.action_name or "", **base)
    if row.type_name in ("pause", "resume"):
        return Message(kind="action", text="bot paused" if row.type_name == "pause" else "bot resumed", **base)
    return None


@dataclass
class _Episode:
    """A CrisisEpisode while crisis_history reads on."""

    kind: str
    time: float
    message: Optional[Message]
    handled: bool = False
    answer: Optional[str] = None
    answer_id: Optional[int] = None

    def done(self) -> CrisisEpisode:
        return CrisisEpisode(
            kind=self.kind, time=to_datetime(self.time), message_id=self.message.id if self.message else None,
            detection=self.message.crisis if self.message else None, handled=self.handled, answer=self.answer,
            answer_id=self.answer_id,
        )


def crisis_history(rows) -> CrisisHistory:
    """A conversation's crisis messages and check-ins, from its events in order (rows of
    CRISIS_HISTORY_ROWS: visitor messages with their data, actions, crisis_flagged slots)."""
    episodes: List[_Episode] = []
    last_visitor: Optional[Message] = None
    check_in: Optional[_Episode] = None  # the check-in waiting for the visitor's answer
    answer: Optional[Message] = None  # the first visitor message after it
    flagged_at: Optional[float] = None
    channel = ""

    def raised_by(message: Optional[Message], kind: str, timestamp: float) -> _Episode:
        for episode in reversed(episodes):
            if episode.kind == kind and message is not None and episode.message is message:
                return episode
        episodes.append(_Episode(kind, timestamp, message))
        return episodes[-1]

    for row in rows:
        timestamp = row.timestamp or 0
        if row.type_name == "user":
            message = to_message(row)
            if message is None:
                continue
            channel = channel or message.channel or ""
            if message.replayed:  # the original message again, after "no": not the visitor's doing
                continue
            if check_in is not None:
                if answer is None:
                    answer = message
                else:  # a second message: the check-in was not answered with yes or no
                    check_in.answer_id, check_in, answer = answer.id, None, None
            last_visitor = message
            if row.intent_name == CRISIS_INTENT:
                raised_by(message, "crisis", timestamp)
            elif row.intent_name == POSSIBLE_CRISIS_INTENT:
                raised_by(message, "check_in", timestamp)
        elif row.type_name == "action" and row.action_name != "action_listen":
            if check_in is not None and answer is not None:  # what the assistant did with the answer
                if row.action_name == CHECK_IN_ANSWER and answer is last_visitor:
                    said = check_in_answer(answer.text, answer.intent)  # as the assistant read it
                    check_in.answer = None if said == "other" else said
                    if check_in.answer in URGENT_ANSWERS:
                        check_in.time = timestamp
                check_in.answer_id, check_in, answer = answer.id, None, None
            if row.action_name == CRISIS_RESPONSE:
                episode = raised_by(last_visitor, "crisis", timestamp)
                episode.handled, episode.time = True, timestamp
            elif row.action_name == CHECK_IN:
                episode = raised_by(last_visitor, "check_in", timestamp)
                episode.handled, check_in, answer = True, episode, None
        elif row.type_name == "slot" and row.action_name == CRISIS_FLAG and flagged_at is None:
            if (event_data(row.data) or {}).get("value") is True:
                flagged_at = timestamp
    if flagged_at is not None and not any(
        episode.kind == "crisis" or episode.answer in URGENT_ANSWERS for episode in episodes
    ):
        # Flagged without a crisis message we can point to (e.g. an older conversation): still a crisis.
        episodes.append(_Episode("crisis", flagged_at, None, handled=True))
    return CrisisHistory(tuple(episode.done() for episode in episodes), channel)


# What crisis_history reads: every visitor message and action, and the crisis_flagged slot.
CRISIS_HISTORY_ROWS = or_(
    E.type_name.in_(("user", "action")), and_(E.type_name == "slot", E.action_name == CRISIS_FLAG),
)


@dataclass
class MessageState:
    """A visitor message's place in its conversation (message_states)."""

    form_question: Optional[str] = None  # the question a form was waiting for an answer to (a slot)
    paused: bool = False  # the assistant was paused: the visitor was talking with staff
    language: str = ""  # the conversation's language once the message was read ("" when not clear)


def message_states(rows, message_ids: Iterable[int]) -> Dict[int, MessageState]:
    """The state of the given visitor messages, from the conversation's events in order (user
    messages, active_loop, requested_slot and language slots, pause/resume, session starts). Rasa
    sets the language slot right after the message it read, so a message's language is the last
    value set before the next visitor message."""
    wanted = set(message_ids)
    states: Dict[int, MessageState] = {}
    form, question, paused, language = None, None, False, ""
    current: Optional[MessageState] = None  # the last visitor message, until the next one
    for row in rows:
        kind = row.type_name
        if kind == "user":
            current = None
            if row.id in wanted:
                current = states[row.id] = MessageState(
                    form_question=question if form and question else None, paused=paused, language=language)
        elif kind == "active_loop":
            form = row.action_name or None
            if form is None:
                question = None
        elif kind in ("session_started", "restart"):
            form = question = None
            paused = paused and kind != "restart"
        elif kind == "pause":
            paused = True
        elif kind == "resume":
            paused = False
        elif kind == "slot":
            value = (event_data(row.data) or {}).get("value")
            if row.action_name == FORM_SLOT:
                question = value if isinstance(value, str) and value else None
            elif row.action_name == LANGUAGE_SLOT and value in LANGUAGES:
                language = value
                if current is not None:
                    current.language = value
    return states


def _may_be_misunderstood(message: Message) -> bool:
    """A visitor's own words the assistant could not place (before looking at the conversation)."""
    if message.external or message.replayed or message.text.startswith("/"):
        return False
    if message.intent == "out_of_scope":
        return message.confidence is None or message.confidence < OUT_OF_SCOPE_SURE
    return message.intent in INBOX_INTENTS


def _sure_detection(message: Message) -> str:
    """The message's own detected language, when the detector was sure of it."""
    found = message.detected_language
    if found and found[0] in LANGUAGES and found[1] is not None and found[1] >= DETECTED_LANGUAGE_SURE:
        return found[0]
    return ""


class TrackerStore:
    def __init__(self, url: str) -> None:
        self._engine = create_engine_for(url)
        self._table_exists = False
        self._lock = threading.Lock()

    def _ready(self) -> bool:
        """False until Rasa has created its table (no conversation yet)."""
        with self._lock:
            if not self._table_exists:
                self._table_exists = inspect(self._engine).has_table("events")
            return self._table_exists

    def _rows(self, query) -> list:
        if not self._ready():
            return []
        with self._engine.connect() as connection:
            return connection.execute(query).all()

    def _messages(self, query) -> List[Message]:
        return [message for message in map(to_message, self._rows(query)) if message]

    # ---- conversations

    def conversations(self, filters: Filters) -> List[ConversationSummary]:
        """Every conversation with a visitor message matching the filters, most recent first."""
        flags = [func.max(case((condition, 1), else_=0)).label(name) for name, condition in OUTCOMES.items()]
        crisis_events = func.max(case((CRISIS_EVENT, 1), else_=0))
        visitor_messages = func.sum(case((E.type_name == "user", 1), else_=0))
        query = (
            select(E.sender_id, func.min(E.timestamp), func.max(E.timestamp), visitor_messages, crisis_events, *flags)
            .group_by(E.sender_id)
            .having(visitor_messages > 0)
            .order_by(func.max(E.timestamp).desc())
        )
        if filters.start is not None:
            query = query.having(func.max(E.timestamp) >= filters.start)
        if filters.end is not None:
            query = query.having(func.min(E.timestamp) < filters.end)
        if filters.outcome in OUTCOMES:
            query = query.having(func.max(case((OUTCOMES[filters.outcome], 1), else_=0)) == 1)
        elif filters.outcome:
            query = query.having(crisis_events == 1)
        if filters.channel:
            query = query.where(E.sender_id.in_(self._senders_on_channel(filters.channel)))
        if filters.conversation_id:
            query = query.where(E.sender_id == filters.conversation_id)
        rows = self._rows(query)
        histories = self.crisis_histories([row[0] for row in rows if row[4]])
        summaries = [self._summary(histories, *row) for row in rows]
        if filters.outcome in CRISIS_OUTCOMES:
            summaries = [summary for summary in summaries if filters.outcome in summary.outcomes]
        if filters.text:
            matching = self._senders_saying(filters.text)
            summaries = [summary for summary in summaries if summary.conversation_id in matching]
        if filters.language:
            found = self.languages(summary.conversation_id for summary in summaries)
            wanted = "" if filters.language == UNKNOWN_LANGUAGE else filters.language
            summaries = [summary for summary in summaries if found.get(summary.conversation_id, "") == wanted]
            for summary in summaries:
                summary.language = wanted
        return summaries

    @staticmethod
    def _summary(histories: Dict[str, CrisisHistory], sender: str, first: float, last: float, count: int,
                 crisis_events: int, *flags: int) -> ConversationSummary:
        history = histories.get(sender, CrisisHistory())
        outcomes = frozenset(name for name, flag in zip(OUTCOMES, flags, strict=True) if flag) | history.outcomes
        return ConversationSummary(sender, to_datetime(first), to_datetime(last), int(count), outcomes, crisis=history)

    # ---- crises

    def crisis_histories(self, conversation_ids: Iterable[str]) -> Dict[str, CrisisHistory]:
        """The crisis messages and check-ins of these conversations (those with none are left out)."""
        ids = sorted(set(conversation_ids))
        histories = {}
        columns = (E.id, E.sender_id, E.type_name, E.timestamp, E.intent_name, E.action_name,
                   case((E.type_name == "action", None), else_=E.data).label("data"))
        for sender, events in self._events_by_conversation(ids, columns, CRISIS_HISTORY_ROWS):
            history = crisis_history(events)
            if history.episodes:
                histories[sender] = history
        return histories

    def _events_by_conversation(
        self, conversation_ids: List[str], columns: tuple, condition: Any
    ) -> Iterator[Tuple[str, list]]:
        """Each conversation's events matching `condition`, oldest first, as (conversation id, rows),
        read CHUNK conversations at a time (a database limits the parameters of one query)."""
        for start in range(0, len(conversation_ids), CHUNK):
            rows = self._rows(
                select(*columns)
                .where(E.sender_id.in_(conversation_ids[start:start + CHUNK]), condition)
                .order_by(E.sender_id, E.id)
            )
            by_sender: Dict[str, list] = {}
            for row in rows:
                by_sender.setdefault(row.sender_id, []).append(row)
            yield from by_sender.items()

    def crisis_candidates(self) -> Dict[str, float]:
        """Every conversation with a crisis event, and the time of its latest one (epoch seconds):
        a conversation reviewed after that needs no further reading."""
        query = select(E.sender_id, func.max(E.timestamp)).where(CRISIS_EVENT).group_by(E.sender_id)
        return {sender: latest or 0 for sender, latest in self._rows(query)}

    def languages(self, conversation_ids: Iterable[str]) -> Dict[str, str]:
        """Each conversation's language ("en" or "es", slot `language`), when it is known."""
        ids = sorted(set(conversation_ids))
        found: Dict[str, str] = {}
        for start in range(0, len(ids), CHUNK):
            rows = self._rows(
                select(E.sender_id, E.data)
                .where(E.type_name == "slot", E.action_name == LANGUAGE_SLOT, E.sender_id.in_(ids[start:start + CHUNK]))
                .order_by(E.id)
            )
            for sender, data in rows:
                value = (event_data(data) or {}).get("value")
                found[sender] = value if value in LANGUAGES else ""
        return {sender: value for sender, value in found.items() if value}

    @staticmethod
    def _senders_on_channel(channel: str):
        return select(E.sender_id).where(
            E.type_name == "user", E.data.like(like_containing(f'"input_channel": "{channel}"'), escape="\\")
        )

    def _senders_saying(self, text: str) -> set:
        """Conversations in which the visitor, the bot or staff wrote `text` (case-insensitive)."""
        query = select(*MESSAGE_COLUMNS).where(
            E.type_name.in_(("user", "bot")), E.data.ilike(like_json(text), escape="\\")
        )
        needle = text.casefold()
        return {message.conversation_id for message in self._messages(query) if needle in message.text.casefold()}

    def add_details(self, summaries: Iterable[ConversationSummary]) -> None:
        """Fills in each conversation's channel, first visitor message and language."""
        by_id = {summary.conversation_id: summary for summary in summaries}
        if not by_id:
            return
        for conversation_id, language in self.languages(by_id).items():
            by_id[conversation_id].language = language
        first_ids = (
            select(func.min(E.id)).where(E.type_name == "user", E.sender_id.in_(list(by_id))).group_by(E.sender_id)
        )
        query = select(*MESSAGE_COLUMNS).where(E.id.in_(first_ids))
        for message in self._messages(query):
            by_id[message.conversation_id].channel = message.channel or ""
            by_id[message.conversation_id].preview = message.text

    def events(self, conversation_id: str, after_id: int = 0) -> list:
        """The conversation's events in order, as stored (rows with type_name, action_name and data):
        what console/plain.py turns into the transcript staff read."""
        query = (
            select(E.id, E.sender_id, E.type_name, E.timestamp, E.intent_name, E.action_name, E.data)
            .where(E.sender_id == conversation_id, E.id > after_id, E.type_name != "user_featurization")
            .order_by(E.id)
        )
        return self._rows(query)

    def slot_values(self, conversation_id: str, slot: str) -> List[object]:
        """Every value the conversation's slot was set to, in order (e.g. booking_reference)."""
        rows = self._rows(
            select(E.data).where(E.sender_id == conversation_id, E.type_name == "slot", E.action_name == slot)
            .order_by(E.id)
        )
        return [(event_data(data) or {}).get("value") for data, in rows]

    def transcript(self, conversation_id: str, after_id: int = 0) -> List[Message]:
        query = (
            select(*MESSAGE_COLUMNS)
            .where(E.sender_id == conversation_id, E.id > after_id)
            .order_by(E.id)
        )
        return self._messages(query)

    def exists(self, conversation_id: str) -> bool:
        return bool(self._rows(select(E.id).where(E.sender_id == conversation_id).limit(1)))

    def messages_between(self, start: float, end: float) -> List[Message]:
        """Visitor, bot and staff messages in a time range, by conversation then time (CSV export)."""
        query = (
            select(*MESSAGE_COLUMNS)
            .where(E.type_name.in_(("user", "bot")), E.timestamp >= start, E.timestamp < end)
            .order_by(E.sender_id, E.id)
        )
        return self._messages(query)

    def event_rows_between(self, start: float, end: float) -> list:
        """Visitor, bot and staff message events in a time range, by conversation then time (the CSV
        export reads them through console/plain.py, a button click as its title)."""
        query = (
            select(E.id, E.sender_id, E.type_name, E.timestamp, E.intent_name, E.action_name, E.data)
            .where(E.type_name.in_(("user", "bot")), E.timestamp >= start, E.timestamp < end)
            .order_by(E.sender_id, E.id)
        )
        return self._rows(query)

    # ---- improving the assistant

    def unrecognised(self, limit: int, language: Optional[str] = None) -> List[Message]:
        """Visitor messages the assistant did not understand, newest first: those that fell to
        clarification (nlu_fallback), and those out of scope below OUT_OF_SCOPE_SURE. Not the answers
        typed into a form (a form was active and had asked a question: a name, "any morning"), not
        messages to staff while the assistant was paused, not button clicks or system messages.
        `language` ("en", "es", UNKNOWN_LANGUAGE) keeps only those of that language (inbox_language)."""
        return [message for message, found in self.inbox(limit, language)]

    def inbox(self, limit: int, language: Optional[str] = None) -> List[Tuple[Message, str]]:
        """unrecognised() with each message's language ("en", "es" or "" when not clear)."""
        query = (
            select(*MESSAGE_COLUMNS)
            .where(E.type_name == "user", E.intent_name.in_(INBOX_INTENTS))
            .order_by(E.id.desc())
            .limit(INBOX_SCAN)
        )
        candidates = [message for message in self._messages(query) if _may_be_misunderstood(message)]
        states = self._message_states(candidates)
        found = []
        for message in candidates:
            state = states.get(message.id)
            if state is None or state.form_question or state.paused:
                continue
            message_language = state.language or _sure_detection(message)
            if language is not None and message_language != ("" if language == UNKNOWN_LANGUAGE else language):
                continue
            found.append((message, message_language))
            if len(found) >= limit:
                break
        return found

    def _message_states(self, messages: List[Message]) -> Dict[int, "MessageState"]:
        """Where each visitor message stood in its conversation: a form question waiting, the
        assistant paused, and the conversation's language once the message was read."""
        wanted: Dict[str, set] = {}
        for message in messages:
            wanted.setdefault(message.conversation_id, set()).add(message.id)
        states: Dict[int, MessageState] = {}
        senders = sorted(wanted)
        context = or_(
            E.type_name.in_(FORM_STATE_EVENTS + ("user",)),
            and_(E.type_name == "slot", E.action_name.in_((FORM_SLOT, LANGUAGE_SLOT))),
        )
        columns = (E.id, E.sender_id, E.type_name, E.action_name,
                   case((E.type_name == "slot", E.data), else_=None).label("data"))
        for sender, events in self._events_by_conversation(senders, columns, context):
            states.update(message_states(events, wanted[sender]))
        return states

    def language_at(self, message: Message) -> str:
        """The conversation's language when `message` was read ("" when not clear), as the inbox says."""
        state = self._message_states([message]).get(message.id)
        return (state.language if state else "") or _sure_detection(message)

    def unrecognised_message(self, event_id: int) -> Optional[Message]:
        query = select(*MESSAGE_COLUMNS).where(
            E.id == event_id, E.type_name == "user", E.intent_name.in_(INBOX_INTENTS)
        )
        return next(iter(self._messages(query)), None)

    # ---- overview

    def activity(self, start: float, end: float) -> Activity:
        in_range = and_(E.timestamp >= start, E.timestamp < end)
        activity = Activity()
        user_rows = self._rows(
            select(E.sender_id, E.timestamp, E.intent_name, case((E.intent_name == "faq", E.data), else_=None))
            .where(E.type_name == "user", in_range)
        )
        for sender, timestamp, intent, data in user_rows:
            key = faq_answer((event_data(data) or {}).get("parse_data") or {})[0] if data else None
            activity.messages.append((sender, timestamp, intent or "", key))
        action_rows = self._rows(
            select(E.timestamp, E.action_name).where(
                E.type_name == "action", E.action_name.in_(COUNTED_ACTIONS), in_range
            )
        )
        activity.actions = [(timestamp, COUNTED_ACTIONS[name]) for timestamp, name in action_rows]
        # "Yes" or "not sure" to a check-in (the crisis response): the answer action and the visitor
        # message before it, read as the assistant read it (clinic/check_in.py).
        visitor = EVENTS.alias("visitor")
        answered_by = (
            select(visitor.c.id)
            .where(visitor.c.sender_id == E.sender_id, visitor.c.type_name == "user", visitor.c.id < E.id)
            .order_by(visitor.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        answer_rows = self._rows(
            select(E.timestamp, answered_by).where(E.type_name == "action", E.action_name == CHECK_IN_ANSWER, in_range)
        )
        answers = {
            message.id: message
            for message in self._messages(select(*MESSAGE_COLUMNS).where(E.id.in_([row[1] for row in answer_rows])))
        }
        activity.actions += [
            (timestamp, "crisis")
            for timestamp, answer_id in answer_rows
            if answer_id in answers
            and check_in_answer(answers[answer_id].text, answers[answer_id].intent) in URGENT_ANSWERS
        ]
        return activity

    # ---- retention

    def stale_conversations(self, cutoff: float) -> Dict[str, int]:
        """Conversations whose last event is older than `cutoff`, with their number of events."""
        query = select(E.sender_id, func.count()).group_by(E.sender_id).having(func.max(E.timestamp) < cutoff)
        return {sender: count for sender, count in self._rows(query)}

    def delete_events_before(self, conversation_ids: List[str], cutoff: float) -> int:
        """Deletes the conversations' events older than `cutoff` (an event written meanwhile stays)."""
        if not conversation_ids or not self._ready():
            return 0
        deleted = 0
        with self._engine.begin() as connection:
            for start in range(0, len(conversation_ids), CHUNK):
                chunk = conversation_ids[start:start + CHUNK]
                deleted += connection.execute(
                    delete(EVENTS).where(E.sender_id.in_(chunk), E.timestamp < cutoff)
                ).rowcount
        return deleted

    def close(self) -> None:
        self._engine.dispose()
