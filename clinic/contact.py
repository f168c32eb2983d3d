"""Email addresses in what visitors type: found (EMAIL_CANDIDATE) and checked (EMAIL).

One definition for the booking form (actions/booking_fields.py), which keeps an address, and the
staff console (console/privacy.py), which masks every address until staff reveal a conversation.
"""
import re

# An address mail servers accept: at most 254 characters, 64 before the @, domain labels of 1-63
# letters, digits or inner hyphens, and a top-level domain of letters.
EMAIL = re.compile(
    r"^(?=.{1,254}$)[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# Whatever is written as an attempt at an address: "something@", and what follows up to a space.
EMAIL_CANDIDATE = re.compile(r"\S+@\S*")
