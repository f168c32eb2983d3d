"""A crisis message is answered even while the assistant is paused for staff.

While a person is being brought into the chat, actions/handoff.py pauses the conversation
(ConversationPaused): Rasa 3.6 then records each visitor message and predicts nothing, so that
staff and visitor can talk. A visitor who writes "I took all my pills" while waiting for a person
who has not joined yet must not get silence. So a message the crisis detector flags in a paused
conversation is noted here, and rasa_server.message_guard runs the crisis response or the check-in
for it (actions/safety.py). Their variations for a conversation waiting for staff (domain.yml,
`handoff_active: true`) say that the team has been told, give the lines, and carry no button nobody
would act on while the assistant is paused. The conversation stays paused.

`_should_handle_message_noting_crisis` replaces `MessageProcessor._should_handle_message`, installed
by rasa_server/extensions.py: Rasa 3.6 has no hook for a paused conversation's messages.
"""
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Optional

from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

# The tier's action, as data/rules.yml runs it outside a pause.
CRISIS_ACTIONS = {"crisis": "action_crisis_response", "possible_crisis": "action_crisis_check_in"}


@dataclass
class PausedCrisis:
    """Set while one message is handled: the crisis tier of a message a paused conversation received."""

    intent_name: Optional[str] = None


current_paused_crisis: ContextVar[Optional[PausedCrisis]] = ContextVar("current_paused_crisis", default=None)

_rasa_should_handle_message = MessageProcessor._should_handle_message


def _should_handle_message_noting_crisis(tracker: DialogueStateTracker) -> bool:
    """Rasa's answer (a paused conversation is not handled), noting a crisis tier it leaves unanswered."""
    if _rasa_should_handle_message(tracker):
        return True
    intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
    noted = current_paused_crisis.get()
    if intent in CRISIS_ACTIONS and noted is not None:
        noted.intent_name = intent
    return False


async def answer(agent: Agent, message: UserMessage, noted: PausedCrisis) -> None:
    """Runs the tier's action in the paused conversation (within the conversation's lock)."""
    action_name = CRISIS_ACTIONS[noted.intent_name]
    logger.warning(
        "Crisis tier in conversation %s while it waits for staff: %s run, the assistant stays paused.",
        message.sender_id, action_name,
    )
    processor = agent.processor
    await processor.execute_action(
        message.sender_id, action_name, message.output_channel, processor.nlg,
        PolicyPrediction.for_action_name(agent.domain, action_name),
    )
