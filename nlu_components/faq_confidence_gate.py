"""Sends an unsure message to clarification, with thresholds for each language.

Rasa's FallbackClassifier looks only at the intent's confidence, with one threshold for every
message. Two things it cannot do, done here:
- **the FAQ answer**: a message can be confidently "some FAQ question" while the answer selector is
  torn between two answers; answering then would be a guess. Below `answer` (the chosen answer's
  confidence) or `answer_margin` (how far it leads the second-best answer), `nlu_fallback`.
- **one setting per language**: the intent classifier is less sure of itself in Spanish than in
  English for the same share of right answers, so one threshold either loses Spanish right
  answers or lets English guesses through (docs/thresholds.md). Each language (from
  LanguageDetector; a message in no clear language uses DEFAULT_LANGUAGE's) has its own `intent`
  and `intent_margin` (the top intent's confidence, and its lead over the second), applied on top
  of FallbackClassifier, which config.yml sets no stricter than the loosest language.

All four per language are tuned on the development set (scripts/tune_thresholds.py, `make tune`).

A third thing: **two questions in one message** ("is it addictive, and can I drive home after?").
When the answer selector found two or three (`more_questions` in its output: LinearResponseSelector's
`two_questions`), the message gets the answer to the first, and an entity `second_question` names
each other topic, which action_answer_second_question answers next (data/rules.yml). Being torn
between those answers is then no reason to ask which one was meant, so the answer settings are not
applied; the intent settings still are.

A fourth: **a question and a request for a person in one message** ("how much is it? and can I talk
to someone?"). When the intent classifier read one of the message's questions as request_human at
least `person_request` sure (QUESTION_INTENTS_KEY; that question gets no FAQ answer of its own), an
FAQ message gets an entity `person_requested`: after the answer, the offer of a person (data/rules.yml).
"""
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

from nlu_components.language_detector import LANGUAGE_KEY
from nlu_components.linear_classifiers import (
    MORE_QUESTIONS_KEY,
    QUESTION_INTENTS_KEY,
    QUESTION_PARTS_KEY,
    REQUEST_INTENTS,
)

RETRIEVAL_INTENT = "retrieval_intent"
THRESHOLDS = "thresholds"
PERSON_REQUEST = "person_request"
# The entity naming the topic of a message's second question (domain.yml).
SECOND_QUESTION_ENTITY = "second_question"
# The entity marking a request for a person asked beside an FAQ question (domain.yml, data/rules.yml).
PERSON_REQUESTED_ENTITY = "person_requested"
REQUEST_HUMAN_INTENT = "request_human"
DEFAULT_LANGUAGE = "en"
SETTINGS = ("intent", "intent_margin", "answer", "answer_margin")


def top_two(ranking: List[Dict[Text, Any]]) -> List[float]:
    confidences = [float(item.get(PREDICTED_CONFIDENCE_KEY) or 0.0) for item in ranking[:2]]
    return confidences + [0.0] * (2 - len(confidences))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class FaqConfidenceGate(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            RETRIEVAL_INTENT: "faq",
            THRESHOLDS: {DEFAULT_LANGUAGE: {"intent": 0.0, "intent_margin": 0.0, "answer": 0.5, "answer_margin": 0.0}},
            # a question of an FAQ message read as a request for a person at least this sure; None: never
            PERSON_REQUEST: None,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.retrieval_intent = config[RETRIEVAL_INTENT]
        self.person_request = config.get(PERSON_REQUEST)
        self.thresholds = {
            language: {name: float(settings.get(name) or 0.0) for name in SETTINGS}
            for language, settings in config[THRESHOLDS].items()
        }
        if DEFAULT_LANGUAGE not in self.thresholds:
            raise ValueError(f"FaqConfidenceGate: `{THRESHOLDS}` needs settings for '{DEFAULT_LANGUAGE}'")

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "FaqConfidenceGate":
        return cls(config)

    def settings(self, message: Message) -> Dict[Text, float]:
        language = (message.get(LANGUAGE_KEY) or {}).get("name")
        return self.thresholds.get(language) or self.thresholds[DEFAULT_LANGUAGE]

    def selector(self, message: Message) -> Dict[Text, Any]:
        return (message.get("response_selector") or {}).get(self.retrieval_intent) or {}

    def answer_confidences(self, message: Message) -> List[float]:
        """The chosen FAQ answer's confidence and the second-best answer's."""
        selector = self.selector(message)
        chosen = float((selector.get("response") or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        return [chosen, top_two(selector.get("ranking") or [])[1]]

    def more_questions(self, message: Message) -> List[Dict[Text, Any]]:
        """A `second_question` entity for each other FAQ question the answer selector found."""
        if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) != self.retrieval_intent:
            return []
        return [
            {
                ENTITY_ATTRIBUTE_TYPE: SECOND_QUESTION_ENTITY,
                ENTITY_ATTRIBUTE_VALUE: str(question[INTENT_RESPONSE_KEY]).partition("/")[2],
                ENTITY_ATTRIBUTE_START: question["start"],
                ENTITY_ATTRIBUTE_END: question["end"],
                EXTRACTOR: type(self).__name__,
            }
            for question in self.selector(message).get(MORE_QUESTIONS_KEY) or []
        ]

    def person_requested(self, message: Message) -> Tuple[List[Dict[Text, Any]], bool]:
        """A `person_requested` entity when a message asks an FAQ question and for a person ("how much
        is it? and can I talk to someone?"), and whether the message was read as the request: read
        as a whole, such a message is sometimes the question and sometimes the request. Read as the
        request, it becomes the FAQ question when the answer selector answered one of its other
        questions at least `person_request` sure (the answer is then that question's own)."""
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if self.person_request is None or intent not in (self.retrieval_intent, REQUEST_HUMAN_INTENT):
            return [], False
        least = float(self.person_request)
        questions = message.get(QUESTION_INTENTS_KEY) or []
        requests = [
            question for question in questions
            if question.get(INTENT_NAME_KEY) == REQUEST_HUMAN_INTENT
            and float(question.get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= least
        ]
        if not requests:
            return [], False
        read_as_request = intent == REQUEST_HUMAN_INTENT
        if read_as_request:
            selector = self.selector(message)
            chosen = (selector.get("response") or {}).get(INTENT_RESPONSE_KEY)
            answered = [
                part for part, question in zip(selector.get(QUESTION_PARTS_KEY) or [], questions, strict=False)
                if question.get(INTENT_NAME_KEY) not in REQUEST_INTENTS
                and part.get(INTENT_RESPONSE_KEY) == chosen
                and float(part.get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= least
            ]
            if not answered:
                return [], False
            faq = self.retrieval_intent
            asked = {INTENT_NAME_KEY: faq, PREDICTED_CONFIDENCE_KEY: answered[0][PREDICTED_CONFIDENCE_KEY]}
            others = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != faq]
            message.data[INTENT], message.data[INTENT_RANKING_KEY] = asked, [asked] + others
        entity = {
            ENTITY_ATTRIBUTE_TYPE: PERSON_REQUESTED_ENTITY,
            ENTITY_ATTRIBUTE_VALUE: REQUEST_HUMAN_INTENT,
            ENTITY_ATTRIBUTE_START: requests[0]["start"],
            ENTITY_ATTRIBUTE_END: requests[0]["end"],
            EXTRACTOR: type(self).__name__,
        }
        return [entity], read_as_request

    def unsure_threshold(self, message: Message, check_answer: bool = True) -> Optional[float]:
        """The threshold the message falls below, or None if it is sure enough."""
        settings = self.settings(message)
        intent = message.get(INTENT) or {}
        first, second = top_two(message.get(INTENT_RANKING_KEY) or [intent])
        if first < settings["intent"] or first - second < settings["intent_margin"]:
            return settings["intent"]
        if check_answer and intent.get(INTENT_NAME_KEY) == self.retrieval_intent:
            chosen, runner_up = self.answer_confidences(message)
            if chosen < settings["answer"] or chosen - runner_up < settings["answer_margin"]:
                return settings["answer"]
        return None

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if not intent.get(INTENT_NAME_KEY) or intent.get(INTENT_NAME_KEY) == DEFAULT_NLU_FALLBACK_INTENT_NAME:
                continue
            person_requested, read_as_request = self.person_requested(message)
            more_questions = self.more_questions(message)
            # read as the request, the question's own answer was sure: no reason to ask which was meant
            threshold = None if read_as_request else self.unsure_threshold(message, check_answer=not more_questions)
            if threshold is None:
                found = more_questions + person_requested
                if found:
                    message.set(ENTITIES, (message.get(ENTITIES) or []) + found, add_to_output=True)
                continue
            fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: threshold}
            message.data[INTENT] = fallback
            message.data.setdefault(INTENT_RANKING_KEY, []).insert(0, fallback)
        return messages
