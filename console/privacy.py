"""Masking of phone numbers and email addresses in what staff see, until they reveal a conversation,
and opaque conversation ids for the console's addresses and forms.

Masking finds contact details with the parsers the booking form validates with
(actions/booking_fields.py): phonenumbers' matcher (the form's region, US), more lenient here than in
the form (any possible number that is not part of a word: every number the form accepts, and more), and
every "something@domain" the form would read as an email address.

A conversation's id is the sender id of its channel: for SMS (Twilio) the visitor's phone number. The
console's pages, links and forms carry an opaque key instead (conversation_key): the id encrypted with
the console's secret key (AES-SIV: deterministic, so a conversation keeps its address; authenticated,
so a made-up or altered key is no conversation), padded so that its length does not tell a phone number
from another id."""
import base64
import hashlib
import re
from functools import lru_cache
from typing import Optional

import phonenumbers
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from actions.booking_fields import EMAIL_CANDIDATE

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


KEY_PREFIX = "c"  # keys start with it, and never contain "=", "/" or "+" (base64url without padding)
BLOCK = 16  # ids are padded to a multiple of this many bytes before encryption


@lru_cache(maxsize=4)
def _cipher(secret: str) -> AESSIV:
    return AESSIV(hashlib.sha512(b"console conversation keys\0" + secret.encode("utf-8")).digest())


def conversation_key(conversation_id: str, secret: str) -> str:
    """The opaque key that stands for `conversation_id` in the console's addresses, pages and forms."""
    raw = conversation_id.encode("utf-8", "surrogatepass") + b"\x80"
    raw += b"\0" * (-len(raw) % BLOCK)
    sealed = _cipher(secret).encrypt(raw, None)
    return KEY_PREFIX + base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")


def conversation_for_key(key: str, secret: str) -> Optional[str]:
    """The conversation id `key` stands for; None when it is not a key this console made."""
    if not key.startswith(KEY_PREFIX) or not key.isascii() or len(key) > 4096:
        return None
    body = key[len(KEY_PREFIX):]
    try:
        raw = _cipher(secret).decrypt(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), None)
        return raw.rstrip(b"\0")[:-1].decode("utf-8", "surrogatepass")
    except (InvalidTag, ValueError):
        return None
