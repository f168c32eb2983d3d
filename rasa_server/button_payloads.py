"""Button payloads (`/intent{"entity": "value"}`): only the assistant's own, and parsed directly.

Visitors steer the dialogue only with the buttons they are offered. Rasa takes any message that
starts with "/" and names an intent as that intent, so a visitor could type `/restart` (un-pausing
a handoff while its ticket stays open), `/session_start`, `/back`, or the intents only the system
may send (`/EXTERNAL_handoff_ended`, `/EXTERNAL_handoff_timeout`). For a message from a channel
(rasa_server.message_guard marks them), a payload counts only when it is exactly one of:
- the payloads of the buttons in the domain's responses (filled in as Rasa's NLG fills them);
- the payloads of the buttons the bot sent in this conversation (actions build some: the booking
  summary's, the clarification's suggestions);
and never when it names one of Rasa's default intents (restart, back, session_start, out_of_scope,
nlu_fallback) or an `EXTERNAL_` intent: those are the HTTP API's (`trigger_intent`, with the
token). Any other text starting with "/" is read by the NLU models as plain text, as if the slashes
were spaces; the conversation still records what the visitor typed.

A visitor who types a button's label instead of tapping it ("confirm" under the booking summary's
"Confirm", "Cambiar algo", "talk to a person") means that button: the message is taken as its payload
when its words, ignoring case, accents, punctuation and emoji, are exactly the label of a button of
the bot's latest message. The NLU models would read "confirm" alone as Spanish and unsure, and a
booking request nearly sent was lost (blind QA, docs/conversation-qa.md).

Rasa 3.6 also runs every message through the whole NLU pipeline, then lets its RegexMessageHandler
replace the result with the payload's intent and entities. For payloads naming an intent of the
domain the result is known beforehand, so the pipeline (mostly the MiniLM encoder, ~30 ms on this
CPU) is skipped.

`_parse_payloads_directly` replaces `MessageProcessor._parse_message_with_graph`, installed by
rasa_server/extensions.py.
"""
import copy
import re
from typing import Any, Dict, FrozenSet, Iterable, Optional, Text, Tuple

from rasa.core.channels.channel import UserMessage
from rasa.core.nlg.interpolator import interpolate
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import DEFAULT_INTENTS
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from clinic.words import plain_words

PAYLOAD_PREFIX = "/"
# The intent a payload names, as Rasa's payload pattern reads it.
PAYLOAD_INTENT = re.compile(r"/(?P<intent>[^{@]+)")
SYSTEM_INTENT_PREFIX = "EXTERNAL_"
LEADING_SLASHES = re.compile(r"[\s/]*")
BUTTON_KEYS = ("buttons", "quick_replies")


def is_payload(text: Optional[Text]) -> bool:
    return bool(text) and text.strip().startswith(PAYLOAD_PREFIX)


def mark_from_visitor(message: UserMessage) -> None:
    """Called by message_guard for every message that came in through a channel."""
    message.from_visitor = True


def is_from_visitor(message: UserMessage) -> bool:
    return getattr(message, "from_visitor", False) is True


def is_system_intent(payload: Text) -> bool:
    """Rasa's default intents and the EXTERNAL_ ones: never a visitor's to send."""
    match = PAYLOAD_INTENT.match(payload.strip())
    intent = match.group("intent").strip() if match else ""
    return intent in DEFAULT_INTENTS or intent.startswith(SYSTEM_INTENT_PREFIX)


def _payloads(buttons: Any) -> Iterable[Text]:
    for button in buttons if isinstance(buttons, list) else []:
        payload = button.get("payload") if isinstance(button, dict) else None
        if isinstance(payload, str) and is_payload(payload):
            yield payload.strip()


_domain_payloads: Tuple[Optional[Domain], FrozenSet[Text]] = (None, frozenset())


def domain_button_payloads(domain: Domain) -> FrozenSet[Text]:
    """The payloads of every button in the domain's responses, as the visitor receives them
    (Rasa's NLG fills `{placeholders}`, so `{{` in domain.yml reaches the visitor as `{`)."""
    global _domain_payloads
    cached_domain, payloads = _domain_payloads
    if cached_domain is domain:
        return payloads
    values = {slot.name: slot.initial_value for slot in domain.slots}
    found = set()
    for variations in domain.responses.values():
        for variation in variations:
            for key in BUTTON_KEYS:
                buttons = copy.deepcopy(variation.get(key))
                found.update(_payloads(interpolate(buttons, values) if values and buttons else buttons))
    payloads = frozenset(found)
    _domain_payloads = (domain, payloads)
    return payloads


def offered_payloads(tracker: Optional[DialogueStateTracker]) -> FrozenSet[Text]:
    """The payloads of the buttons the bot sent in this conversation (since its session began)."""
    found = set()
    for event in tracker.events if tracker is not None else []:
        if isinstance(event, BotUttered):
            for key in BUTTON_KEYS:
                found.update(_payloads(event.data.get(key)))
    return frozenset(found)


def latest_buttons(tracker: Optional[DialogueStateTracker]) -> Iterable[Dict[Text, Any]]:
    """The buttons of the bot's messages since the visitor's last message."""
    for event in reversed(tracker.events if tracker is not None else []):
        if isinstance(event, UserUttered):
            return
        if isinstance(event, BotUttered):
            for key in BUTTON_KEYS:
                buttons = event.data.get(key)
                for button in buttons if isinstance(buttons, list) else []:
                    if isinstance(button, dict):
                        yield button


def typed_button_payload(text: Optional[Text], tracker: Optional[DialogueStateTracker]) -> Optional[Text]:
    """The payload of the latest button whose label the visitor typed, if any."""
    words = plain_words(text or "")
    if not words:
        return None
    for button in latest_buttons(tracker):
        title, payload = button.get("title"), button.get("payload")
        if isinstance(title, str) and plain_words(title) == words and is_payload(payload or ""):
            return payload.strip()
    return None


def visitor_may_send(payload: Text, domain: Domain, tracker: Optional[DialogueStateTracker]) -> bool:
    """Whether a visitor's message starting with "/" is taken as the payload it spells."""
    payload = payload.strip()
    if is_system_intent(payload):
        return False
    return payload in domain_button_payloads(domain) or payload in offered_payloads(tracker)


def as_plain_text(text: Text) -> Text:
    """The text with its leading slashes as spaces: Rasa's payload parser ignores it, the NLU
    reads its words, and the entities it finds keep their positions in the original text."""
    prefix = LEADING_SLASHES.match(text).end()
    return " " * prefix + text[prefix:]


def payload_parse(message_text: Text, domain: Any) -> Optional[Dict[Text, Any]]:
    """The parse of a button payload, as RegexMessageHandler gives it; None for any other text."""
    if not message_text or not message_text.startswith(PAYLOAD_PREFIX):
        return None
    parsed = YAMLStoryReader.unpack_regex_message(
        Message({TEXT: message_text}), domain, entity_extractor_name="RegexMessageHandler"
    )
    intent = parsed.get(INTENT)  # unset when the payload names no intent of the domain
    if not intent:
        return None
    return {TEXT: message_text, INTENT: intent, ENTITIES: parsed.get(ENTITIES) or [], INTENT_RANKING_KEY: [intent]}


_rasa_parse_message_with_graph = MessageProcessor._parse_message_with_graph


def _parse_as_plain_text(
    processor: MessageProcessor, message: UserMessage, tracker: DialogueStateTracker, only_output_properties: bool
) -> Dict[Text, Any]:
    plain = copy.copy(message)
    plain.text = as_plain_text(message.text)
    parse_data = _rasa_parse_message_with_graph(processor, plain, tracker, only_output_properties)
    parse_data[TEXT] = message.text
    return parse_data


def _parse_payloads_directly(
    self: MessageProcessor, message: UserMessage, tracker: DialogueStateTracker, only_output_properties: bool = True
) -> Dict[Text, Any]:
    if (
        is_payload(message.text)
        and is_from_visitor(message)
        and not visitor_may_send(message.text, self.domain, tracker)
    ):
        return _parse_as_plain_text(self, message, tracker, only_output_properties)
    typed_payload = None if is_payload(message.text) else typed_button_payload(message.text, tracker)
    parse_data = payload_parse(typed_payload or message.text, self.domain)
    if parse_data is None:
        return _rasa_parse_message_with_graph(self, message, tracker, only_output_properties)
    parse_data[TEXT] = message.text  # what the visitor typed stays in the conversation
    if message.message_id is not None:
        parse_data["message_id"] = message.message_id
    if message.metadata:
        parse_data["metadata"] = message.metadata
    return parse_data
