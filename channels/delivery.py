"""Replies to the messaging platforms: bounded in time, and a failed one is logged, not raised.

Rasa's connectors let a platform error propagate; the processor then abandons the turn before
saving the tracker, so the visitor's message would vanish from the conversation.
"""
import logging
from contextlib import contextmanager
from typing import Iterator

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 10


@contextmanager
def failed_delivery_logged(channel: str) -> Iterator[None]:
    try:
        yield
    except Exception as error:  # whatever the platform's client raises, the conversation goes on
        # Only the type: the message of a client error can contain the URL with the access token.
        logger.error("%s: could not reach the platform (%s); reply not delivered.", channel, type(error).__name__)
