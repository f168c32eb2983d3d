"""Template filters. Autoescaping stays on: visitor text is never marked safe."""
import re
from datetime import datetime
from typing import Any, Optional

from flask import Flask, current_app
from markupsafe import Markup

from clinic.conversation_keys import conversation_key
from console.params import clinic_timezone
from console.privacy import mask

# Control characters other than tab and line breaks: not valid in HTML, and a terminal reading the
# page would obey escape sequences.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def without_controls(value: Any) -> Any:
    """Every {{ value }} of a page, before autoescaping: text without control characters."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return CONTROL_CHARACTERS.sub("", value)
    return value


def masked(text: str, revealed: bool = False) -> str:
    return text if revealed else mask(text)


def opaque(conversation_id: str) -> str:
    """The conversation's key for addresses and forms: an SMS conversation's id is a phone number."""
    return conversation_key(conversation_id, current_app.secret_key)


def local_time(moment: Optional[datetime]) -> str:
    """In the clinic's time zone, e.g. 2026-11-21 14:05."""
    return moment.astimezone(clinic_timezone()).strftime("%Y-%m-%d %H:%M") if moment else ""


def confidence(value: Optional[float]) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "–"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(masked=masked, local_time=local_time, confidence=confidence, opaque=opaque)
    app.jinja_env.finalize = without_controls
