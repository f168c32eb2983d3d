"""The crisis response: shown at once, from any state, and flagged for staff review."""
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

logger = logging.getLogger(__name__)


class ActionCrisisResponse(Action):
    """Sends the contract's crisis response, stops any active form and flags the conversation."""

    def name(self) -> Text:
        return "action_crisis_response"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_crisis")
        # Logged without the message text: the flag, not the visitor's words, goes to the log.
        logger.warning("Crisis response given in conversation %s: flagged for staff review.", tracker.sender_id)
        events: List[EventType] = [SlotSet("crisis_flagged", True)]
        if tracker.active_loop_name:
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        return events
