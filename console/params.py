"""Checking what staff send in query strings and forms: anything unexpected is a 400 with a clear reason."""
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterator, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from flask import current_app, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

MAX_RANGE_DAYS = 731
MAX_ROW_ID = 2 ** 63 - 1  # row ids above this overflow SQLite and PostgreSQL integers
MAX_TEXT_LENGTH = 200
DEFAULT_RANGE_DAYS = 30


def clinic_timezone() -> ZoneInfo:
    """Days and times are shown and counted in the clinic's time zone (config TIMEZONE, by default
    clinic.profile.clinic_timezone() when the app is created)."""
    return current_app.config["TIMEZONE"]


def today() -> date:
    return datetime.now(clinic_timezone()).date()


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive

    @classmethod
    def last_days(cls, days: int = DEFAULT_RANGE_DAYS) -> "DateRange":
        return cls(today() - timedelta(days=days - 1), today())

    def days(self) -> Iterator[date]:
        for offset in range((self.end - self.start).days + 1):
            yield self.start + timedelta(days=offset)

    def bounds(self) -> Tuple[datetime, datetime]:
        """[start, end): midnight to midnight in the clinic's time zone."""
        zone = clinic_timezone()
        return datetime.combine(self.start, time(), zone), datetime.combine(self.end + timedelta(days=1), time(), zone)

    def epoch_bounds(self) -> Tuple[float, float]:
        start, end = self.bounds()
        return start.timestamp(), end.timestamp()


def parse_date(args: Mapping[str, str], name: str) -> Optional[date]:
    value = args.get(name, "").strip()
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name}: expected a date like 2026-01-31.") from None
    if not 2000 <= parsed.year <= 2100:
        raise BadRequest(f"{name}: the date is out of range.")
    return parsed


def date_range(args: Mapping[str, str], required: bool) -> Optional[DateRange]:
    """`start` and `end` (YYYY-MM-DD, both included); the last 30 days when `required` and not given."""
    start, end = parse_date(args, "start"), parse_date(args, "end")
    if start is None and end is None and not required:
        return None
    default = DateRange.last_days()
    start = start or (end - timedelta(days=DEFAULT_RANGE_DAYS - 1) if end else default.start)
    end = end or max(default.end, start)
    if start > end:
        raise BadRequest("The start date is after the end date.")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise BadRequest(f"Choose a range of at most {MAX_RANGE_DAYS} days.")
    return DateRange(start, end)


def visible(value: str) -> bool:
    """True when some character shows: not only spaces, control or format characters."""
    return any(unicodedata.category(ch)[0] not in "CZ" for ch in value)


def text(values: Mapping[str, str], name: str, max_length: int = MAX_TEXT_LENGTH, required: bool = False,
         message: bool = False) -> str:
    """A text field. `message`: text written for a person (a reply, notes), kept without control
    characters other than line breaks and tabs; other text (ids, searches) is kept as sent."""
    value = values.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(f"{name}: expected text.")
    if "\x00" in value:
        raise BadRequest(f"{name}: contains a NUL character.")
    if any("\ud800" <= ch <= "\udfff" for ch in value):  # only JSON can carry them; no database stores them
        raise BadRequest(f"{name}: contains an invalid character.")
    if message:
        value = "".join(ch for ch in value if ch in "\t\n\r" or unicodedata.category(ch) != "Cc")
    value = value.strip()
    if len(value) > max_length:
        raise BadRequest(f"{name}: at most {max_length} characters.")
    if required and not visible(value):
        raise BadRequest(f"{name}: required.")
    return value


def choice(values: Mapping[str, str], name: str, allowed: Sequence[str], required: bool = False) -> str:
    value = values.get(name, "")
    if (value or required) and value not in allowed:
        raise BadRequest(f"{name}: expected one of {', '.join(allowed)}.")
    return value


def digits(value: str) -> bool:
    """Only 0-9 (str.isdigit also takes "²" and other scripts' digits, which int() may refuse)."""
    return value.isascii() and value.isdigit()


def page_number(args: Mapping[str, str]) -> int:
    value = args.get("page", "1")
    if not digits(value) or not 1 <= int(value) <= 100000:
        raise BadRequest("page: expected a page number.")
    return int(value)


def row_id(values: Mapping[str, str], name: str, default: str = "") -> int:
    """A row number (a message, a ticket): 0 to the largest integer the databases store."""
    value = values.get(name, default)
    if not isinstance(value, str) or not digits(value) or int(value) > MAX_ROW_ID:
        raise BadRequest(f"{name}: expected a message number.")
    return int(value)


class RowIdConverter(IntegerConverter):
    """`<row_id:name>` in a route: 1 to MAX_ROW_ID in the digits 0-9 (werkzeug's `int` also takes
    "１" or "١" for 1, and numbers that overflow the database), anything else a 404."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map) -> None:
        super().__init__(map, min=1, max=MAX_ROW_ID)


def json_object(problem: str) -> dict:
    """The request's JSON object, or a 400 saying `problem`: not JSON, not an object, or nested too
    deep to read (the parser gives up with a RecursionError, not a ValueError)."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None
    if not isinstance(body, dict):
        raise BadRequest(problem)
    return body
