"""A deterministic net under the crisis classifier: recall matters more than precision here.

After every other NLU component has run, a message that matches a crisis pattern
(crisis_patterns.yml, written for clinical review) is never left to the other intents: it gets
the crisis response (tier "sure") when the crisis classifier also finds a crisis more likely than
not (its score at least `classifier_agreement`), and the check-in (tier "check") when the
classifier disagrees, whatever the other classifiers said. The pattern's name is kept on the parse
result, so staff can see why. The crisis classifier (crisis_classifier.py) carries
generalization; these patterns are the floor under it. Why the classifier has a say: on phrasings
written blind, most of the patterns' false alarms were professionals' referral questions, calm
past history, idioms and dreams, which the classifier scores low (docs/crisis-thresholds.md).
A pattern counts only when the classifier's score reaches `pattern_floor`: the highest floor at
which cross-validation on the training data takes the check-in from no crisis example (0 while any
would be lost; docs/crisis-thresholds.md, "Pattern floors"). A pattern that only names the subject
("suicidal", "overdose": the `topic` group) needs the higher `topic_floor`; a message that is nothing
but a call for help ("help", "socorro": the `cry_for_help` group) needs none.
"""
import re
import unicodedata
from itertools import chain
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu_components.crisis_classifier import (
    CRISIS_INTENT,
    CRISIS_KEY,
    CRISIS_SCORE_KEY,
    POSSIBLE_CRISIS_INTENT,
    set_intent,
)

DEFAULT_PATTERNS_FILE = Path(__file__).with_name("crisis_patterns.yml")
APOSTROPHES = re.compile(r"['’‘`´]")
NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Lowercase, drop accents ("está" -> "esta") and apostrophes, and turn every other
    non-alphanumeric run into one space."""
    unaccented = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return NON_WORD.sub(" ", APOSTROPHES.sub("", unaccented)).strip()


class CrisisMatcher:
    """The pattern logic, separate from Rasa so that it can be tested and reused on its own."""

    def __init__(self, patterns: Dict[str, Any]) -> None:
        self.always = {name: re.compile(rx) for name, rx in patterns["always"].items()}
        self.personal = {name: re.compile(rx) for name, rx in patterns["personal"].items()}
        self.topic = {name: re.compile(rx) for name, rx in patterns.get("topic", {}).items()}
        self.cry_for_help = {name: re.compile(rx) for name, rx in patterns.get("cry_for_help", {}).items()}
        self.general_question = re.compile(patterns["general_question"])
        self.person_markers = re.compile(patterns["person_markers"])
        self.not_current = re.compile(patterns["not_current"])

    @classmethod
    def from_file(cls, path: Path = DEFAULT_PATTERNS_FILE) -> "CrisisMatcher":
        return cls(yaml.safe_load(Path(path).read_text(encoding="utf-8")))

    def match(self, text: Optional[str]) -> Optional[str]:
        """The name of the first crisis pattern the text matches, or None."""
        if not text:
            return None
        normalised = normalise(text)
        for name, pattern in chain(self.cry_for_help.items(), self.always.items()):
            if pattern.search(normalised):
                return name
        for name, pattern in chain(self.personal.items(), self.topic.items()):
            if pattern.search(normalised) and not self.is_general_or_past(normalised):
                return name
        return None

    def names_topic_only(self, name: Optional[str]) -> bool:
        """Whether the pattern `match` returned only names the subject (the `topic` group)."""
        return name in self.topic

    def is_cry_for_help(self, name: Optional[str]) -> bool:
        """Whether the pattern `match` returned is a whole message that only calls for help."""
        return name in self.cry_for_help

    def is_general_or_past(self, normalised: str) -> bool:
        general = bool(self.general_question.search(normalised)) and not self.person_markers.search(normalised)
        return general or bool(self.not_current.search(normalised))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CrisisSafetyNet(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"patterns_file": None, "classifier_agreement": 0.5, "pattern_floor": 0.0, "topic_floor": 0.0}

    def __init__(
        self,
        matcher: CrisisMatcher,
        classifier_agreement: float = 0.5,
        pattern_floor: float = 0.0,
        topic_floor: float = 0.0,
    ) -> None:
        self.matcher = matcher
        self.classifier_agreement = classifier_agreement
        self.pattern_floor = pattern_floor
        self.topic_floor = topic_floor

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CrisisSafetyNet":
        return cls(
            CrisisMatcher.from_file(config.get("patterns_file") or DEFAULT_PATTERNS_FILE),
            float(config["classifier_agreement"]),
            float(config["pattern_floor"]),
            float(config["topic_floor"]),
        )

    def acts_on(self, pattern: Optional[str], score: float) -> bool:
        """Whether a match of `pattern` brings at least the check-in, given the detector's score
        (scripts/tune_crisis.py scores candidate thresholds with this too)."""
        if pattern is None:
            return False
        if self.matcher.is_cry_for_help(pattern):
            return True  # the detector reads next to nothing in "help": no floor (crisis_patterns.yml)
        return score >= (self.topic_floor if self.matcher.names_topic_only(pattern) else self.pattern_floor)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            pattern = self.matcher.match(message.get(TEXT))
            # without a crisis classifier in the pipeline, the pattern alone decides
            score = message.get(CRISIS_SCORE_KEY, 1.0)
            if not self.acts_on(pattern, score):
                continue
            sure = score >= self.classifier_agreement
            set_intent(message, CRISIS_INTENT if sure else POSSIBLE_CRISIS_INTENT, 1.0 if sure else score)
            crisis = {"tier": "sure" if sure else "check", "score": round(score, 3), "reason": f"pattern: {pattern}"}
            message.set(CRISIS_KEY, crisis, add_to_output=True)
        return messages
