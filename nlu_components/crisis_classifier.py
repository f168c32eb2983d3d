"""The crisis detector: a classifier of its own, in two tiers, for English and Spanish.

A linear model (the same training, calibration and nearest-neighbour features as the intent
classifier, see linear_classifiers.py) learns "crisis" against every other training example, on
the multilingual USE sentence embedding plus character and word n-grams. Hard negatives ("this
wait is killing me", research questions, family history) are training examples of their own
intents, so the model learns where the line is. Its probability decides:

- at or above `sure_threshold`: the `crisis` intent: the crisis response at once;
- at or above `check_threshold`: the `possible_crisis` intent: a short, direct check-in question
  with 988 and 911 in it (data/rules.yml); never "I didn't follow that";
- below: the message keeps the intent the other classifiers gave it. If that intent was `crisis`
  (the intent classifier also knows crisis examples), it becomes `possible_crisis`: when the two
  disagree, the visitor is asked rather than ignored.

Both thresholds are chosen by cross-validation on the training data (scripts/tune_crisis.py,
docs/crisis-thresholds.md): recall first. The deterministic patterns (crisis_safety_net.py) run
after this and remain a floor: a message they match gets at least the check-in. The parse result
carries `crisis`: {"tier", "score", "reason"} for the staff console.
"""
import re
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.linear_classifiers import LinearTextClassifier, calibrated_probabilities
from nlu_components.use_encoder import MultilingualEncoder

CRISIS_INTENT = "crisis"
POSSIBLE_CRISIS_INTENT = "possible_crisis"
OTHER = "other"
# What the parse result carries for staff and for the actions: tier "sure" or "check".
CRISIS_KEY = "crisis"
# The detector's score for every message, for the crisis patterns that run after it (not in the
# parse result).
CRISIS_SCORE_KEY = "crisis_score"
# A crisis is often one clause of an ordinary question ("how much is it? i won't be around
# anyway"): each clause is scored too (see crisis_scores).
CLAUSE_BREAK = re.compile(
    r"[.?!;,¿¡]+|\b(?:but|because|cause|also|pero|porque|aunque|tambien|también)\b", re.IGNORECASE
)
MIN_CLAUSE_WORDS = 3


def clauses(text: str) -> List[str]:
    """The clauses of a message made of more than one, each of at least MIN_CLAUSE_WORDS words. A
    short question before the crisis ("¿aceptan seguro? a veces pienso en quitarme la vida") is left
    out, and the crisis is then scored as the clause it is."""
    segments = [part.strip() for part in CLAUSE_BREAK.split(text or "") if part.strip()]
    if len(segments) < 2:
        return []
    return [part for part in segments if len(part.split()) >= MIN_CLAUSE_WORDS]


def combined_score(whole: float, clause_scores: List[float], sure_threshold: float) -> float:
    """The message's score: its own probability, or a clause's if that clause alone reaches
    `sure_threshold` (scripts/tune_crisis.py scores every candidate threshold this way)."""
    return max([whole] + [p for p in clause_scores if p >= sure_threshold])


def crisis_tier(score: float, sure_threshold: float, check_threshold: float) -> Optional[str]:
    if score >= sure_threshold:
        return "sure"
    if score >= check_threshold:
        return "check"
    return None


def set_intent(message: Message, name: str, confidence: float) -> None:
    """Make `name` the message's intent, first in the ranking, without losing the other candidates."""
    intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
    ranking = [
        item
        for item in message.get(INTENT_RANKING_KEY) or []
        if item.get(INTENT_NAME_KEY) not in (CRISIS_INTENT, POSSIBLE_CRISIS_INTENT)
    ]
    message.set(INTENT, intent, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [intent] + ranking, add_to_output=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CrisisClassifier(LinearTextClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **LinearTextClassifier.get_default_config(),
            "dense_featurizer": "use",  # for the record: it embeds with MultilingualEncoder itself
            "sure_threshold": 0.5,
            "check_threshold": 0.1,
        }

    def labelled_examples(self, training_data: TrainingData) -> List[Message]:
        return [m for m in training_data.intent_examples if m.get(INTENT) and m.get("text")]

    def label_of(self, message: Message) -> Text:
        return CRISIS_INTENT if message.get(INTENT) == CRISIS_INTENT else OTHER

    def sentence_embeddings(self, messages: List[Message]) -> np.ndarray:
        # Its own encoder call rather than the featurizer's features, so that clauses can be scored
        # (the encoder's cache makes the whole message free).
        return MultilingualEncoder().encode([m.get("text") for m in messages])

    def crisis_probabilities(self, messages: List[Message]) -> List[Tuple[float, List[float]]]:
        """Each message's crisis probability, and each of its clauses' (see `clauses`)."""
        texts = [[m.get("text")] + clauses(m.get("text")) for m in messages]
        flat = [Message(data={"text": text}) for group in texts for text in group]
        classifier = self.model["classifier"]
        column = list(classifier.classes_).index(CRISIS_INTENT)
        probabilities = calibrated_probabilities(classifier, self.features(self.model, flat))[:, column]
        result, start = [], 0
        for group in texts:
            whole, parts = probabilities[start], probabilities[start + 1 : start + len(group)]
            result.append((float(whole), [float(p) for p in parts]))
            start += len(group)
        return result

    def crisis_scores(self, messages: List[Message]) -> List[float]:
        """Each message's crisis probability; a clause that is a crisis on its own (at least
        `sure_threshold`) raises its message to that score. A clause that only looks a little like
        one does not: cross-validation showed that doubles the check-ins for ordinary questions
        while catching almost no more crises (docs/crisis-thresholds.md)."""
        sure = float(self.config["sure_threshold"])
        return [combined_score(whole, parts, sure) for whole, parts in self.crisis_probabilities(messages)]

    def process(self, messages: List[Message]) -> List[Message]:
        with_text = [m for m in messages if m.get("text")]
        if not self.model or not with_text:
            return messages
        for message, score in zip(with_text, self.crisis_scores(with_text), strict=True):
            message.set(CRISIS_SCORE_KEY, score)
            tier = crisis_tier(score, float(self.config["sure_threshold"]), float(self.config["check_threshold"]))
            classified_as_crisis = (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == CRISIS_INTENT
            if tier is None and classified_as_crisis:
                tier = "check"
            if tier is None:
                continue
            set_intent(message, CRISIS_INTENT if tier == "sure" else POSSIBLE_CRISIS_INTENT, score)
            message.set(
                CRISIS_KEY, {"tier": tier, "score": round(score, 3), "reason": "classifier"}, add_to_output=True
            )
        return messages
