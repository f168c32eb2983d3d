"""The conversation's language (slot `language`: "en", "es", or unset while not yet clear).

Rasa runs `action_detect_language` after every visitor message (the slot's custom mapping in
domain.yml). It reads the NLU's language detection (nlu_components/language_detector.py) and
follows the visitor: the first message that is fairly clearly English or Spanish sets the
language; after that, only a message that is clearly in the other language switches it (Lingua is
sure, and it has that language's grammar words and none of the conversation's), so that "ok", "no", a
name typed into a form or "¿aceptan apple health?" never flips the conversation. The "English / Español"
button sets the slot directly (entity `language`); a typed request ("hablan español?", "english
please", intent switch_language) sets the language it names.

Greetings and courtesies ("hola", "buenas tardes", "gracias"; "hi", "thanks") are recognised by a
curated list before Lingua (the detection says "phrase"). A Spanish one decides a conversation whose
language is not yet set: in Kennewick, "hola" is written by Spanish speakers, and Lingua alone finds
it unclear. An English one decides nothing: many Spanish speakers greet in English, and while the
language is unset the replies are English anyway, with "Español" offered and the crisis response in
both languages. No phrase ever switches a conversation ("gracias" at the end of an English one, or
"thanks" in a Spanish one, keeps its language).

A first message written with one language's grammar words and the other's nouns (Spanglish: "el
treatment es safe para mi anxiety?") is in the language of its grammar, whatever Lingua reads.

A crisis message that leans towards the other language (a Spanish conversation, "i dont want to live
anymore") leaves the language unset, so that the crisis response comes in both languages, as the
contract asks when the language is unclear; the next clear message decides again.

The page the visitor writes from: the website widget sends the page's language with every message
(metadata `page_language`, "en"/"es": <html lang="es">, data-lang, ClinicChatConfig.lang). While the
conversation's language is not yet set, a Spanish page decides it for a message that is not clearly
English ("hi", "ok", a button on the Spanish page: Spanish; a single word never counts as clear here,
"ok" scores 0.89 English, "book" 0.94); a message that is clearly in a language (a sentence of two
words or more, or a Spanish greeting) still wins over the page. An English page changes nothing:
replies are English while the language is unset anyway, and "Español" stays offered.
"""
import re
import unicodedata
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from clinic.words import plain_words

LANGUAGES = ("en", "es")
# Lingua's confidence for English vs Spanish. Single words are unreliable ("hello" scores 0.62
# Spanish, "hola" 0.66, "no" 0.59, "Maria Lopez" 0.75 Spanish); whole sentences score above 0.8, short
# questions less ("la ketamina es adictiva?" 0.76, "me gustaria agendar" 0.77). Until a message is
# clear enough, replies are English and the greeting offers "Español". Measured on the training
# examples (3,199 Spanish, 5,582 English): at 0.7, 4.1% of the Spanish ones leave the language unset
# (7.5% at 0.8; short questions of 1-3 words 20% against 27%) and 0.75% of the English ones would set
# Spanish (0.68% at 0.8).
FIRST_DECISION = 0.7
SWITCH = 0.9
# A crisis message that leans towards the other language than the conversation's (a Spanish
# speaker's crisis in English, "i want to die" scores 0.64 English) gets the crisis response in both.
CRISIS_OTHER_LANGUAGE = 0.6
# Languages whose greetings and courtesies alone decide a conversation's first language.
DECIDED_BY_A_PHRASE = ("es",)
# Pages whose language decides a conversation's first language when the message itself does not.
DECIDED_BY_THE_PAGE = ("es",)
# The metadata key the website widget sends the page's language in (web/src/clinic-chat.js).
PAGE_LANGUAGE_KEY = "page_language"
# Grammar words only one of the two languages has (accents dropped; "a", "me", "no" are in both).
# Lingua reads a Spanish message naming English things as English ("¿aceptan apple health?" 0.94, "el
# parking es free?" 0.92): a conversation switches only for a message with the new language's grammar
# words and none of its own ("do you take apple health?" switches a Spanish conversation).
FUNCTION_WORDS = {
    "es": frozenset(
        "el la los las un una unos unas al del de es esta estoy estan soy fue ser para por con sin que y o pero"
        " porque mi mis tu su sus se lo le les yo usted ustedes ella ellos tengo tiene tienen puedo puede pueden"
        " quiero necesito hay cuanto cuanta cuando donde como cual quien muy mas tambien eso esto".split()
    ),
    "en": frozenset(
        "the an is are was were be been do does did dont doesnt cant you youre your i im ive my we our they"
        " their it its this that what how when where which who can could will would should have of to for"
        " with and or but if on at please there".split()
    ),
}
# A first message written with one language's grammar and the other's nouns ("el treatment es safe
# para mi anxiety?", "cuanto cuesta el treatment y aceptan insurance"): Lingua reads the English nouns
# (0.99 and 0.62 English), the visitor reads Spanish. With at least this many of one language's grammar
# words and none of the other's, that language decides. Measured on the training examples (9,365
# English files, 6,144 Spanish): English set right 9,173 -> 9,208 (the English files' Spanish
# examples: "hay alguien que hable español?"), Spanish 5,941 -> 6,031 (two half-English crisis
# examples now read as English). One grammar word would also read "y r u so slow" as Spanish.
GRAMMAR_WORDS_TO_DECIDE = 2
# Answers to these questions (a name, a phone number or e-mail) say nothing about the language.
LANGUAGE_NEUTRAL_ANSWERS = ("full_name", "contact")


def visitor_language(tracker: Tracker) -> Optional[str]:
    language = tracker.get_slot("language")
    return language if language in LANGUAGES else None


def page_language(metadata: Any) -> Optional[str]:
    """The language of the page a message was sent from ("en"/"es", from "es-MX" too), or None."""
    value = metadata.get(PAGE_LANGUAGE_KEY) if isinstance(metadata, dict) else None
    if not isinstance(value, str):
        return None
    primary = re.split(r"[-_]", value.strip().lower())[0]
    return primary if primary in LANGUAGES else None


def language_after(
    current: Optional[str], detected: Optional[Dict[str, Any]], text: Optional[str], page: Optional[str] = None
) -> Optional[str]:
    """The conversation's language after the message `text` whose detection is `detected`, sent from
    a page in `page` (None: not from a web page, or its language unknown)."""
    if current is None:
        grammar = written_with_grammar_of(text)
        if grammar:
            return grammar
    if current is None and page in DECIDED_BY_THE_PAGE:
        if len((text or "").split()) < 2 and not (detected or {}).get("phrase"):
            detected = None  # "ok", "book": one word is no clear sign against the page
        return _language_after(None, detected) or page  # not clear from the message: the page decides
    chosen = _language_after(current, detected)
    if current is not None and chosen != current and not reads_as(text, chosen, rather_than=current):
        return current  # "¿aceptan apple health?": a Spanish question naming English things
    return chosen


def _language_after(current: Optional[str], detected: Optional[Dict[str, Any]]) -> Optional[str]:
    if not detected or detected.get("name") not in LANGUAGES:
        return current
    if detected.get("phrase"):
        return detected["name"] if current is None and detected["name"] in DECIDED_BY_A_PHRASE else current
    confidence = float(detected.get("confidence") or 0.0)
    if current is None:
        return detected["name"] if confidence >= FIRST_DECISION else None
    if detected["name"] != current and confidence >= SWITCH:
        return detected["name"]
    return current


def written_with_grammar_of(text: Optional[str]) -> Optional[str]:
    """The language whose grammar words a message is written with: at least GRAMMAR_WORDS_TO_DECIDE
    of them and none of the other language's; None when that does not settle it."""
    words = set(plain_words(text).split())
    for language, other in (("es", "en"), ("en", "es")):
        if len(words & FUNCTION_WORDS[language]) >= GRAMMAR_WORDS_TO_DECIDE and not words & FUNCTION_WORDS[other]:
            return language
    return None


def reads_as(text: Optional[str], language: str, rather_than: str) -> bool:
    """Whether `text` has the grammar words of `language` and none of `rather_than`'s: a sentence
    written in it, not a phrase borrowed from it ("el parking es free?", "tienen payment plans")."""
    words = set(plain_words(text).split())
    return bool(words & FUNCTION_WORDS[language]) and not words & FUNCTION_WORDS[rather_than]


LANGUAGE_NAMES = re.compile(r"\b(?:(spanish|espanol|castellano)|(english|ingles))\b")
# "no hablo inglés", "no le entiendo al inglés", "i don't speak spanish": up to three words between.
# "my english isn't great", "mi español es malo": about the visitor, not a request.
POSSESSIVE = re.compile(r"\b(?:my|mi)\s+$")
NEGATED = re.compile(r"\b(?:no|not|don't|dont|do not|ni)\s+(?:[\w']+\s+){0,3}$")


def language_named_in(text: str) -> Optional[str]:
    """"spanish please" / "en ingles por favor" / "no hablo inglés": the language a typed switch
    request asks for, the last one named (a negated one, "no hablo inglés", asks for the other;
    "my english" is no request)."""
    decomposed = unicodedata.normalize("NFD", (text or "").lower())
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    named = [bool(m[1]) != bool(NEGATED.search(folded[:m.start()])) for m in LANGUAGE_NAMES.finditer(folded)
             if not POSSESSIVE.search(folded[:m.start()])]
    return ("es" if named[-1] else "en") if named else None


class ActionDetectLanguage(Action):
    def name(self) -> Text:
        return "action_detect_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if tracker.get_slot("handoff_active"):
            return []  # a person is in the chat; nothing changes until they hand back
        chosen = next(tracker.get_latest_entity_values("language"), None)
        current = visitor_language(tracker)
        if chosen is None and (tracker.latest_message.get("intent") or {}).get("name") == "switch_language":
            # the language named, or ("otro idioma", "switch language") the other one: replies are English until set
            chosen = language_named_in(tracker.latest_message.get("text")) or ("en" if current == "es" else "es")
        if chosen not in LANGUAGES:
            if tracker.active_loop_name and tracker.get_slot("requested_slot") in LANGUAGE_NEUTRAL_ANSWERS:
                return []
            message = tracker.latest_message
            chosen = language_after(
                current, message.get("language"), message.get("text"), page_language(message.get("metadata"))
            )
            if chosen == current and crisis_in_the_other_language(current, message):
                chosen = None  # unclear which: the crisis response in both languages
        return [SlotSet("language", chosen)] if chosen != current else []


def crisis_in_the_other_language(current: Optional[str], message: Dict[str, Any]) -> bool:
    from actions.safety import CRISIS_INTENTS  # here: actions.safety imports this module

    detected = message.get("language") or {}
    return (
        current is not None
        and (message.get("intent") or {}).get("name") in CRISIS_INTENTS
        and not detected.get("phrase")
        and detected.get("name") in LANGUAGES and detected["name"] != current
        and float(detected.get("confidence") or 0.0) >= CRISIS_OTHER_LANGUAGE
    )
