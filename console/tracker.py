"""Reading (and, for retention, deleting) conversations in Rasa's SQL tracker store.

Rasa keeps every event as one row of the table `events` (endpoints.yml): the columns used for
filtering (type_name, intent_name, action_name, timestamp) plus `data`, the whole event as JSON.
For slot events Rasa puts the slot's name in action_name.
"""
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, and_, case, delete, func, inspect, or_, select

from actions.storage import create_engine_for

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
# What the assistant did in a conversation, as SQL conditions on one event.
OUTCOME_LABELS = {
    "answered": "FAQ answered",
    "clarification": "Clarification (fallback)",
    "out_of_scope": "Out of scope",
    "crisis": "Crisis",
    "handoff": "Handoff",
    "booking": "Booking",
}
OUTCOMES = {
    "answered": and_(E.type_name == "action", E.action_name == "utter_faq"),
    "clarification": or_(
        and_(E.type_name == "user", E.intent_name == "nlu_fallback"),
        and_(E.type_name == "action", E.action_name == "action_clarify"),
    ),
    "out_of_scope": and_(E.type_name == "user", E.intent_name == "out_of_scope"),
    "crisis": or_(
        and_(E.type_name == "user", E.intent_name == "crisis"),
        and_(E.type_name == "action", E.action_name == "action_crisis_response"),
        and_(E.type_name == "slot", E.action_name == "crisis_flagged", E.data.like('%"value": true%')),
    ),
    "handoff": and_(E.type_name == "action", E.action_name == "action_start_handoff"),
    "booking": and_(E.type_name == "action", E.action_name == "action_submit_booking"),
}
INBOX_INTENTS = ("nlu_fallback", "out_of_scope")
# A UTF-16 surrogate on its own: JSON can spell it ("\\ud800"), no page, CSV or database can hold it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
CHUNK = 500  # conversation ids per DELETE statement
# Actions counted on the overview page.
COUNTED_ACTIONS = {"action_start_handoff": "handoffs", "action_submit_booking": "bookings", "action_crisis_response": "crisis"}


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


@dataclass
class ConversationSummary:
    conversation_id: str
    started: datetime
    last_active: datetime
    visitor_messages: int
    outcomes: FrozenSet[str]
    channel: str = ""
    preview: str = ""
    crisis_reviewed: bool = False


@dataclass(frozen=True)
class Filters:
    text: str = ""
    start: Optional[float] = None  # epoch seconds, inclusive
    end: Optional[float] = None  # exclusive
    channel: str = ""
    outcome: str = ""
    conversation_id: str = ""


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


def to_message(row) -> Optional[Message]:
    data = event_data(row.data)
    if data is None:
        return None
    base = dict(id=row.id, conversation_id=row.sender_id, time=to_datetime(row.timestamp or 0))
    if row.type_name == "user":
        parse = data.get("parse_data") or {}
        intent = parse.get("intent") or {}
        key, key_confidence = faq_answer(parse)
        return Message(
            kind="visitor", text=str(data.get("text") or ""), intent=intent.get("name"),
            confidence=intent.get("confidence"), faq_key=key, faq_confidence=key_confidence,
            channel=data.get("input_channel"), **base,
        )
    if row.type_name == "bot":
        staff = (data.get("metadata") or {}).get("staff")
        buttons = ((data.get("data") or {}).get("buttons")) or []
        return Message(
            kind="staff" if staff else "bot", text=str(data.get("text") or ""), staff=staff,
            buttons=tuple(str(button.get("title", "")) for button in buttons if isinstance(button, dict)), **base,
        )
    if row.type_name == "action" and row.action_name != "action_listen":
        return Message(kind="action", text=row.action_name or "", **base)
    if row.type_name in ("pause", "resume"):
        return Message(kind="action", text="bot paused" if row.type_name == "pause" else "bot resumed", **base)
    return None


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
        visitor_messages = func.sum(case((E.type_name == "user", 1), else_=0))
        query = (
            select(E.sender_id, func.min(E.timestamp), func.max(E.timestamp), visitor_messages, *flags)
            .group_by(E.sender_id)
            .having(visitor_messages > 0)
            .order_by(func.max(E.timestamp).desc())
        )
        if filters.start is not None:
            query = query.having(func.max(E.timestamp) >= filters.start)
        if filters.end is not None:
            query = query.having(func.min(E.timestamp) < filters.end)
        if filters.outcome:
            query = query.having(func.max(case((OUTCOMES[filters.outcome], 1), else_=0)) == 1)
        if filters.channel:
            query = query.where(E.sender_id.in_(self._senders_on_channel(filters.channel)))
        if filters.conversation_id:
            query = query.where(E.sender_id == filters.conversation_id)
        summaries = [self._summary(*row) for row in self._rows(query)]
        if filters.text:
            matching = self._senders_saying(filters.text)
            summaries = [summary for summary in summaries if summary.conversation_id in matching]
        return summaries

    @staticmethod
    def _summary(sender: str, first: float, last: float, count: int, *flags: int) -> ConversationSummary:
        outcomes = frozenset(name for name, flag in zip(OUTCOMES, flags) if flag)
        return ConversationSummary(sender, to_datetime(first), to_datetime(last), int(count), outcomes)

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
        """Fills in each conversation's channel and first visitor message."""
        by_id = {summary.conversation_id: summary for summary in summaries}
        if not by_id:
            return
        first_ids = (
            select(func.min(E.id)).where(E.type_name == "user", E.sender_id.in_(list(by_id))).group_by(E.sender_id)
        )
        query = select(*MESSAGE_COLUMNS).where(E.id.in_(first_ids))
        for message in self._messages(query):
            by_id[message.conversation_id].channel = message.channel or ""
            by_id[message.conversation_id].preview = message.text

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

    # ---- improving the assistant

    def unrecognised(self, limit: int) -> List[Message]:
        """Visitor messages that fell to clarification or out of scope, newest first."""
        query = (
            select(*MESSAGE_COLUMNS)
            .where(E.type_name == "user", E.intent_name.in_(INBOX_INTENTS))
            .order_by(E.id.desc())
            .limit(limit)
        )
        return self._messages(query)

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
            select(E.timestamp, E.action_name).where(E.type_name == "action", E.action_name.in_(COUNTED_ACTIONS), in_range)
        )
        activity.actions = [(timestamp, COUNTED_ACTIONS[name]) for timestamp, name in action_rows]
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
                deleted += connection.execute(delete(EVENTS).where(E.sender_id.in_(chunk), E.timestamp < cutoff)).rowcount
        return deleted

    def close(self) -> None:
        self._engine.dispose()
