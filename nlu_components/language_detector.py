"""Which of the clinic's two languages a message is in: English or Spanish.

Adds `language` to the parse result, e.g. {"name": "es", "confidence": 0.97}, from Lingua limited
to English and Spanish (its language models ship inside the wheel; nothing is downloaded). Short
messages are often ambiguous to Lingua ("no", "ok", "hola" scores 0.66, "hello" 0.62 Spanish), so
greetings and courtesies are looked up first in a short curated list per language (SHORT_PHRASES):
a message made only of them ("hola", "buenas tardes", "hi there", "thanks") is reported as that
language with "phrase": True. The component only reports; the conversation decides what to do with
it (actions/language.py keeps the conversation's language unless a message is clearly in the other
one, and a phrase never switches it).
"""
import re
import unicodedata
from typing import Any, Dict, List, Optional, Text

from lingua import Language, LanguageDetectorBuilder
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

LANGUAGE_KEY = "language"
CODES = {Language.ENGLISH: "en", Language.SPANISH: "es"}
# Greetings and courtesies that belong to one language only, written without accents or
# punctuation; a message is one of them, or several of the same language ("hola buenas tardes").
SHORT_PHRASES = {
    "es": ("hola", "ola", "holi", "buenas", "buenos dias", "buen dia", "buenas tardes", "buenas noches", "que tal",
           "como esta", "como estas", "que onda", "saludos", "gracias", "muchas gracias", "mil gracias",
           "muchisimas gracias", "adios", "hasta luego", "hasta pronto", "nos vemos", "disculpe", "oiga"),
    "en": ("hi", "hello", "hey", "hiya", "howdy", "hi there", "hello there", "hey there", "good morning",
           "good afternoon", "good evening", "thanks", "thank you", "thanks a lot", "thank you so much", "thx",
           "bye", "goodbye", "bye bye", "see you", "excuse me"),
}


def _words(text: str) -> List[str]:
    """Lower case, without accents, punctuation or emoji, a last letter typed again and again once ("holaaa")."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    letters = "".join(ch if ch.isalpha() else " " for ch in decomposed if not unicodedata.combining(ch))
    return [re.sub(r"(\w)\1+$", r"\1", word) for word in letters.split()]


KNOWN_PHRASES = {language: {tuple(_words(phrase)) for phrase in phrases} for language, phrases in SHORT_PHRASES.items()}
LONGEST_PHRASE = max(len(phrase) for phrases in KNOWN_PHRASES.values() for phrase in phrases)


def short_phrase_language(text: Optional[str]) -> Optional[str]:
    """ "es" or "en" when the text is nothing but greetings and courtesies of that one language."""
    words = _words(text or "")
    if not words or len(words) > 3 * LONGEST_PHRASE:
        return None
    for language, known in KNOWN_PHRASES.items():
        covered = [True] + [False] * len(words)  # covered[i]: words[:i] is a run of known phrases
        for end in range(1, len(words) + 1):
            covered[end] = any(covered[end - size] and tuple(words[end - size:end]) in known
                               for size in range(1, min(LONGEST_PHRASE, end) + 1))
        if covered[-1]:
            return language
    return None


# Long enough for every n-gram length Lingua uses (up to five letters), in English and Spanish.
WARM_UP = "Is the infusion safe for someone who already takes medication for anxiety? ¿Y cuánto dura?"


class TwoLanguageDetector:
    """Lingua for English and Spanish, built once per process and warmed up with a long sentence,
    which loads the n-gram models long messages need (0.4 s, at start; after it, none of 1,234
    development questions took more than 0.4 ms): warmed up with a short one, the first long message
    of a new server process waited a quarter of a second for them (measured). Not Lingua's
    own preloading: it loads in a pool of threads that stay, and with them a two-worker server once
    missed its stop signal in the test suite (tests/test_production.py; the threads were the only
    difference, the mechanism is not proven)."""

    _lingua = None

    def __init__(self) -> None:
        if TwoLanguageDetector._lingua is None:
            detector = LanguageDetectorBuilder.from_languages(*CODES).build()
            detector.compute_language_confidence_values(WARM_UP)
            TwoLanguageDetector._lingua = detector
        self.lingua = TwoLanguageDetector._lingua

    def detect(self, text: Optional[str]) -> Optional[Dict[str, Any]]:
        """{"name": "en"|"es", "confidence": 0..1}, or None when the text has no letters to judge.

        A greeting or courtesy from SHORT_PHRASES: {"name": ..., "confidence": 1.0, "phrase": True}."""
        if not text or not any(char.isalpha() for char in text):
            return None
        phrase = short_phrase_language(text)
        if phrase:
            return {"name": phrase, "confidence": 1.0, "phrase": True}
        best = self.lingua.compute_language_confidence_values(text)[0]
        if best.value <= 0.0:
            return None
        return {"name": CODES[best.language], "confidence": round(float(best.value), 3)}


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class LanguageDetector(GraphComponent):
    def __init__(self) -> None:
        self.detector = TwoLanguageDetector()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LanguageDetector":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            detected = self.detector.detect(message.get(TEXT))
            if detected:
                message.set(LANGUAGE_KEY, detected, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # the classifiers learn both languages alike: no language needed here
