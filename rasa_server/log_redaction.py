"""Visitor text kept out of the Rasa server's logs, whatever logger writes it.

Our own code logs conversation ids and events, never message text (SECURITY.md), but Rasa does
not hold to that: its payload parser warns with the whole line when a message starting with "/"
is not a valid `/intent{...}` payload ("Failed to parse arguments in line '/call me at
509-555-0199'..."), and an error message can quote what it failed on. So every log record made
in the Rasa server process, by any logger (Rasa's, Sanic's, structlog's, Python warnings, ours),
passes through VisitorTextFilter as it is made:

- while a visitor's message is being handled (rasa_server.message_guard registers its text here),
  that text, and any run of at least MIN_SHARED_RUN characters the record shares with it, is
  replaced by "[visitor text]", in the message and in a traceback;
- Rasa's payload-parser warnings lose the line they quote wherever the text came from (the HTTP
  API's /model/parse too), and so do structlog's `user_text` fields.

Registered texts are shared by all threads (the NLU runs in a worker thread): a record made while
two messages are in flight is cleaned of both.
"""
import json
import logging
import re
import threading
from contextlib import contextmanager
from difflib import SequenceMatcher
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

MARK = "[visitor text]"
# Shorter runs are common words and punctuation ("the ", " is "); contact details are longer.
MIN_SHARED_RUN = 5
# A whole message this short is not searched for on its own ("ok", "no").
MIN_WHOLE_TEXT = 3
# Records longer than this (tracker dumps at DEBUG) are cleaned of exact copies only.
MAX_SEARCHED_CHARS = 20_000

# Rasa's payload-parser warnings all quote the line: "Failed to parse arguments in line '...'".
PAYLOAD_PARSER_WARNING = re.compile(r"\b(?:Failed|Invalid) to parse arguments in line '")
PAYLOAD_PARSER_NOTICE = (
    "Rasa could not read a message starting with \"/\" as an intent payload; it was handled as text "
    f"(the message is left out of the log: {MARK})."
)
# structlog's JSON rendering of a `user_text` field (Rasa's "message.parsing.failed").
STRUCTLOG_USER_TEXT = re.compile(r'("user_text"\s*:\s*)"(?:[^"\\]|\\.)*"')

_lock = threading.Lock()
_in_flight: Dict[str, int] = {}


@contextmanager
def visitor_text(text: Optional[str]) -> Iterator[None]:
    """While inside, `text` is removed from every log record made, in any thread."""
    if not text:
        yield
        return
    with _lock:
        _in_flight[text] = _in_flight.get(text, 0) + 1
    try:
        yield
    finally:
        with _lock:
            if _in_flight[text] > 1:
                _in_flight[text] -= 1
            else:
                del _in_flight[text]


def texts_in_flight() -> Tuple[str, ...]:
    with _lock:
        return tuple(_in_flight)


def _variants(text: str) -> List[str]:
    """The forms in which a text shows up in logs: as sent, trimmed, without its "/", and
    escaped as JSON (structlog) or as a Python literal (a repr in an error message)."""
    forms = {text, text.strip(), text.strip().lstrip("/").strip()}
    forms |= {json.dumps(form, ensure_ascii=False)[1:-1] for form in list(forms)}
    forms |= {json.dumps(form)[1:-1] for form in list(forms)}
    forms |= {repr(form)[1:-1] for form in list(forms)}
    return [form for form in forms if len(form.strip()) >= MIN_WHOLE_TEXT]


def _spans_of(message: str, text: str) -> Iterable[Tuple[int, int]]:
    for form in _variants(text):
        start = message.find(form)
        while start != -1:
            yield start, start + len(form)
            start = message.find(form, start + len(form))
    if len(message) > MAX_SEARCHED_CHARS or len(text) < MIN_SHARED_RUN:
        return
    matcher = SequenceMatcher(None, message, text, autojunk=False)
    pending = [(0, len(message))]
    while pending:
        low, high = pending.pop()
        if high - low < MIN_SHARED_RUN:
            continue
        start, _, size = matcher.find_longest_match(low, high, 0, len(text))
        if size >= MIN_SHARED_RUN:
            yield start, start + size
            pending += [(low, start), (start + size, high)]


def redact(message: str, texts: Iterable[str]) -> str:
    """`message` without any of `texts` (whole or in part) and without the lines Rasa's payload
    parser quotes."""
    if PAYLOAD_PARSER_WARNING.search(message):
        return PAYLOAD_PARSER_NOTICE
    message = STRUCTLOG_USER_TEXT.sub(lambda match: f'{match.group(1)}"{MARK}"', message)
    spans = sorted(span for text in texts for span in _spans_of(message, text))
    if not spans:
        return message
    merged: List[List[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, position = [], 0
    for start, end in merged:
        pieces += [message[position:start], MARK]
        position = end
    pieces.append(message[position:])
    return "".join(pieces)


class VisitorTextFilter(logging.Filter):
    """Rewrites a record without visitor text; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        texts = texts_in_flight()
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it when it is written
            return True
        cleaned = redact(message, texts)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if texts and record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), texts)
        return True


_replaced_factory: Optional[Callable[..., logging.LogRecord]] = None


def install() -> None:
    """Every record, of every logger, is filtered when it is made (a filter on the handlers
    would miss those that Sanic and Rasa add later), and Python warnings become records.
    Installed by rasa_server/extensions.py, first."""
    global _replaced_factory
    if _replaced_factory is not None:
        return
    logging.captureWarnings(True)
    make_record = logging.getLogRecordFactory()
    visitor_text_filter = VisitorTextFilter()

    def make_filtered_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        visitor_text_filter.filter(record)
        return record

    logging.setLogRecordFactory(make_filtered_record)
    _replaced_factory = make_record


def uninstall() -> None:
    """Back to the record factory that install() found (tests)."""
    global _replaced_factory
    if _replaced_factory is None:
        return
    logging.setLogRecordFactory(_replaced_factory)
    logging.captureWarnings(False)
    _replaced_factory = None
