"""Button payloads (`/intent{"entity": "value"}`) parsed without running the NLU models.

Rasa 3.6 runs every message through the whole NLU pipeline, then lets its RegexMessageHandler
replace the result with the payload's intent and entities. For payloads naming an intent of the
domain the result is known beforehand, so the pipeline (mostly the MiniLM encoder, ~30 ms on this
CPU) is skipped. Anything else, including a payload with an unknown intent, is parsed as before.
"""
from typing import Any, Dict, Optional, Text

from rasa.core.processor import MessageProcessor
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message


def payload_parse(message_text: Text, domain: Any) -> Optional[Dict[Text, Any]]:
    """The parse of a button payload, as RegexMessageHandler gives it; None for any other text."""
    if not message_text or not message_text.startswith("/"):
        return None
    parsed = YAMLStoryReader.unpack_regex_message(
        Message({TEXT: message_text}), domain, entity_extractor_name="RegexMessageHandler"
    )
    intent = parsed.get(INTENT)  # unset when the payload names no intent of the domain
    if not intent:
        return None
    return {TEXT: message_text, INTENT: intent, ENTITIES: parsed.get(ENTITIES) or [], INTENT_RANKING_KEY: [intent]}


_rasa_parse_message_with_graph = MessageProcessor._parse_message_with_graph


def _parse_payloads_directly(self: MessageProcessor, message, tracker, only_output_properties: bool = True):
    parse_data = payload_parse(message.text, self.domain)
    if parse_data is None:
        return _rasa_parse_message_with_graph(self, message, tracker, only_output_properties)
    if message.message_id is not None:
        parse_data["message_id"] = message.message_id
    if message.metadata:
        parse_data["metadata"] = message.metadata
    return parse_data


def install() -> None:
    MessageProcessor._parse_message_with_graph = _parse_payloads_directly
