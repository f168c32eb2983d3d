"""Email addresses in what visitors type: found (EMAIL_CANDIDATE) and checked (valid_email).

One definition for the booking form (actions/booking_fields.py), which keeps an address, and the
staff console (console/privacy.py), which masks every address until staff reveal a conversation.

The check is email-validator's syntax check (no DNS look-up: nothing leaves the machine), strict on
lengths (254 characters, 64 before the @), with two rules of the clinic's own: the address is plain
ASCII, as every mail server accepts, and its top-level domain is two or more letters, as every real
one is, so a cut-off "kim@gmail.c" is asked for again rather than kept.
"""
import re
from typing import Optional

from email_validator import EmailNotValidError, validate_email

# Whatever is written as an attempt at an address: "something@", and what follows up to a space.
EMAIL_CANDIDATE = re.compile(r"\S+@\S*")
TOP_LEVEL_DOMAIN = re.compile(r"[a-z]{2,63}")


def valid_email(candidate: str) -> Optional[str]:
    """The address in lower case when `candidate` is one whole valid email address, else None."""
    if not candidate.isascii():
        return None
    try:
        checked = validate_email(candidate, check_deliverability=False, allow_smtputf8=False, strict=True)
    except EmailNotValidError:
        return None
    if not TOP_LEVEL_DOMAIN.fullmatch(checked.ascii_domain.rsplit(".", 1)[-1].lower()):
        return None
    return checked.ascii_email.lower()
