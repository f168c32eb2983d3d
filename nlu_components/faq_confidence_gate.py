"""Sends a message to clarification when the response selector is unsure which FAQ answer fits.

Rasa's FallbackClassifier looks only at the intent's confidence. A message can be confidently
"some FAQ question" while the response selector is torn between two answers; answering then would
be a guess. This gate turns such a message into `nlu_fallback`, like FallbackClassifier does, when
the chosen answer's confidence is below `threshold` or when it leads the second-best answer by less
than `margin` (0: no margin rule). Both are tuned by cross-validation (scripts/tune_thresholds.py).
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
MARGIN = "margin"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class FaqConfidenceGate(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {RETRIEVAL_INTENT: "faq", THRESHOLD: 0.5, MARGIN: 0.0}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.retrieval_intent = config[RETRIEVAL_INTENT]
        self.threshold = float(config[THRESHOLD])
        self.margin = float(config.get(MARGIN) or 0.0)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "FaqConfidenceGate":
        return cls(config)

    def selector(self, message: Message) -> Dict[Text, Any]:
        return (message.get("response_selector") or {}).get(self.retrieval_intent) or {}

    def answer_confidence(self, message: Message) -> float:
        return float((self.selector(message).get("response") or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0)

    def answer_margin(self, message: Message) -> float:
        """The chosen answer's confidence minus the second-best answer's (its own if there is none)."""
        ranking = self.selector(message).get("ranking") or []
        second = float(ranking[1].get(PREDICTED_CONFIDENCE_KEY) or 0.0) if len(ranking) > 1 else 0.0
        return self.answer_confidence(message) - second

    def sure(self, message: Message) -> bool:
        return self.answer_confidence(message) >= self.threshold and self.answer_margin(message) >= self.margin

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) != self.retrieval_intent:
                continue
            if self.sure(message):
                continue
            fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: self.threshold}
            message.data[INTENT] = fallback
            message.data.setdefault(INTENT_RANKING_KEY, []).insert(0, fallback)
        return messages
