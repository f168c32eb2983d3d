"""Follow-up questions that lean on the previous answer: "and how long does that last?", "how much
is that?", "what about for PTSD?", "is that safe?", "how often?" (and their Spanish twins).

Each kind of follow-up is an intent of its own (follow_up_duration, ...). The topic in play is the
FAQ topic of the visitor's latest answered question in this session; clinic/faq_follow_ups.yml says
which answer each follow-up gets after each topic, and which one when no topic is in play. The
clarification offers the topic in play first too (actions/faq.py).
"""
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from clinic.faq_topics import FAQ_FOLLOW_UPS, FAQ_TOPICS, follow_up_answer

FAQ_INTENT = "faq"
# A question further back than this many visitor messages is no longer "in play".
CONTEXT_MESSAGES = 6


def answered_topic(parse_data: Dict[str, Any]) -> Optional[str]:
    """The FAQ topic a message was answered with, or None when it was not an answered FAQ question."""
    if (parse_data.get("intent") or {}).get("name") != FAQ_INTENT:
        return None
    response = ((parse_data.get("response_selector") or {}).get(FAQ_INTENT) or {}).get("response") or {}
    topic = str(response.get("intent_response_key") or "").partition("/")[2]
    return topic if topic in FAQ_TOPICS else None


def topic_in_play(tracker: Tracker) -> Optional[str]:
    """The topic of the visitor's latest answered FAQ question before this message, in this session.

    Follow-ups keep the topic in play ("side effects?" "how long do they last?" "are they safe?"), and
    so does small talk in between; a new session or CONTEXT_MESSAGES visitor messages end it.
    """
    user_messages = 0
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return None
        if event.get("event") != "user":
            continue
        user_messages += 1
        if user_messages == 1:
            continue  # the follow-up itself
        if user_messages > CONTEXT_MESSAGES + 1:
            return None
        topic = answered_topic(event.get("parse_data") or {})
        if topic:
            return topic
    return None


class ActionAnswerFollowUp(Action):
    def name(self) -> Text:
        return "action_answer_follow_up"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        follow_up = (tracker.latest_message.get("intent") or {}).get("name")
        if follow_up not in FAQ_FOLLOW_UPS:
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(response=follow_up_answer(follow_up, topic_in_play(tracker)))
        return []
