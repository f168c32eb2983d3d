"""Human handoff: ask consent, open a ticket, pause the bot while staff answer, and never leave the
visitor waiting in silence.

Staff take over and reply from the console (Rasa HTTP API); handing back resumes the bot with the
external intent EXTERNAL_handoff_ended. A watchdog closes tickets nobody picked up within
HANDOFF_TIMEOUT_MINUTES and resumes the bot with EXTERNAL_handoff_timeout, which offers a call
back. (Rasa's own reminders do not fire while a conversation is paused, hence the watchdog.)

Staff are alerted when a visitor starts waiting (urgent after a crisis), with the conversation's
console link and none of its words. Every "Request a call back" button starts the call-back form
(actions/callback.py), never the booking form; after a crisis, while nobody can join, the crisis
lines come again with "Request an urgent call back".
"""
import asyncio
import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from clinic import settings
from clinic.handoff_store import ENDED_INTENT, TIMEOUT_INTENT, get_handoff_store
from clinic.notifier import notifier_from_env
from clinic.profile import clinic_is_open, load_profile, office_hours_set
from clinic.rasa_api import RasaApiError, rasa_api_from_settings

logger = logging.getLogger(__name__)


def staff_available_now() -> bool:
    """Open now by the clinic's office hours; with no office hours set (no schedule, or no day in it, as
    shipped), the assistant does not decide the clinic is closed: it tries a live handoff, and the
    watchdog's timeout, with its call-back offer, is the fallback."""
    profile = load_profile()
    if not office_hours_set(profile):
        return True
    return clinic_is_open(profile, datetime.now(timezone.utc))


def handoff_reason(tracker: Tracker) -> str:
    return tracker.get_slot("handoff_reason") or ("crisis" if tracker.get_slot("crisis_flagged") else "request_human")


def alert_waiting(conversation_id: str, reason: str, urgent: bool) -> None:
    """Tells the staff on duty that a visitor is waiting: the conversation's link and why, never its words."""
    try:
        notifier_from_env().notify_handoff(settings.console_conversation_link(conversation_id), reason, urgent)
    except Exception:  # the visitor is in the live queue whether or not the alert went out
        logger.exception("Handoff alert for a waiting conversation could not be sent; it is in the live queue.")


class ActionOfferHandoff(Action):
    """Asks for consent to bring in a person, or offers a call back when the clinic is closed.

    After a crisis ("Connect me with staff" under the crisis response) there is no consent question
    and never a booking form: an urgent handoff starts at once, or, while nobody can join, the
    crisis lines are given again with "Request an urgent call back" (name and phone, actions/callback.py)."""

    def name(self) -> Text:
        return "action_offer_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        reason = [SlotSet("handoff_reason", handoff_reason(tracker))]
        available = await asyncio.to_thread(staff_available_now)
        if tracker.get_slot("crisis_flagged"):
            if available:
                return reason + [FollowupAction("action_start_handoff")]
            dispatcher.utter_message(response="utter_crisis_staff_unavailable")
            return reason
        dispatcher.utter_message(response="utter_handoff_offer" if available else "utter_handoff_closed")
        return reason


class ActionStartHandoff(Action):
    """Opens a ticket, tells the visitor a person will join, and pauses the bot."""

    def name(self) -> Text:
        return "action_start_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        crisis = bool(tracker.get_slot("crisis_flagged"))
        if not await asyncio.to_thread(staff_available_now):
            dispatcher.utter_message(response="utter_crisis_staff_unavailable" if crisis else "utter_handoff_closed")
            return []
        channel = tracker.get_latest_input_channel() or "unknown"
        reason = handoff_reason(tracker)
        ticket, new = await asyncio.to_thread(get_handoff_store().open_ticket_once, tracker.sender_id, channel, reason)
        if new:  # in a worker thread, like the crisis alert: an email never holds up other conversations
            await asyncio.to_thread(alert_waiting, tracker.sender_id, reason, crisis or reason == "crisis")
        ensure_watchdog()
        dispatcher.utter_message(response="utter_handoff_started", wait_minutes=settings.get("HANDOFF_TIMEOUT_MINUTES"))
        return [SlotSet("handoff_active", True), SlotSet("handoff_ticket_id", ticket.id), ConversationPaused()]


class ActionHandoffFinished(Action):
    """The bot is back: after staff handed back, or when nobody could pick up in time."""

    RESPONSES = {ENDED_INTENT: "utter_handoff_ended", TIMEOUT_INTENT: "utter_handoff_timed_out"}

    def name(self) -> Text:
        return "action_handoff_finished"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        intent = tracker.latest_message.get("intent", {}).get("name")
        if intent == TIMEOUT_INTENT and tracker.get_slot("crisis_flagged"):
            dispatcher.utter_message(response="utter_crisis_staff_unavailable")  # never a booking form
        else:
            dispatcher.utter_message(response=self.RESPONSES.get(intent, "utter_handoff_ended"))
        return [SlotSet("handoff_active", False), SlotSet("handoff_ticket_id", None), SlotSet("handoff_reason", None)]


class HandoffWatchdog(threading.Thread):
    """Every HANDOFF_CHECK_SECONDS: tickets still waiting after the timeout are closed and the
    visitor is told (through the Rasa API). A failed notice re-opens the ticket for the next round."""

    def __init__(self) -> None:
        super().__init__(name="handoff-watchdog", daemon=True)
        self.interval = float(settings.get("HANDOFF_CHECK_SECONDS"))
        self.timeout = timedelta(minutes=float(settings.get("HANDOFF_TIMEOUT_MINUTES")))

    def run(self) -> None:
        while True:
            try:
                self.check_once()
            except Exception:  # the watchdog must outlive any single failure
                logger.exception("Handoff watchdog round failed")
            threading.Event().wait(self.interval)

    def check_once(self) -> int:
        store, api = get_handoff_store(), rasa_api_from_settings()
        notified = 0
        for ticket in store.claim_unanswered(self.timeout):
            try:
                api.resume_with_intent(ticket.conversation_id, TIMEOUT_INTENT)
                notified += 1
            except RasaApiError as error:
                logger.error("Could not tell conversation %s that nobody is free (%s); will retry", ticket.id, error)
                store.reopen(ticket.id)
        return notified


_watchdog: HandoffWatchdog = None
_watchdog_lock = threading.Lock()


def ensure_watchdog() -> None:
    """Starts the watchdog once per action server process (called when conversations start)."""
    global _watchdog
    with _watchdog_lock:
        if _watchdog is None:
            _watchdog = HandoffWatchdog()
            _watchdog.start()
