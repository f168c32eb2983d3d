"""Buttons as numbered options, for channels that cannot show buttons (SMS).

The bot sends "text, 1. Title, 2. Title, Reply with a number."; a reply that is just one of those
numbers stands for the payload of that button, as offered in the bot's last turn.
"""
from typing import Any, Dict, List, Optional

from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

Button = Dict[str, Any]


def numbered_options_text(text: str, buttons: List[Button]) -> str:
    options = "\n".join(f"{number}. {button['title']}" for number, button in enumerate(buttons, start=1))
    return f"{text}\n\n{options}\nReply with a number."


def payload_for_reply(reply: str, buttons: List[Button]) -> Optional[str]:
    """The payload of the button numbered `reply`, or None when the reply is not such a number."""
    choice = reply.strip()
    if not (choice.isascii() and choice.isdigit()):
        return None
    index = int(choice) - 1
    return buttons[index]["payload"] if 0 <= index < len(buttons) else None


def offered_buttons(tracker: DialogueStateTracker) -> List[Button]:
    """The buttons of the bot's last message that had some, within its last turn: a message
    with options can be followed by a plain one (the greeting by the disclaimer)."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered) and event.data.get("buttons"):
            return event.data["buttons"]
    return []


async def resolve_numbered_reply(tracker_store: TrackerStore, sender_id: str, reply: str) -> str:
    """`reply`, or the payload it stands for in this conversation."""
    tracker = await tracker_store.retrieve(sender_id)
    buttons = offered_buttons(tracker) if tracker else []
    return payload_for_reply(reply, buttons) or reply
