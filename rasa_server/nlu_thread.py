"""The NLU models run in a worker thread, so the server keeps serving while a message is parsed.

Rasa 3.6 parses a message on its event loop: while the MiniLM encoder multiplies matrices (most
of a message's time), no other visitor's request is read, stored or answered. NumPy releases the
GIL in those multiplications, so in a thread they run beside the loop's own work, on the second
core. Measured at 10 visitors (docs/benchmarks.md's load generator, one run each): p95 with a 1 s
think time 220-241 ms in the thread against 250-633 ms on the loop, and 854-861 ms against
1,195-1,695 ms without think time; throughput unchanged. One worker keeps the models' use
sequential, as Rasa's is. Rasa's own `parse_message` runs there unchanged: with the models in
the process it awaits nothing, so a private event loop in the worker completes it.

`_parse_message_off_loop` replaces `MessageProcessor.parse_message`, installed by
rasa_server/extensions.py.
"""
import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker

_nlu_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu")
_rasa_parse_message = MessageProcessor.parse_message


async def _parse_message_off_loop(
    self: MessageProcessor,
    message: UserMessage,
    tracker: Optional[DialogueStateTracker] = None,
    only_output_properties: bool = True,
) -> Dict[Text, Any]:
    parse = _rasa_parse_message(self, message, tracker, only_output_properties)
    if self.http_interpreter:  # a remote NLU server: awaiting it is the loop's own job
        return await parse
    return await asyncio.get_running_loop().run_in_executor(_nlu_worker, asyncio.run, parse)
