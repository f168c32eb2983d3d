"""What every visitor message passes through before and after Rasa handles it.

Every channel of credentials.yml (REST, Socket.IO, every webhook: channels/) hands its messages to a
ChannelHandler, its `on_new_message`, which calls handle_message below with the agent Rasa loaded:
the steps of Rasa's `Agent.handle_message` (the handler Rasa itself gives channels), guarded. So this
is the one place that sees every visitor's message before anything is stored (Rasa 3.6 has no hook
around `Agent.handle_message`; its source is pinned in rasa_server/extensions.py):
- invalid Unicode (a lone surrogate such as "\\ud800", which JSON allows and UTF-8 cannot store)
  is replaced by U+FFFD in the text, the sender id, the message id and the metadata; control
  characters are removed from the text; a text longer than MAX_MESSAGE_CHARS is not processed and
  the visitor is asked to shorten it;
- the message is marked as a visitor's: only the assistant's own button payloads count as
  intents (rasa_server.button_payloads), and its text is kept out of the logs while it is handled
  (rasa_server.log_redaction);
- a conversation sending more than RATE_LIMIT_SENDER_PER_MINUTE messages is told to slow down
  (once a minute) and the extra messages are not processed;
- when the lock store (Redis) or the tracker store (the database) cannot be reached, the error is
  logged clearly, the visitor is asked to try again, and the conversation is left untouched;
- a crisis message in a conversation paused for staff gets the crisis response or the check-in
  (rasa_server.paused_crisis): a visitor waiting for a person is never left in silence in a crisis;
- when a call to the action server failed, the visitor gets an apology and the offer of a person,
  or the crisis response if the message was a crisis: never silence. The reply is kept in the
  conversation so that staff see it.
Every refusal (too long, too fast, service unavailable, the failed call's apology) ends with the
crisis line (rasa_server.refusals). Refusals are in the visitor's language when it is known: as the
website widget tells it with the message (metadata: the widget's and the page's language,
rasa_server.refusals.metadata_language), else, for "too long" and "too fast", the stored
conversation's `language` slot (read only then, and never when the store is unreachable); while it is
not known, the response's English text with the crisis line in both languages.
"""
import logging
import re
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

import redis
import sqlalchemy.exc
from rasa.core.actions.action import create_bot_utterance
from rasa.core.agent import Agent
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.lock_store import LockError
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import ConnectionException
from sanic import Blueprint

from clinic import settings
from rasa_server import button_payloads, log_redaction, paused_crisis
from rasa_server.action_calls import FailedActionCalls, current_failures
from rasa_server.rate_limit import ip_limiter, sender_limiter, slow_down_notice_limiter
from rasa_server.refusals import LANGUAGES, crisis_line, metadata_language

logger = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_CHARS = settings.Settings.__fields__["MAX_MESSAGE_CHARS"].default
# C0 and C1 control characters except tab and newline, plus DEL.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Code points that are not characters: halves of a UTF-16 pair, left alone (a pair, once decoded,
# is one code point, so any surrogate left in a Python string is a lone one).
SURROGATES = re.compile("[\ud800-\udfff]")
STORE_ERRORS = (LockError, ConnectionException, redis.exceptions.RedisError, sqlalchemy.exc.SQLAlchemyError)


@lru_cache(maxsize=None)
def max_message_chars() -> int:
    return settings.current().MAX_MESSAGE_CHARS


def read_settings() -> None:
    """Checks every setting (clinic/settings.py) and reads the limits, so that a mistyped setting stops
    the server at start with its name and what it expects, not a visitor later."""
    settings.checked()
    max_message_chars(), ip_limiter(), sender_limiter()


class ChannelHandler:
    """A channel's `on_new_message`: what its blueprint hands each message to.

    Rasa gives every channel a handler (rasa.core.channels.channel.register) that passes the message
    to `app.ctx.agent.handle_message`. The channels of this project pass this one to Rasa's connector
    instead: the message goes to handle_message below, with the same agent (that of the app the
    channel's blueprint is registered with, read when the message comes, as Rasa's handler does).

        handler = ChannelHandler()
        blueprint = handler.serving(super().blueprint(handler))
    """

    def __init__(self) -> None:
        read_settings()
        self.blueprint: Optional[Blueprint] = None

    def serving(self, blueprint: Blueprint) -> Blueprint:
        self.blueprint = blueprint
        return blueprint

    async def __call__(self, message: UserMessage) -> Optional[List[Dict[Text, Any]]]:
        (app,) = self.blueprint.apps  # the Rasa server's app (one per channel blueprint)
        return await handle_message(app.ctx.agent, message)


async def handle_message(self: Agent, message: UserMessage) -> Optional[List[Dict[Text, Any]]]:
    """`Agent.handle_message` of Rasa 3.6 (readiness, the conversation's lock, the processor), with
    every message cleaned, limited and marked first, and a reply instead of silence after."""
    if not self.is_ready():
        logger.info("Ignoring message as there is no agent to handle it.")
        return None
    clean_message(message)
    button_payloads.mark_from_visitor(message)
    with log_redaction.visitor_text(message.text):
        return await _handle_clean_message(self, message)


def valid_unicode(value: Any) -> Any:
    """`value` with every lone surrogate replaced by U+FFFD, in strings nested in dicts and lists too."""
    if isinstance(value, str):
        return SURROGATES.sub("\ufffd", value)
    if isinstance(value, dict):
        return {valid_unicode(key): valid_unicode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [valid_unicode(item) for item in value]
    return value


def clean_text(text: str) -> str:
    return CONTROL_CHARACTERS.sub(" ", valid_unicode(text)).strip()


def clean_message(message: UserMessage) -> None:
    """Makes a message storable: what the tracker store writes must encode as UTF-8."""
    if message.text is not None:
        message.text = clean_text(str(message.text))
    message.sender_id = valid_unicode(message.sender_id)
    message.message_id = valid_unicode(message.message_id)
    message.metadata = valid_unicode(message.metadata)


async def _handle_clean_message(self: Agent, message: UserMessage) -> Optional[List[Dict[Text, Any]]]:
    if message.text is not None and len(message.text) > max_message_chars():
        await _say(self, message, "utter_message_too_long", await _visitor_language(self, message))
        return None
    if not sender_limiter().allow(message.sender_id):
        logger.warning("Conversation %s is over its message rate limit: message not processed.", message.sender_id)
        if slow_down_notice_limiter().allow(message.sender_id):
            await _say(self, message, "utter_slow_down", await _visitor_language(self, message))
        return None

    failures = FailedActionCalls()
    current_failures.set(failures)
    crisis_while_paused = paused_crisis.PausedCrisis()
    paused_crisis.current_paused_crisis.set(crisis_while_paused)
    try:
        async with self.lock_store.lock(message.sender_id):
            result = await self.processor.handle_message(message)
            if crisis_while_paused.intent_name:
                await paused_crisis.answer(self, message, crisis_while_paused)
            if failures.action_names:
                await _answer_failed_action_calls(self, message, failures)
            return result
    except STORE_ERRORS as error:
        logger.error(
            "Message of conversation %s not processed: the lock store or tracker store is unreachable "
            "(%s: %s). The visitor was asked to try again; the conversation was not changed.",
            message.sender_id, type(error).__name__, error,
        )
        await _say(self, message, "utter_service_unavailable", metadata_language(message.metadata))
        return None


async def _visitor_language(agent: Agent, message: UserMessage) -> Optional[str]:
    """The visitor's language for a refusal: the message's metadata (the widget's), else the stored
    conversation's slot; None when neither tells (or the store cannot be read: the refusal still goes)."""
    language = metadata_language(message.metadata)
    if language:
        return language
    try:
        tracker = await agent.tracker_store.retrieve(message.sender_id)
    except Exception as error:  # noqa: BLE001 - a refusal must go out whatever the store does
        logger.debug("The conversation's language was not read for a refusal: %s: %s", type(error).__name__, error)
        return None
    language = tracker.get_slot("language") if tracker is not None else None
    return language if language in LANGUAGES else None


async def _say(
    agent: Agent, message: UserMessage, response_name: str, language: Optional[str] = None
) -> Dict[Text, Any]:
    """Sends a refusal (a domain response and the crisis line, in `language` when known) without
    touching the stored conversation, which may be unreachable."""
    tracker = DialogueStateTracker(message.sender_id, agent.domain.slots)
    if language in LANGUAGES:
        tracker.update(SlotSet("language", language))  # the response's variation in that language
    return await _send(agent, message.output_channel, tracker, response_name, with_crisis_line=True, language=language)


async def _send(
    agent: Agent, output_channel: OutputChannel, tracker: DialogueStateTracker, response_name: str,
    with_crisis_line: bool = False, language: Optional[str] = None,
) -> Dict[Text, Any]:
    response = await agent.processor.nlg.generate(response_name, tracker, output_channel.name())
    if response is None:
        logger.error("The model's domain has no response %s: retrain the model (make train).", response_name)
        return {}
    if with_crisis_line:
        # Both languages (language None) until the visitor's language is known here (refusals come
        # before the conversation is read, or when it cannot be).
        response["text"] = f"{response.get('text') or ''}\n\n{crisis_line(language)}".lstrip()
    await output_channel.send_response(tracker.sender_id, response)
    return response


async def _answer_failed_action_calls(agent: Agent, message: UserMessage, failures: FailedActionCalls) -> None:
    is_crisis = failures.intent_name == "crisis"
    logger.error(
        "Action server call(s) %s failed in conversation %s; the visitor got the %s.",
        ", ".join(failures.action_names), message.sender_id,
        "crisis response" if is_crisis else "apology and the offer of a person",
    )
    tracker = await agent.processor.get_tracker(message.sender_id)
    response_name = "utter_crisis" if is_crisis else "utter_action_server_unavailable"
    language = tracker.get_slot("language")
    response = await _send(
        agent, message.output_channel, tracker, response_name, with_crisis_line=not is_crisis,
        language=language if language in LANGUAGES else None,
    )
    events: List[Event] = [create_bot_utterance({**response, "utter_action": response_name})]
    if is_crisis:
        events.append(SlotSet("crisis_flagged", True))  # flagged for staff review, as the action would have
    for event in events:
        tracker.update(event)
    await agent.processor.save_tracker(tracker)
