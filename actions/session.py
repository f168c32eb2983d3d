"""Session start (clinic profile into slots) and the greeting with its once-per-session disclaimer."""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ensure_watchdog
from clinic.profile import load_profile, profile_slot_values


class ActionSessionStart(Action):
    """Starts a session like Rasa's default, then fills the clinic_* slots from the clinic profile.

    The profile is read at every session start, so edits reach new conversations without a restart.
    Also starts this process's handoff watchdog (see actions/handoff.py) if it is not running yet.
    """

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        # Rasa carries slots over (domain: carry_over_slots_to_new_session); keep them, then
        # refresh the clinic details, and show the disclaimer again in the new session.
        carried = {
            name: value
            for name, value in tracker.slots.items()
            if value is not None and not name.startswith("clinic_")
        }
        events += [SlotSet(name, value) for name, value in carried.items()]
        events += [SlotSet(name, value) for name, value in profile_slot_values(load_profile()).items()]
        events.append(SlotSet("disclaimer_shown", False))
        # A new session resets the tracker, which would un-pause it: a person is still in the chat.
        if carried.get("handoff_active"):
            events.append(ConversationPaused())
        events.append(ActionExecuted("action_listen"))
        ensure_watchdog()
        return events


class ActionGreet(Action):
    """Greets; the first greeting of a session also shows the short disclaimer."""

    def name(self) -> Text:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if tracker.get_slot("disclaimer_shown"):
            dispatcher.utter_message(response="utter_greet_again")
            return []
        dispatcher.utter_message(response="utter_greet")
        dispatcher.utter_message(response="utter_disclaimer")
        return [SlotSet("disclaimer_shown", True)]
