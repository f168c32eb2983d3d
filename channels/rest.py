"""The REST channel (`/webhooks/rest/webhook`), with its input checked and a per-IP limit.

Rasa's own answers 500 to a body that is not a JSON object, files messages without a `sender` under
one shared conversation "default", and lets the caller name the input channel. This one answers a
clear 400 instead, requires a sender, always records the channel as "rest", and answers 429 to an
IP address over RATE_LIMIT_IP_PER_MINUTE (with the crisis line, as every refusal a visitor sees; in
Spanish when the message's metadata says so, as the widget's does: rasa_server.refusals.metadata_language).
The message itself is cleaned (invalid Unicode, control characters) by rasa_server.message_guard,
which every channel's messages pass through (a ChannelHandler is the connector's `on_new_message`).
"""
import logging
from typing import Any, Callable, Optional, Text

from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.webhook_guard import OnNewMessage, checked_blueprint
from rasa_server.rate_limit import client_ip, ip_limiter
from rasa_server.refusals import TOO_MANY_FROM_THIS_ADDRESS, metadata_language, refusal_in

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128


def message_problem(body: Any, id_field: str, id_is_valid: Callable[[str], bool], id_rule: str) -> Optional[str]:
    """What is wrong with a message sent to a chat channel, or None when it is well formed."""
    if not isinstance(body, dict):
        return f'The body must be a JSON object: {{"{id_field}": "...", "message": "..."}}.'
    conversation_id, metadata = body.get(id_field), body.get("metadata")
    if not isinstance(conversation_id, str) or not id_is_valid(conversation_id):
        return f'"{id_field}" must be {id_rule}.'
    if not isinstance(body.get("message"), str):
        return '"message" must be a string.'
    if metadata is not None and not isinstance(metadata, dict):
        return '"metadata" must be a JSON object when given.'
    return None


def message_call_problem(body: Any) -> Optional[str]:
    """What is wrong with a REST message call, or None when it is well formed."""
    return message_problem(
        body,
        "sender",
        lambda sender: bool(sender.strip()) and len(sender) <= MAX_SENDER_CHARS and sender.isprintable(),
        f"a non-empty string of at most {MAX_SENDER_CHARS} printable characters naming the conversation",
    )


class CheckedRestInput(RestInput):
    """Listed in credentials.yml as channels.rest.CheckedRestInput; its name stays "rest"."""

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        async def check_message_call(request: Request, _: OnNewMessage) -> Optional[HTTPResponse]:
            try:
                body, readable = request.json, True  # parsed once: Rasa's handler reads the same parsed body
            except InvalidUsage:
                body, readable = None, False
            if not ip_limiter().allow(client_ip(request)):
                language = metadata_language(body.get("metadata")) if isinstance(body, dict) else None
                return response.json({"error": refusal_in(TOO_MANY_FROM_THIS_ADDRESS, language)}, status=429)
            if not readable:
                return response.json({"error": "The body must be valid JSON in UTF-8."}, status=400)
            problem = message_call_problem(body)
            if problem:
                return response.json({"error": problem}, status=400)
            return None

        return checked_blueprint(super().blueprint, check_message_call)
