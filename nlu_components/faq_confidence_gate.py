"""Sends a message to clarification when the response selector is unsure which FAQ answer fits.

Rasa's FallbackClassifier looks only at the intent's confidence. A message can be confidently
"some FAQ question" while the response selector is torn between two answers; answering then would
be a guess. This gate turns such a message into `nlu_fallback`, like FallbackClassifier does.
"""
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

RETRIEVAL_INTENT = "retrieval_intent"
THRESHOLD = "threshold"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class FaqConfidenceGate(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {RETRIEVAL_INTENT: "faq", THRESHOLD: 0.5}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.retrieval_intent = config[RETRIEVAL_INTENT]
        self.threshold = float(config[THRESHOLD])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "FaqConfidenceGate":
        return cls(config)

    def answer_confidence(self, message: Message) -> float:
        selector = (message.get("response_selector") or {}).get(self.retrieval_intent) or {}
        return float((selector.get("response") or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) != self.retrieval_intent:
                continue
            if self.answer_confidence(message) >= self.threshold:
                continue
            fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: self.threshold}
            message.data[INTENT] = fallback
            message.data.setdefault(INTENT_RANKING_KEY, []).insert(0, fallback)
        return messages
