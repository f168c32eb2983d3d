"""What a visitor is told when a message is refused, always with the crisis line.

A refusal (too many messages, a message too long, the server unable to read it) may be the only
answer someone in danger gets, so every one of them ends with where to find help right now.
"""
from typing import Any, Dict, Optional

LANGUAGES = ("en", "es")
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


# Why a chat message or connection from an address over RATE_LIMIT_IP_PER_MINUTE was not answered.
TOO_MANY_FROM_THIS_ADDRESS = {
    "en": "Too many messages are coming from your network right now; please wait a minute and try again.",
    "es": "Están llegando demasiados mensajes desde su red en este momento; por favor espere un minuto e "
          "intente de nuevo.",
}


def refusal_in(reasons: Dict[str, str], language: Optional[str] = None) -> str:
    """A refusal whose reason is written in each language (`reasons`, "en" and "es"): in `language`,
    or, while the visitor's language is not known (None), in English then Spanish."""
    if language in LANGUAGES:
        return refusal(reasons[language], language)
    return refusal("\n".join(reasons[each] for each in LANGUAGES), None)


def _language_code(value: Any) -> Optional[str]:
    primary = value.strip().lower().replace("_", "-").split("-")[0] if isinstance(value, str) else None
    return primary if primary in LANGUAGES else None


def metadata_language(metadata: Any) -> Optional[str]:
    """The visitor's language as the website widget tells it with each message (web/src/clinic-chat.js):
    `chat_language`, the widget's language (the page's until the assistant's replies say otherwise),
    and `page_language`. Spanish when either says Spanish (the conversation or the page), English when
    the widget has left a Spanish page's language for English; None otherwise: an English page before
    the conversation says more, or a message not from the widget, whose refusals stay in both languages."""
    if not isinstance(metadata, dict):
        return None
    chat, page = _language_code(metadata.get("chat_language")), _language_code(metadata.get("page_language"))
    if chat == "es" or (chat is not None and page is not None and chat != page):
        return chat
    return "es" if chat is None and page == "es" else None
