"""Clarification when the assistant is not sure enough to answer: it never guesses.

The NLU pipeline turns a low-confidence message into `nlu_fallback` (FallbackClassifier for the
intent, FaqConfidenceGate for the FAQ answer). This action then offers the likeliest FAQ topics
as buttons, plus a way to a person.
"""
from pathlib import Path
from typing import Any, Dict, List, Text

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

FAQ_TOPICS: Dict[str, Dict[str, str]] = yaml.safe_load(
    (Path(__file__).parent / "faq_topics.yml").read_text(encoding="utf-8")
)

MAX_SUGGESTIONS = 3
# Topics the selector gives less than this are not worth offering as a button.
MIN_SUGGESTION_CONFIDENCE = 0.05

# Non-FAQ intents worth offering when they are among the likeliest.
INTENT_SUGGESTIONS = {
    "book_consultation": {"title": "Book a free consultation", "payload": "/book_consultation"},
}
TALK_TO_PERSON = {"title": "Talk to a person", "payload": "/request_human"}
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


def suggestion_buttons(parse_data: Dict[str, Any]) -> List[Dict[str, str]]:
    """The 2-3 likeliest answers for a message as buttons, from the intent and FAQ rankings.

    FAQ topics are offered only when an FAQ question is among the two likeliest intents, so an
    unrelated message is never met with unrelated topics.
    """
    intents = [
        item.get("name")
        for item in parse_data.get("intent_ranking") or []
        if item.get("name") != "nlu_fallback"
    ][:3]
    buttons = [INTENT_SUGGESTIONS[name] for name in intents if name in INTENT_SUGGESTIONS]
    if "faq" in intents[:2]:
        ranking = (parse_data.get("response_selector") or {}).get("faq", {}).get("ranking") or []
        for candidate in ranking:
            topic = str(candidate.get("intent_response_key", "")).partition("/")[2]
            if topic in FAQ_TOPICS and candidate.get("confidence", 0) >= MIN_SUGGESTION_CONFIDENCE:
                buttons.append({"title": FAQ_TOPICS[topic]["label"], "payload": FAQ_TOPICS[topic]["question"]})
    return buttons[:MAX_SUGGESTIONS]


class ActionClarify(Action):
    def name(self) -> Text:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if clarifications_in_a_row(tracker) >= MAX_CLARIFICATIONS_IN_A_ROW:
            dispatcher.utter_message(response="utter_clarification_failed")
            return [SlotSet("handoff_reason", "clarification_failed"), FollowupAction("action_offer_handoff")]
        suggestions = suggestion_buttons(tracker.latest_message)
        if suggestions:
            dispatcher.utter_message(response="utter_clarify", buttons=suggestions + [TALK_TO_PERSON])
        else:
            dispatcher.utter_message(response="utter_default")
        return []
