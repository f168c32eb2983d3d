"""What a visitor is told when a message is refused, always with the crisis line.

A refusal (too many messages, a message too long, the server unable to read it) may be the only
answer someone in danger gets, so every one of them ends with where to find help right now.
"""
from typing import Optional

CRISIS_LINES = {
    "en": "If you are in danger right now, call 911, or call or text 988.",
    "es": "Si está en peligro ahora, llame al 911, o llame o envíe un texto al 988.",
}


def crisis_line(language: Optional[str] = None) -> str:
    """The crisis line in `language` ("en", "es"); for None or any other code, in English then
    Spanish. Until the visitor's language is known, refusals use None: both languages."""
    if language in CRISIS_LINES:
        return CRISIS_LINES[language]
    return f"{CRISIS_LINES['en']}\n{CRISIS_LINES['es']}"


def refusal(reason: str, language: Optional[str] = None) -> str:
    """A refusal's text: why the message was not answered, then the crisis line."""
    return f"{reason}\n\n{crisis_line(language)}"
