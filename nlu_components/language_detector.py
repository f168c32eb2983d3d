"""Which of the clinic's two languages a message is in: English or Spanish.

Adds `language` to the parse result, e.g. {"name": "es", "confidence": 0.97}, from Lingua limited
to English and Spanish (its language models ship inside the wheel; nothing is downloaded). Short
messages are often ambiguous ("no", "ok", "hola" scores 0.66): the component only reports; the
conversation decides what to do with it (actions/language.py keeps the conversation's language
unless a message is clearly in the other one).
"""
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


class TwoLanguageDetector:
    """Lingua for English and Spanish, built once per process and warmed up (its first call loads data)."""

    _lingua = None

    def __init__(self) -> None:
        if TwoLanguageDetector._lingua is None:
            detector = LanguageDetectorBuilder.from_languages(*CODES).build()
            detector.compute_language_confidence_values("hola, how are you")
            TwoLanguageDetector._lingua = detector
        self.lingua = TwoLanguageDetector._lingua

    def detect(self, text: Optional[str]) -> Optional[Dict[str, Any]]:
        """{"name": "en"|"es", "confidence": 0..1}, or None when the text has no letters to judge."""
        if not text or not any(char.isalpha() for char in text):
            return None
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
