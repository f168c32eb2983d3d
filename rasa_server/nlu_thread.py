"""The NLU models run in a worker thread, so the server keeps serving while a message is parsed.

Rasa 3.6 parses a message on its event loop: while the MiniLM encoder multiplies matrices (most
of a message's time), no other visitor's request is read, stored or answered. NumPy releases the
GIL in those multiplications, so in a thread they run beside the loop's own work, on the second
core. One worker keeps the models' use sequential, as Rasa's is.
"""
import asyncio
import copy
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Dict, Optional, Text

import structlog
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker

structlogger = structlog.get_logger()
_nlu_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu")


async def _parse_message_off_loop(
    self: MessageProcessor,
    message: UserMessage,
    tracker: Optional[DialogueStateTracker] = None,
    only_output_properties: bool = True,
) -> Dict[Text, Any]:
    if self.http_interpreter:
        parse_data = await self.http_interpreter.parse(message)
    else:
        if tracker is None:
            tracker = DialogueStateTracker.from_events(message.sender_id, [])
        parse = partial(self._parse_message_with_graph, message, tracker, only_output_properties)
        parse_data = await asyncio.get_running_loop().run_in_executor(_nlu_worker, parse)
    self._update_full_retrieval_intent(parse_data)
    structlogger.debug(
        "processor.message.parse",
        parse_data_text=copy.deepcopy(parse_data["text"]),
        parse_data_intent=parse_data["intent"],
        parse_data_entities=copy.deepcopy(parse_data["entities"]),
    )
    self._check_for_unseen_features(parse_data)
    return parse_data


def install() -> None:
    MessageProcessor.parse_message = _parse_message_off_loop
