"""Opaque keys that name a conversation outside the chat: in the staff console's addresses, pages
and forms, and in staff alerts.

A conversation's id is the sender id of its channel: for SMS (Twilio) the visitor's phone number.
A key is the id encrypted with the console's secret key (AES-SIV: deterministic, so a conversation
keeps its address; authenticated, so a made-up or altered key is no conversation), padded so that
its length does not tell a phone number from another id.
"""
import base64
import hashlib
from functools import lru_cache
from typing import Optional

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

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
