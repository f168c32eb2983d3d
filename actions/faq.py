"""FAQ answers beyond the one Rasa's `utter_faq` gives: the second of two questions asked in one
message, and the clarification when the assistant is not sure enough to answer (it never guesses).

A message that asks two or three FAQ questions carries an entity `second_question` for each one
`utter_faq` did not answer (nlu_components/faq_confidence_gate.py), and a rule answers them right after.

The NLU pipeline turns a low-confidence message into `nlu_fallback` (FallbackClassifier for the
intent, FaqConfidenceGate for the FAQ answer). This action then offers the likeliest FAQ topics
as buttons, plus a way to a person; the topic of the previous answer comes first (actions/follow_up.py).
In a Spanish conversation the buttons are in Spanish, and a topic button sends the topic's Spanish
question (clinic/faq_topics.yml), so that the conversation stays in Spanish.
"""
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.follow_up import topic_in_play
from actions.language import visitor_language
from clinic.faq_topics import FAQ_FOLLOW_UPS, FAQ_TOPICS

SECOND_QUESTION_ENTITY = "second_question"
MAX_SUGGESTIONS = 3
# Topics the selector gives less than this are not worth offering as a button.
MIN_SUGGESTION_CONFIDENCE = 0.05

# Non-FAQ intents worth offering when they are among the likeliest.
INTENT_SUGGESTIONS = {
    "book_consultation": {"title": "Book a free consultation", "payload": "/book_consultation"},
}
TALK_TO_PERSON = {"title": "Talk to a person", "payload": "/request_human"}
# The same buttons for a Spanish conversation (titles as in domain.yml's Spanish responses).
INTENT_SUGGESTIONS_ES = {
    "book_consultation": {"title": "Agendar una consulta gratuita", "payload": "/book_consultation"},
}
TALK_TO_PERSON_ES = {"title": "Hablar con una persona", "payload": "/request_human"}
# After this many clarifications in a row, a person is offered instead of another guess-list.
MAX_CLARIFICATIONS_IN_A_ROW = 3


def clarifications_in_a_row(tracker: Tracker) -> int:
    """How many of the visitor's latest messages in a row fell to clarification (this one included)."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if (event.get("parse_data") or {}).get("intent", {}).get("name") != "nlu_fallback":
            break
        count += 1
    return count


def talk_to_person(language: Optional[str] = None) -> Dict[str, str]:
    return dict(TALK_TO_PERSON_ES if language == "es" else TALK_TO_PERSON)


def topic_button(topic: str, language: Optional[str] = None) -> Dict[str, str]:
    entry = FAQ_TOPICS[topic]
    if language == "es":
        return {"title": entry["label_es"], "payload": entry["question_es"]}
    return {"title": entry["label"], "payload": entry["question"]}


def suggestion_buttons(parse_data: Dict[str, Any], language: Optional[str] = None) -> List[Dict[str, str]]:
    """The 2-3 likeliest answers for a message as buttons, from the intent and FAQ rankings.

    FAQ topics are offered only when an FAQ question is among the two likeliest intents, so an
    unrelated message is never met with unrelated topics. `language` "es" gives Spanish buttons.
    """
    intents = [
        item.get("name")
        for item in parse_data.get("intent_ranking") or []
        if item.get("name") != "nlu_fallback"
    ][:3]
    suggestions = INTENT_SUGGESTIONS_ES if language == "es" else INTENT_SUGGESTIONS
    buttons = [dict(suggestions[name]) for name in intents if name in suggestions]
    if "faq" in intents[:2]:
        ranking = (parse_data.get("response_selector") or {}).get("faq", {}).get("ranking") or []
        for candidate in ranking:
            topic = str(candidate.get("intent_response_key", "")).partition("/")[2]
            if topic in FAQ_TOPICS and candidate.get("confidence", 0) >= MIN_SUGGESTION_CONFIDENCE:
                buttons.append(topic_button(topic, language))
    return buttons[:MAX_SUGGESTIONS]


def likely_follow_up(parse_data: Dict[str, Any]) -> bool:
    """Whether a follow-up question ("and how long?") is among the two likeliest intents."""
    ranking = parse_data.get("intent_ranking") or []
    intents = [item.get("name") for item in ranking if item.get("name") != "nlu_fallback"]
    return any(name in FAQ_FOLLOW_UPS for name in intents[:2])


def with_topic_in_play_first(
    buttons: List[Dict[str, str]], topic: Optional[str], language: Optional[str]
) -> List[Dict[str, str]]:
    """The topic of the previous answer first: an unclear short question most likely leans on it."""
    if not topic:
        return buttons
    first = topic_button(topic, language)
    return ([first] + [button for button in buttons if button != first])[:MAX_SUGGESTIONS]


class ActionClarify(Action):
    def name(self) -> Text:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if clarifications_in_a_row(tracker) >= MAX_CLARIFICATIONS_IN_A_ROW:
            dispatcher.utter_message(response="utter_clarification_failed")
            return [SlotSet("handoff_reason", "clarification_failed"), FollowupAction("action_offer_handoff")]
        language = visitor_language(tracker)
        suggestions = suggestion_buttons(tracker.latest_message, language)
        if suggestions or likely_follow_up(tracker.latest_message):
            suggestions = with_topic_in_play_first(suggestions, topic_in_play(tracker), language)
        if suggestions:
            dispatcher.utter_message(response="utter_clarify", buttons=suggestions + [talk_to_person(language)])
        else:
            dispatcher.utter_message(response="utter_default")
        return []


class ActionAnswerSecondQuestion(Action):
    def name(self) -> Text:
        return "action_answer_second_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        topics = [
            entity.get("value")
            for entity in tracker.latest_message.get("entities") or []
            if entity.get("entity") == SECOND_QUESTION_ENTITY
        ]
        for topic in dict.fromkeys(topic for topic in topics if isinstance(topic, str) and topic in FAQ_TOPICS):
            dispatcher.utter_message(response=f"utter_faq/{topic}")
        return []
