"""Crisis safety: the crisis response, the check-in for a possible crisis, and the answer to it.

The NLU decides the tier (nlu_components/crisis_classifier.py): `crisis` gets the crisis response
at once; `possible_crisis` gets one short, direct question (are you thinking about ending your life
or hurting yourself right now?) with 988 and 911 in it. "Yes" (or "maybe", "no sé") leads to the
crisis response; "no" carries on with what the visitor had asked, as if the check-in had not been
needed. Every crisis response and every "yes" alerts the staff on duty (clinic/notifier.py), without
the visitor's words.
"""
import asyncio
import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ActiveLoop,
    EventType,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa_sdk.executor import CollectingDispatcher

from actions.language import visitor_language
from clinic import settings
from clinic.check_in import check_in_answer
from clinic.notifier import notifier_from_env
from clinic.words import plain_words

logger = logging.getLogger(__name__)

CRISIS_INTENTS = ("crisis", "possible_crisis")
# Crisis patterns (nlu_components/crisis_patterns.yml) that name a medical emergency happening now
# (someone unconscious, chest pain, a stroke, a bad reaction, an overdose taken): the crisis response
# then opens with "call 911 now" (utter_crisis_medical), before the crisis lines. Messages only the
# classifier caught get utter_crisis, whose first line is 911 too.
MEDICAL_EMERGENCY_PATTERNS = frozenset({
    "unresponsive", "collapse_now", "chest_pain_now", "bad_reaction_now", "emergency_now",
    "collapse_or_unresponsive", "stroke_seizure", "es_emergency_now",
    "overdose_taken", "overdose_first_person", "es_overdose_now",
})
# Bodily signs of a medical emergency, in plain words (clinic/words.py: lower case, no accents). A
# message already judged a crisis that names one gets utter_crisis_medical too, though no medical
# pattern matched ("my mom had her infusion this morning and now her chest hurts and she's breathing
# weird", a blind QA finding): the response says it may be a medical emergency, then gives the crisis
# lines. On the crisis training examples these words name medical emergencies and overdoses only
# (none of the direct, passive, behavioural or self-harm ones; one Spanish violence example, a
# strangling that ended in fainting). Only the choice of response: detection is the NLU's.
MEDICAL_SIGNS = re.compile(
    r"\b(chest|breath|breathe|breathing|heart (is )?(racing|pounding)|throwing up|vomit\w*|faint\w*|passed out"
    r"|seizure\w*|seizing|convuls\w*|unconscious|slurr\w*|droop\w*|swell\w*|swollen|allergic|lips (are |look )?blue"
    r"|blue lips|pecho|respir\w*|corazon (me )?(late|esta|bien acelerado|acelerado)|late el corazon|desmay\w*"
    r"|inconsciente|hinchad\w*|alergi\w*|labios morados)\b"
)
# After "no" to the check-in, the message is answered again only if its ordinary intent is at least
# as sure as config.yml's FallbackClassifier asks of any message (threshold 0.55).
REPLAY_CONFIDENCE = 0.55


def stop_active_form(tracker: Tracker) -> List[EventType]:
    if tracker.active_loop_name:
        return [ActiveLoop(None), SlotSet("requested_slot", None)]
    return []


def alert_staff(tracker: Tracker, tier: str) -> None:
    """Tells the staff on duty at once; the alert names the conversation, never its words."""
    try:
        notifier_from_env().notify_crisis(settings.console_conversation_link(tracker.sender_id), tier)
    except Exception:  # the visitor's crisis response must never wait on, or fail with, an alert
        logger.exception("Crisis alert for a conversation could not be sent; it is flagged in the console.")


def crisis_message(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The visitor's latest message the crisis detector flagged (a crisis, or a possible crisis)."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent in CRISIS_INTENTS:
            return event
    return None


def crisis_response_for(message: Optional[Dict[str, Any]]) -> str:
    """utter_crisis_medical when the crisis patterns found a medical emergency in the message, or it
    names a bodily sign of one (MEDICAL_SIGNS)."""
    reason = str(((message or {}).get("parse_data") or {}).get("crisis", {}).get("reason") or "")
    pattern = reason.removeprefix("pattern: ") if reason.startswith("pattern: ") else None
    if pattern in MEDICAL_EMERGENCY_PATTERNS or MEDICAL_SIGNS.search(plain_words((message or {}).get("text"))):
        return "utter_crisis_medical"
    return "utter_crisis"


class ActionCrisisResponse(Action):
    """Sends the contract's crisis response, stops any active form, flags and alerts."""

    def name(self) -> Text:
        return "action_crisis_response"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(response=crisis_response_for(crisis_message(tracker)))
        # Logged without the message text: the flag, not the visitor's words, goes to the log.
        logger.warning("Crisis response given in conversation %s: flagged for staff review.", tracker.sender_id)
        # In a worker thread: an email alert must not hold up other conversations.
        await asyncio.to_thread(alert_staff, tracker, "crisis")
        return [SlotSet("crisis_flagged", True)] + stop_active_form(tracker)


class ActionCrisisCheckIn(Action):
    """Asks the check-in question. A booking form pauses: "no" brings it back as it was.

    While the visitor waits for a person (rasa_server/paused_crisis.py), nothing the visitor answers is
    read until staff join: the staff are alerted at once instead, and the response asks no question."""

    def name(self) -> Text:
        return "action_crisis_check_in"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_crisis_check_in")
        logger.warning("Crisis check-in asked in conversation %s.", tracker.sender_id)
        if tracker.get_slot("handoff_active"):
            await asyncio.to_thread(alert_staff, tracker, "possible crisis while waiting for staff")
        return stop_active_form(tracker)


class ActionCheckInAnswer(Action):
    """Yes, or not sure ("maybe", "no sé"): the crisis response. No: what the visitor asked is answered,
    with the form restored. Anything else (a question, a story): the lines again, kindly. Staff are
    alerted unless the answer was no."""

    def name(self) -> Text:
        return "action_check_in_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        message = tracker.latest_message
        answer = check_in_answer(message.get("text"), (message.get("intent") or {}).get("name"))
        if answer in ("yes", "unsure"):
            # "maybe" and "no sé" count as a yes, as clinicians count them (clinic/check_in.py)
            dispatcher.utter_message(response=crisis_response_for(crisis_message(tracker)))
            said = "yes" if answer == "yes" else "not sure"
            logger.warning("Visitor answered %s to the crisis check-in in conversation %s.", said, tracker.sender_id)
            await asyncio.to_thread(alert_staff, tracker, f"check-in answered {said}")
            return [SlotSet("crisis_flagged", True)]
        if answer == "other":
            # a question or a story: not a no. The lines again, no decision asked.
            dispatcher.utter_message(response="utter_crisis_still_here")
            logger.warning("Visitor answered the crisis check-in with neither yes nor no in conversation %s.",
                           tracker.sender_id)
            await asyncio.to_thread(alert_staff, tracker, "check-in answered neither yes nor no")
            return [SlotSet("crisis_flagged", True)]
        dispatcher.utter_message(response="utter_crisis_check_in_no")
        original = crisis_message(tracker)
        replayed = answer_as_if_no_check_in(original, visitor_language(tracker)) if original else []
        if not replayed:
            # Nothing but how they feel ("nothing makes sense anymore"): no answer to give, and no topic
            # to guess; an open door instead.
            dispatcher.utter_message(response="utter_crisis_check_in_no_question")
        return replayed


def answer_as_if_no_check_in(original: Dict[str, Any], language: Optional[str]) -> List[EventType]:
    """Takes back the check-in and the "no" (as Rasa's two-stage fallback does), and gives the
    original message again with the intent it had before the crisis detector, so that the rules
    answer it (or ask the form's question again). The reverted events stay in the stored history.

    Nothing (an empty list) when that intent is below REPLAY_CONFIDENCE: the message asked nothing the
    assistant is sure of, and replayed it got an answer to a question nobody asked."""
    parse_data = dict(original.get("parse_data") or {})
    ranking = [item for item in parse_data.get("intent_ranking") or [] if item.get("name") not in CRISIS_INTENTS]
    if not ranking or float(ranking[0].get("confidence") or 0.0) < REPLAY_CONFIDENCE:
        return []
    parse_data["intent"] = ranking[0]
    parse_data["intent_ranking"] = ranking
    parse_data["crisis_check_in"] = "no"
    events: List[EventType] = [
        UserUtteranceReverted(),
        UserUtteranceReverted(),
        ActionExecuted("action_listen"),
        UserUttered(original.get("text"), parse_data=parse_data, input_channel=original.get("input_channel")),
    ]
    if language:
        events.append(SlotSet("language", language))
    return events
