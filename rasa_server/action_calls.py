"""Calls from the Rasa server to the action server: a cheaper reply check, and failures noted.

Replacements for `RemoteAction._validate_action_result` and `RemoteAction.run`, installed by
rasa_server/extensions.py (Rasa 3.6 has no hook for either).

- Rasa 3.6 checks every action-server reply with `jsonschema.validate`, which first re-checks the
  (large) schema itself against its meta-schema: about 50 ms per call, half of a message's time
  under load (docs/benchmarks.md). The same check with the validator built once takes ~3 ms.
- A call that fails (action server down, timeout, a 5xx, a malformed reply) is re-raised exactly as
  Rasa raises it, so Rasa still discards that action's events; it is also noted for the message
  being handled, so that the visitor is told (rasa_server.message_guard) instead of left in silence.
- Except the session start: without its events the first message matches no rule (a crisis would
  get "I didn't follow"), so a failed `action_session_start` is replaced by Rasa's default one.
  The clinic-profile slots stay empty, and answers use their generic wording.
"""
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

from jsonschema import ValidationError, validators
from rasa.core.actions.action import ActionExecutionRejection, ActionSessionStart, RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import ACTION_SESSION_START_NAME

logger = logging.getLogger(__name__)


@dataclass
class FailedActionCalls:
    """The action-server calls that failed while one message was handled."""

    action_names: List[str] = field(default_factory=list)
    intent_name: Optional[str] = None  # the visitor's intent at the time (crisis gets the crisis response)


current_failures: ContextVar[Optional[FailedActionCalls]] = ContextVar("current_failures", default=None)


@lru_cache(maxsize=None)
def _action_result_validator() -> Any:
    spec = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(spec)
    validator_class.check_schema(spec)
    return validator_class(spec)


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    try:
        _action_result_validator().validate(result)
        return True
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the "
            f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise


_rasa_remote_action_run = RemoteAction.run


async def _run_noting_failures(self: RemoteAction, output_channel, nlg, tracker, domain) -> List[Any]:
    try:
        return await _rasa_remote_action_run(self, output_channel, nlg, tracker, domain)
    except ActionExecutionRejection:
        raise  # a form rejecting a value: normal dialogue, not a failure
    except Exception:
        if self.name() == ACTION_SESSION_START_NAME:
            logger.error("The action server could not start the session: Rasa's default session start used instead.")
            return await ActionSessionStart().run(output_channel, nlg, tracker, domain)
        failures = current_failures.get()
        if failures is not None:
            failures.action_names.append(self.name())
            failures.intent_name = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
        raise
