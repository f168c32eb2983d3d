"""Reads a visitor's preferred consultation days and times, typed in their own words.

`parse_availability` turns the text into windows a booking can use, where the text allows:
    {"date": "2026-11-24", "after": "15:00"}
    {"days": ["mon", "tue", "wed", "thu", "fri"], "part_of_day": "morning"}
A window is a "date" or a set of weekday "days", optionally narrowed by "part_of_day"
(morning/afternoon/evening) and/or "after"/"before" ("HH:MM"). The caller keeps the verbatim
text beside the windows, so nothing the visitor wrote is lost: text without recognisable time
words ("flexible", "whenever works") is fine and simply gives no windows. Only an unusable answer
(impossible, past or far-off date, empty or over-long text) comes back with a `problem`, a kind
sentence to show the visitor: a `Reason` (actions/booking_fields.py), the English text with its
Spanish twin. `describe(windows, language)` summarises the windows in English or Spanish.

Reading rules:
- a bare hour after "after"/"before"/"at" is pm for 1-6 and am for 7-11, unless am/pm is given;
  "at 3" is the hour from 3pm (after 15:00, before 16:00);
- "monday(s)" is that day of every week; "this monday" is the one within the coming 7 days
  (today included), "next monday" the first Monday after today;
- numeric dates are month/day; dates without a year are the next occurrence from today;
- clauses are split on commas, "or" and "and": days without a time of day take the next
  clause's ("tuesdays or thursdays in the evening"); times without any day apply to every day;
- Spanish is read by the same rules, its words first rewritten into the English ones (SPANISH):
  "entre semana por la mañana", "el martes después de las 3", "cualquier día menos el viernes",
  "mañana en la mañana" (tomorrow morning), "el 3 de diciembre", "a las 3 de la tarde";
  "el martes" is any Tuesday, "este martes" / "el próximo martes" one date. In a Spanish
  conversation a numeric date both readable as day/month and month/day ("3/12") gives no windows.
"""
import calendar
import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from actions.booking_fields import Reason

logger = logging.getLogger(__name__)

MAX_LENGTH = 300
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS, WEEKEND = list(DAYS[:5]), list(DAYS[5:])
PARTS = ("morning", "afternoon", "evening")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
# Spanish, for the visitor's messages and the booking summary
MONTH_NAMES_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                  "septiembre", "octubre", "noviembre", "diciembre")
DAY_NAMES_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
DAY_ABBREVIATIONS_ES = ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
MONTH_ABBREVIATIONS_ES = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")

EMPTY = Reason("Please tell me which days or times usually suit you.",
               "Por favor dígame qué días u horarios le quedan mejor.")
TOO_LONG = Reason("That's a bit long for me. Could you tell me the days and times that suit you in a shorter answer?",
                  "Es un poco largo para mí. ¿Me podría decir en una respuesta más corta qué días y horarios "
                  "le quedan mejor?")
PAST = Reason("That date has already passed. Could you give a day from today onwards?",
              "Esa fecha ya pasó. ¿Me podría dar un día de hoy en adelante?")
TOO_FAR = Reason("That's more than a year away. Could you suggest something sooner?",
                 "Para esa fecha falta más de un año. ¿Podría sugerir algo más pronto?")
NOT_A_DATE = Reason('I couldn\'t read "{}" as a date. Could you write it like "Dec 3"?',
                    'No pude leer "{}" como fecha. ¿Podría escribirla así: "3 de diciembre"?')
NO_SUCH_DAY = Reason("{} doesn't have {} days. Could you give another date?",
                     "{} no tiene {} días. ¿Me podría dar otra fecha?")
NOT_A_TIME = Reason('I couldn\'t read "{}" as a time. Could you write it like "after 3pm"?',
                    'No pude leer "{}" como hora. ¿Podría escribirla como "3pm" o "10:30am"?')
NO_GAP = Reason("Those times don't leave any gap. Could you check the earliest and latest times that suit you?",
                "Esos horarios no dejan ningún espacio. ¿Podría revisar la hora más temprana y la más tarde "
                "que le quedan bien?")

Item = Tuple[str, Any]  # ("anchor", window base) | ("part"|"after"|"before"|"not_day"|"not_part", value)


@dataclass
class Availability:
    windows: List[Dict[str, Any]]
    problem: Optional[str]


class _Unusable(Exception):
    """The text names something that cannot be booked; the message is for the visitor."""


DAY = (r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
       r"|sat(?:urday)?|sun(?:day)?)s?")
DAY_WORD = rf"(?:{DAY}|week\s?(?:day|end)s?)\b"
PART_WORD = r"(?:morning|afternoon|evening|night)s?\b"
MONTH = (r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
         r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?")
YEAR = r"(?:\s+(?P<year>[0-9]{4})\b)?"


def _time(name: str) -> str:
    return rf"(?P<{name}>noon|midday|[0-9]{{1,2}}(?::[0-9]{{2}})?(?:\s*[ap]m|[ap])?)\b"


def _listed(word: str) -> str:
    return rf"{word}(?:\s*(?:,|and|or|nor|/|&)\s*(?:on\s+|in\s+the\s+)?{word})*"


TIME_WORDS = {"not before": "after", "no earlier than": "after", "later than": "after",
              "not after": "before", "no later than": "before", "earlier than": "before"}
# Spanish, as typed in eastern Washington (accents or not, b/v and other slips): rewritten into
# the English words the readers below know, in this order, before they run. Accents are already
# gone ("mañana" is "manana"). "la mañana" is the morning, "mañana" alone tomorrow; "el martes" is
# any Tuesday like "tuesday", "este martes" / "el próximo martes" one date like "this" / "next".
_DAY_EN = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_NUMBER = r"[0-9]{1,2}(?::[0-9]{2})?"
_CLOCK_AHEAD = r"(?:las?\s+)?(?=[0-9]|noon\b)"  # "las 3", "la 1", "3", "noon" follows
DAYS_ES = {"monday": r"lun(?:es)?", "tuesday": r"martes|marte", "wednesday": r"mie?rc?[ou]les|miercole|mierc|mie",
           "thursday": r"jue[vb]es|juev|jue", "friday": r"[vb]ierne[sz]|[vb]ierne|vier|vie",
           "saturday": r"sa[bv]a?dos?|sab", "sunday": r"domi?ngos?|dom"}
MONTHS_ES = {"enero": "january", "febrero": "february", "marzo": "march", "abril": "april", "mayo": "may",
             "junio": "june", "julio": "july", "agosto": "august", "septiembre": "september",
             "setiembre": "september", "octubre": "october", "noviembre": "november", "diciembre": "december"}
MONTH_ABBREVIATIONS = {"ene": "january", "abr": "april", "ago": "august", "dic": "december"}
SPANISH = [
    (r"\b(?:hola|buen[oa]?s?(?:\s+(?:dias?|tardes|noches))?)\b", " "),
    (r"\b([0-9]{1,2})\s+y\s+media\b", r"\1:30"),
    (r"\b([0-9]{1,2})\s+y\s+cuarto\b", r"\1:15"),
    (r"([0-9]\s*[ap])\.\s*m\b\.?", r"\1m"),  # "3 p. m."
    (rf"\b({_NUMBER})\s*(?:hrs?|horas?)?\s+(?:de|en|por)\s+la\s+(?:manana|madrugada)\b", r"\1am"),
    (rf"\b({_NUMBER})\s*(?:hrs?|horas?)?\s+(?:de|en|por)\s+la\s+(?:tarde|noche)\b", r"\1pm"),
    (r"(?<=[0-9])\s*(?:hrs?|horas?)\b", ""),
    (r"\besta\s+manana\b", " this morning "),
    (r"\besta\s+tarde\b", " this afternoon "),
    (r"\besta\s+noche\b", " tonight "),
    (r"\bpasado\s+manana\b", " day after tomorrow "),
    (r"\b(?:hoy|ahorita|ahora|(?<!la )(?<!las )manana)\s+no\b(?=\s*(?:$|[,;.!]|puedo\b|trabajo\b|me\s+queda))", " "),
    (r"\b(?:(?:por|en|de|a)\s+)?las?\s+mananas?\b|\bmananas\b", " morning "),
    (r"\bmanana\b", " tomorrow "),
    (r"\bmas\s+tarde\b", " "),
    (r"\b(?:(?:por|en|de|a)\s+)?(?:las?\s+)?tardes?\b", " afternoon "),
    (r"\b(?:(?:por|en|de|a)\s+)?(?:las?\s+)?noches?\b", " night "),
    (r"\bmedio\s?dia\b", " noon "),
    ("|".join(rf"\b{name}\b" for name in MONTHS_ES), lambda m: MONTHS_ES[m[0]]),
    (rf"\b(?:primero|1\s*(?:ro|ero|o|°))(?=\s+de\s+(?:{'|'.join(set(MONTHS_ES.values()))}|{'|'.join(MONTH_ABBREVIATIONS)})\b)",
     "1"),
    (rf"\b([0-9]{{1,2}})\s+(?:de\s+)?({'|'.join(MONTH_ABBREVIATIONS)})\b\.?",
     lambda m: f"{m[1]} of {MONTH_ABBREVIATIONS[m[2]]}"),
    (rf"\b([0-9]{{1,2}})\s+de\s+(?=(?:{'|'.join(set(MONTHS_ES.values()))})\b)", r"\1 of "),
    ("|".join(rf"\b(?:{pattern})\b" for pattern in DAYS_ES.values()),
     lambda m: next(day for day, pattern in DAYS_ES.items() if re.fullmatch(pattern, m[0]))),
    (rf"\best[ea]\s+(?={_DAY_EN}\b)", "this "),
    (rf"\b(?:proxim[oa]|siguiente)\s+(?={_DAY_EN}\b)", "next "),
    (rf"\b({_DAY_EN})\s+(?:que\s+viene|proximo|siguiente)\b", r"next \1"),
    (rf"\b(?:pasado\s+({_DAY_EN})|({_DAY_EN})\s+pasado)\b", lambda m: f"last {m[1] or m[2]}"),
    (rf"\b(?:del?\s+)?({_DAY_EN})\s+al?\s+({_DAY_EN})\b", r"\1 to \2"),
    (r"\b(?:dias\s+)?entre\s*semanas?\b|\bdias\s+de\s+semana\b", " weekdays "),
    (r"\bfin(?:es)?\s+de\s+semanas?\b|\bfindes?\b", " weekends "),
    (r"\btoda\s+la\s+semana\b", " all week "),
    (r"\b(?:todos\s+los\s+dias|cualquier\s+dia|cada\s+dia|(?:a\s+)?diario|diariamente)\b", " any day "),
    (r"\b(?:a\s+)?cualquier\s+(?:hora|momento)\b|\bcuando\s+sea\b", " anytime "),
    # "el domingo no", "en la tarde no puedo"
    (rf"\b({_DAY_EN}|weekdays|weekends|morning|afternoon|night)\s+no\b(?=\s*(?:$|[,;.!]|puedo\b|trabajo\b|me\s+queda))",
     r"not \1"),
    (rf"\bno\s+(?:puedo\s+)?antes\s+(?:del?\s+)?{_CLOCK_AHEAD}", " after "),
    (rf"\bno\s+(?:puedo\s+)?(?:despues|depues)\s+(?:del?\s+)?{_CLOCK_AHEAD}", " before "),
    (rf"\ba\s+mas\s+tardar\s+(?:(?:a|al)\s+)?{_CLOCK_AHEAD}", " before "),
    (rf"\ba\s+partir\s+(?:del?\s+)?{_CLOCK_AHEAD}", " after "),
    (rf"\b(?:despues|depues|despuez|desp|dsps?|luego|pasadas?)\s+(?:del?\s+)?{_CLOCK_AHEAD}", " after "),
    (rf"\bantes\s+(?:del?\s+)?{_CLOCK_AHEAD}", " before "),
    (rf"\bdesde\s+(?:el\s+)?{_CLOCK_AHEAD}", " from "),
    (rf"\bhasta\s+(?:el\s+)?{_CLOCK_AHEAD}", " until "),
    (rf"\b(?:como|tipo|mas\s+o\s+menos)\s+(?:a\s+)?{_CLOCK_AHEAD}|\b(?:a\s+eso|alrededor|por\s+ahi)\s+del?\s+{_CLOCK_AHEAD}",
     " around "),
    (rf"\b({_NUMBER}(?:\s*[ap]m)?)\s+a\s+{_CLOCK_AHEAD}", r"\1 to "),
    (rf"\b(?:a|al)\s+{_CLOCK_AHEAD}", " at "),
    (r"\b(?:al|por\s+lo)\s+menos\b", " "),
    (r"\b(?:menos|excepto|salvo|quitando|que\s+no\s+sean?|pero\s+no|no\s+puedo(?:\s+ir)?|nunca)\b", " except "),
    (r"\bni\b", " nor "),
    (r"\bentre\b", " between "),
    (r"\by\b", " and "),
    (r"\bo\b", " or "),
    (r"\bpero\b", " but "),
    (r"\btambien\b", " also "),
    (r"\b(?:hoy|ahorita|ahora(?:\s+mismo)?)\b", " today "),
    (r"\bayer\b", " yesterday "),
    (r"\b(?:el|los|la|las|de|del|en|por|al|dias?)\b", " "),
]
REWRITES = [(re.compile(pattern), replacement) for pattern, replacement in [
    (r"<[^>]*>|&#?[a-z0-9]+;", " "),
    (r"[\u2013\u2014\u2212]", "-"),
    (r"[\u2018\u2019]", "'"),
    (r"([0-9]\s*[ap])\.m\.?", r"\1m"),
    (r"\s*o'?clock\b", ""),
    (r"\b24/7\b", " any day "),
    (r",(\s*[0-9]{4})\b", r"\1"),
    (r"\s+", " "),
    *SPANISH,
    (r"\s+", " "),
    ("|".join(rf"\b{words}\b" for words in sorted(TIME_WORDS, key=len, reverse=True)), lambda m: TIME_WORDS[m[0]]),
]]
RELATIVE_DAYS = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "day after tomorrow": 2, "yesterday": -1}
RELATIONS = {"after": "after", "from": "after", "before": "before", "by": "before", "until": "before",
             "till": "before", "til": "before"}  # anything else ("at", "around", "@") is the hour from then
EXCLUDED = re.compile(rf"\b(?:({DAY})|week\s?(day|end)s?|(morning|afternoon|evening|night)s?)\b")
SPLIT = re.compile(r"[,;/&+]|\b(?:or|and|also|plus|then)\b")
MARK = 0xF0000  # private-use characters stand in for what was read; input never contains them
MARKS = re.compile("[\U000F0000-\U000FFFFD]")


def _day(word: str) -> int:
    return DAYS.index(word[:3])


def _month(word: str) -> int:
    return [name[:3].lower() for name in MONTH_NAMES].index(word[:3]) + 1


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _clock(token: str) -> int:
    """Minutes after midnight; a bare 1-6 is pm, 7-11 am."""
    token = token.replace(" ", "")
    if token in ("noon", "midday"):
        return 12 * 60
    match = re.fullmatch(r"([0-9]{1,2})(?::([0-9]{2}))?(?:([ap])m?)?", token)
    hour, minute, meridiem = int(match[1]), int(match[2] or 0), match[3]
    if minute > 59 or hour > 23 or (meridiem and not 1 <= hour <= 12):
        raise _Unusable(NOT_A_TIME.format(token))
    if meridiem == "p" and hour < 12 or not meridiem and 1 <= hour <= 6:
        hour += 12
    elif meridiem == "a" and hour == 12:
        hour = 0
    return hour * 60 + minute


def _dated(date: dt.date, today: dt.date) -> List[Item]:
    if date < today:
        raise _Unusable(PAST)
    if (date - today).days > 366:
        raise _Unusable(TOO_FAR)
    return [("anchor", {"date": date.isoformat()})]


def _date(month: int, day: int, year: Optional[str], today: dt.date, shown: str) -> List[Item]:
    if not (1 <= month <= 12 and day >= 1):
        raise _Unusable(NOT_A_DATE.format(shown))
    # the month as the visitor's message names it (capitalised: it starts the sentence in both languages)
    name = Reason(MONTH_NAMES[month - 1], MONTH_NAMES_ES[month - 1].capitalize())
    if day > calendar.monthrange(2000, month)[1]:
        raise _Unusable(NO_SUCH_DAY.format(name, day))
    if year is None:
        number = today.year + ((month, day) < (today.month, today.day))
    else:
        number = int(year) + (2000 if len(year) == 2 else 0)
        if not today.year <= number <= today.year + 1:
            raise _Unusable(PAST if number < today.year else TOO_FAR)
    if day > calendar.monthrange(number, month)[1]:
        raise _Unusable(NO_SUCH_DAY.format(Reason(f"{name} {number}", f"{name.es} de {number}"), day))
    return _dated(dt.date(number, month, day), today)


def _day_month(m: re.Match, today: dt.date) -> Optional[List[Item]]:
    if m["month"] == "may" and not (m["suffix"] or m["of"] or m["year"]):
        return None  # "after 3 may be best"
    return _date(_month(m["month"]), int(m["day"]), m["year"], today, m[0])


NUMERIC_DATE = r"(?<![0-9/])(?P<a>[0-9]{1,2})/(?P<b>[0-9]{1,2})(?:/(?P<year>[0-9]{4}|[0-9]{2}))?(?![0-9/])"


def _ambiguous_numeric_date(text: str) -> bool:
    """ "3/12" in a Spanish conversation: December 3 as day/month (Mexican usage) or March 12 as
    month/day (US usage). Unambiguous when the two numbers are equal or one is over 12."""
    return any(m["a"] != m["b"] and 1 <= int(m["a"]) <= 12 and 1 <= int(m["b"]) <= 12
               for m in re.finditer(NUMERIC_DATE, text))


def _numeric_date(m: re.Match, today: dt.date) -> List[Item]:
    month, day = int(m["a"]), int(m["b"])
    if month > 12 >= day:  # 25/12 can only be day/month
        month, day = day, month
    return _date(month, day, m["year"], today, m[0])


def _relative(m: re.Match, today: dt.date) -> List[Item]:
    items = _dated(today + dt.timedelta(days=RELATIVE_DAYS[m[1]]), today)
    return items + [("part", "evening")] if m[1] == "tonight" else items


def _named_day(m: re.Match, today: dt.date) -> List[Item]:
    if m[1] == "last":
        raise _Unusable(PAST)
    ahead = (_day(m[2]) - today.weekday()) % 7
    return _dated(today + dt.timedelta(days=ahead or (7 if m[1] == "next" else 0)), today)


def _day_range(m: re.Match, today: dt.date) -> List[Item]:
    first, last = _day(m[1] or m[2]), _day(m[3])
    return [("anchor", {"days": [DAYS[(first + i) % 7] for i in range((last - first) % 7 + 1)]})]


def _exclusion(m: re.Match, today: dt.date) -> List[Item]:
    items: List[Item] = [("anchor", {"days": list(DAYS)})] if m["base"] else []
    for word in EXCLUDED.finditer(m["list"]):
        if word[1]:
            items.append(("not_day", word[1][:3]))
        elif word[2]:
            items += [("not_day", day) for day in (WEEKDAYS if word[2] == "day" else WEEKEND)]
        else:
            items.append(("not_part", "evening" if word[3] == "night" else word[3]))
    return items


def _time_range(m: re.Match, today: dt.date) -> List[Item]:
    start, end = m["start"], m["end"]
    meridiem = re.search(r"[ap]m?$", end)  # "2-4pm" is 2pm to 4pm, "10-2pm" 10am to 2pm
    if meridiem and start.isdigit() and int(start) < int(re.match(r"[0-9]+", end)[0]) < 12:
        start += meridiem[0]
    return [("after", _hhmm(_clock(start))), ("before", _hhmm(_clock(end)))]


def _at(minutes: int) -> List[Item]:
    return [("after", _hhmm(minutes)), ("before", _hhmm(min(minutes + 60, 23 * 60 + 59)))]


def _relation(m: re.Match, today: dt.date) -> List[Item]:
    relation = RELATIONS.get(m["rel"])
    return [(relation, _hhmm(_clock(m["time"])))] if relation else _at(_clock(m["time"]))


def _fixed(*items: Item) -> Callable[[re.Match, dt.date], List[Item]]:
    return lambda m, today: list(items)


# Read in this order: each match is replaced by a marker, so later patterns cannot reread it.
CONSUMERS = [(re.compile(pattern), handler) for pattern, handler in [
    (rf"(?:\b(?P<base>any\s?day|every\s?day|any\s?time|anything|whenever)\s+but|\b(?:except(?:\s+for)?|but\s+not"
     rf"|but\s+never|not|never|no|excluding|other\s+than|apart\s+from|besides|can'?t\s+do|cannot\s+do))\s+"
     rf"(?:on\s+|in\s+the\s+)?(?P<list>{_listed(DAY_WORD)}|{_listed(PART_WORD)})", _exclusion),
    (rf"\b{MONTH}\s*(?:the\s+)?(?P<day>[0-9]{{1,2}})(?:st|nd|rd|th)?\b{YEAR}",
     lambda m, today: _date(_month(m["month"]), int(m["day"]), m["year"], today, m[0])),
    (rf"\b(?:the\s+)?(?P<day>[0-9]{{1,2}})(?P<suffix>st|nd|rd|th)?\s*(?P<of>of\s+)?{MONTH}{YEAR}", _day_month),
    (NUMERIC_DATE, _numeric_date),
    (r"\b(day after tomorrow|today|tonight|tomorrow|tmrw|yesterday)\b", _relative),
    (r"\bthis\s+(morning|afternoon|evening)\b", lambda m, today: _dated(today, today) + [("part", m[1])]),
    (rf"\b(this\s+coming|this|coming|next|last)\s+({DAY})\b", _named_day),
    (rf"\b(?:between\s+({DAY})\s+and|(?:from\s+)?({DAY})\s*(?:-|to|through|thru|till|until))\s*({DAY})\b", _day_range),
    (r"\bweek\s?days?\b", _fixed(("anchor", {"days": WEEKDAYS}))),
    (r"\bweek\s?ends?\b", _fixed(("anchor", {"days": WEEKEND}))),
    (r"\b(?:any|every)\s?day\b|\bdaily\b|\ball\s+week\b", _fixed(("anchor", {"days": list(DAYS)}))),
    (rf"\b({DAY})\b", lambda m, today: [("anchor", {"days": [m[1][:3]]})]),
    (rf"\bbetween\s+{_time('start')}\s*(?:and|-|to)\s*{_time('end')}", _time_range),
    (rf"\b(?:from\s+)?{_time('start')}\s*(?:-|to|till|til|until)\s*{_time('end')}", _time_range),
    (rf"(?P<rel>\b(?:after|from|before|by|until|till|til|at|around)\b|@)\s*{_time('time')}", _relation),
    (r"\b(?P<time>[0-9]{1,2}(?::[0-9]{2})?\s*[ap]m|[0-9]{1,2}[ap]|[0-9]{1,2}:[0-9]{2}|noon|midday)\b",
     lambda m, today: _at(_clock(m["time"]))),
    (r"\b(morning|afternoon|evening|night)s?\b", lambda m, today: [("part", m[1].replace("night", "evening"))]),
]]


def _normalise(text: str) -> str:
    text = "".join(c if c.isprintable() else " " for c in unicodedata.normalize("NFKC", text).lower())
    # without accents: "mañana" is "manana", "miércoles" "miercoles", typed either way
    text = unicodedata.normalize(
        "NFC", "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    )
    for pattern, replacement in REWRITES:
        text = pattern.sub(replacement, text)
    return text.strip()


def _clauses(text: str, today: dt.date) -> List[List[Item]]:
    """What each clause of the text says, in order."""
    found: List[List[Item]] = []
    for pattern, handler in CONSUMERS:
        def swap(match: re.Match, handler=handler) -> str:
            items = handler(match, today)
            if items is None:
                return match[0]
            found.append(items)
            return f" {chr(MARK + len(found) - 1)} "
        text = pattern.sub(swap, text)
    return [[item for mark in MARKS.findall(clause) for item in found[ord(mark) - MARK]]
            for clause in SPLIT.split(text)]


def _groups(clauses: List[List[Item]]) -> List[Tuple[List[Dict], List[Item]]]:
    """Pairs days/dates with the times of day meant for them."""
    groups, pending, last, loose = [], [], [], []
    for clause in clauses:
        pending += [value for kind, value in clause if kind == "anchor"]
        times = [(kind, value) for kind, value in clause if kind in ("part", "after", "before")]
        if times and pending:
            groups.append((pending, times))
            last, pending = pending, []
        elif times and last:  # "monday, mornings or afternoons"
            groups.append((last, times))
        elif times:
            loose.append(times)
    if pending and loose and not groups:  # "mornings, weekdays"
        groups, loose = [(pending, times) for times in loose], []
    elif pending:
        groups.append((pending, []))
    return groups + [([{"days": list(DAYS)}], times) for times in loose]


def _windows(clauses: List[List[Item]]) -> List[Dict[str, Any]]:
    items = [item for clause in clauses for item in clause]
    not_days = {value for kind, value in items if kind == "not_day"}
    not_parts = {value for kind, value in items if kind == "not_part"}
    groups = _groups(clauses) or ([([{"days": list(DAYS)}], [])] if not_days or not_parts else [])
    windows: List[Dict[str, Any]] = []
    for anchors, times in groups:
        parts = list(dict.fromkeys(value for kind, value in times if kind == "part"))
        if not_parts:
            parts = [part for part in parts or PARTS if part not in not_parts]
        span = {kind: value for kind, value in times if kind in ("after", "before")}
        if span.get("after", "") >= span.get("before", "99"):
            raise _Unusable(NO_GAP)
        days = [day for day in DAYS if day not in not_days and any(day in a.get("days", ()) for a in anchors)]
        bases = [{"days": days} if "days" in anchor else anchor for anchor in anchors if days or "date" in anchor]
        for base in bases:
            for part in parts or [None]:
                window = {**base, **({"part_of_day": part} if part else {}), **span}
                if window not in windows:
                    windows.append(window)
    return windows


def parse_availability(text: str, today: dt.date, language: Optional[str] = None) -> Availability:
    """The windows the visitor's words name, or a kind `problem` when they cannot be used.

    English and Spanish are read alike. `language` is the conversation's: in Spanish ("es") a
    numeric date that reads both as day/month and month/day ("3/12") gives no windows at all (the
    verbatim text says it for the team); otherwise numeric dates are month/day."""
    raw = text if isinstance(text, str) else ("" if text is None else str(text))
    if len(raw.strip()) > MAX_LENGTH:
        return Availability([], TOO_LONG)
    try:
        cleaned = _normalise(raw)
        if not cleaned:
            return Availability([], EMPTY)
        if language == "es" and _ambiguous_numeric_date(cleaned):
            return Availability([], None)
        today = today.date() if isinstance(today, dt.datetime) else today
        return Availability(_windows(_clauses(cleaned, today)), None)
    except _Unusable as problem:
        return Availability([], problem.args[0])
    except Exception:  # never block the booking over a reading bug: the verbatim text is kept
        logger.exception("Could not read an availability answer")
        return Availability([], None)


def _clock_label(value: Any, language: Optional[str] = None) -> Optional[str]:
    match = re.fullmatch(r"([0-9]{2}):([0-9]{2})", value) if isinstance(value, str) else None
    if not match:
        return None
    hour, minute = int(match[1]), int(match[2])
    if (hour, minute) in ((12, 0), (0, 0)):
        if language == "es":
            return "mediodía" if hour else "medianoche"
        return "noon" if hour else "midnight"
    if language == "es":
        return f"{hour % 12 or 12}{f':{minute:02d}' if minute else ''} {'a.m.' if hour < 12 else 'p.m.'}"
    return f"{hour % 12 or 12}{f':{minute:02d}' if minute else ''}{'am' if hour < 12 else 'pm'}"


def _spanish_from(label: str) -> str:
    """ "de las 3 p.m.", "de la 1 p.m.", "del mediodía": a Spanish clock label after "después"/"antes"."""
    if label == "mediodía":
        return "del mediodía"
    if label == "medianoche" or re.match(r"1[: ]", label):
        return f"de la {label}"
    return f"de las {label}"


def _head(window: Dict[str, Any], language: Optional[str] = None) -> Optional[str]:
    spanish = language == "es"
    if "date" in window:
        try:
            date = dt.date.fromisoformat(str(window["date"]))
        except ValueError:
            return None
        if spanish:
            return f"{DAY_ABBREVIATIONS_ES[date.weekday()]} {date.day} de {MONTH_ABBREVIATIONS_ES[date.month - 1]}"
        return f"{DAY_NAMES[date.weekday()][:3]} {date.day} {MONTH_NAMES[date.month - 1][:3]}"
    listed = window.get("days")
    days = [day for day in DAYS if isinstance(listed, (list, tuple)) and day in listed]
    labels = [(DAY_ABBREVIATIONS_ES[_day(day)] if spanish else DAY_NAMES[_day(day)][:3]) for day in days]
    if not days:
        return None
    if len(days) >= 5 and days in (list(DAYS), WEEKDAYS):
        if spanish:
            return "cualquier día" if len(days) == 7 else "entre semana"
        return "any day" if len(days) == 7 else "weekdays"
    if days == WEEKEND:
        return "fines de semana" if spanish else "weekends"
    if len(days) == 6:
        missing = next(i for i, day in enumerate(DAYS) if day not in days)
        return f"cualquier día menos el {DAY_NAMES_ES[missing]}" if spanish else "any day but " + DAY_NAMES[missing]
    if len(days) >= 3 and _day(days[-1]) - _day(days[0]) == len(days) - 1:
        return f"{labels[0]}–{labels[-1]}"
    return (" o " if spanish else " or ").join([", ".join(labels[:-1]), labels[-1]] if len(labels) > 1 else labels)


# Spanish parts of the day: every week ("en las mañanas") or on one date ("en la mañana")
PARTS_ES = {"morning": ("en las mañanas", "en la mañana"), "afternoon": ("en las tardes", "en la tarde"),
            "evening": ("en las noches", "en la noche")}


def describe(windows: Any, language: Optional[str] = None) -> str:
    """A short summary for the booking, e.g. "weekdays, mornings" or "Tue 24 Nov, after 3pm".

    In Spanish (language "es"): "entre semana, en las mañanas", "mar 24 de nov, después de las 3 p.m.".
    """
    spanish = language == "es"
    summary: Dict[Tuple[str, str], List[str]] = {}
    for window in windows if isinstance(windows, (list, tuple)) else []:
        head = _head(window, language) if isinstance(window, dict) else None
        if head is None:
            continue
        after, before = _clock_label(window.get("after"), language), _clock_label(window.get("before"), language)
        if spanish:
            span = f"de {after} a {before}" if after and before else f"después {_spanish_from(after)}" if after else (
                f"antes {_spanish_from(before)}" if before else "")
        else:
            span = f"{after}–{before}" if after and before else f"after {after}" if after else (
                f"before {before}" if before else "")
        parts = summary.setdefault((head, span), [])
        part = window.get("part_of_day")
        if part not in PARTS:
            continue
        if spanish:
            label = PARTS_ES[part][0 if "days" in window else 1]
        else:
            label = f"{part}s" if "days" in window else part
        if label not in parts:
            parts.append(label)
    joiner = " o " if spanish else " or "
    pieces = [", ".join(x for x in (head, joiner.join(parts), span) if x) for (head, span), parts in summary.items()]
    return "; ".join(pieces) or ("sin días ni horarios en particular" if spanish else "no particular days or times")
