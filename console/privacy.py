"""Masking of phone numbers and email addresses in what staff see, until they reveal a conversation,

Masking finds contact details with the parsers the booking form validates with
(actions/booking_fields.py): phonenumbers' matcher (the form's region, US), more lenient here than in
the form (any possible number that is not part of a word: every number the form accepts, and more), and
every "something@domain" the form would read as an email address (clinic/contact.py).

Conversations are named in the console by opaque keys: see clinic/conversation_keys.py."""
import re

import phonenumbers

from clinic.contact import EMAIL_CANDIDATE

# Punctuation around an address that is not part of it ("(kim@example.com).").
EMAIL_EDGES = ".,;:()<>[]{}\"'!?"
NOT_AROUND_A_NUMBER = "%$£€¥"
# Numbers phonenumbers does not take as possible ones, e.g. a local number without its area code.
PHONE = re.compile(
    r"(?<![\w*])(?:"
    r"\+\d{8,15}"  # E.164
    r"|(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-]?)\d{3}[\s.-]?\d{4}"  # North American
    r"|\d{3}[.-]\d{4}"  # local, without the area code
    r")(?!\w)"
)


def _masked_email(candidate: str) -> str:
    """k***@example.com: the first character and the domain of what the booking form would read as
    an email address (EMAIL_CANDIDATE, punctuation around it stripped), valid or not."""
    stripped = candidate.strip(EMAIL_EDGES)
    if "@" not in stripped or stripped.startswith("@"):
        return candidate
    start = candidate.index(stripped)
    local, domain = stripped.split("@", 1)
    return f"{candidate[:start]}{local[0]}***@{domain}{candidate[start + len(stripped):]}"


def _last_four(number: str) -> str:
    return "***-***-" + re.sub(r"\D", "", number)[-4:]


def _inside_a_word(text: str, start: int, end: int) -> bool:
    """A letter (or %, a currency sign) right before or after the digits: part of an id such as
    "console-6375387b", not a phone number. phonenumbers' stricter leniencies check the same."""
    before = text[start - 1] if start > 0 and text[start] not in "+(" else " "
    after = text[end] if end < len(text) else " "
    return any(char.isalpha() or char in NOT_AROUND_A_NUMBER for char in (before, after))


def _mask_phones(text: str) -> str:
    pieces, end = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.POSSIBLE):
        if _inside_a_word(text, match.start, match.end):
            continue
        pieces += [text[end:match.start], _last_four(match.raw_string)]
        end = match.end
    pieces.append(text[end:])
    return PHONE.sub(lambda found: _last_four(found[0]), "".join(pieces))


def mask(text: str) -> str:
    """k***@example.com, ***-***-0147: every email address, then every phone number in the text."""
    return _mask_phones(EMAIL_CANDIDATE.sub(lambda found: _masked_email(found[0]), text or ""))




def short_name(full_name: str) -> str:
    """A name as lists show it: the first word and the last word's initial ("Maria L."), contact
    details masked. The whole name is on the request's own page."""
    words = mask(full_name or "").split()
    if len(words) <= 1 or not words[-1][0].isalnum():
        return " ".join(words[:1])
    return f"{words[0]} {words[-1][0]}."
