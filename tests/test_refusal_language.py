"""Refusals the server itself sends (too fast, too long, too many from one network, service down) are
in the visitor's language: as the website widget tells it with the message (metadata chat_language /
page_language), else the stored conversation's; in both languages while it is not known."""
from types import SimpleNamespace

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore, LockError
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_server import message_guard
from rasa_server.rate_limit import SlidingWindowLimiter
from rasa_server.refusals import (
    TOO_MANY_FROM_THIS_ADDRESS,
    crisis_line,
    metadata_language,
    refusal_in,
)

SPANISH_PAGE = {"page_language": "es", "chat_language": "es"}
ENGLISH_PAGE = {"page_language": "en", "chat_language": "en"}


@pytest.mark.parametrize(
    "metadata, language",
    [
        (SPANISH_PAGE, "es"),
        ({"page_language": "es"}, "es"),
        ({"page_language": "en", "chat_language": "es"}, "es"),  # the conversation went Spanish
        ({"page_language": "es", "chat_language": "en"}, "en"),  # it left the Spanish page's language
        (ENGLISH_PAGE, None),  # the English default: not known yet, both languages
        ({"chat_language": "en"}, None),
        ({"chat_language": "es-MX"}, "es"),
        ({}, None), (None, None), ({"page_language": "fr"}, None), ({"page_language": 5}, None),
    ],
)
def test_the_widgets_metadata_tells_the_language(metadata, language):
    assert metadata_language(metadata) == language


def test_the_network_refusal_in_each_language():
    spanish = refusal_in(TOO_MANY_FROM_THIS_ADDRESS, "es")
    assert spanish.startswith("Están llegando demasiados mensajes") and spanish.endswith(crisis_line("es"))
    assert "Too many" not in spanish
    english = refusal_in(TOO_MANY_FROM_THIS_ADDRESS, "en")
    assert english.startswith("Too many messages") and english.endswith(crisis_line("en"))
    both = refusal_in(TOO_MANY_FROM_THIS_ADDRESS)
    assert both.index("Too many") < both.index("Están llegando") and both.endswith(crisis_line(None))


class GuardedAgent:
    """The agent as message_guard sees it, with a tracker store that may hold the conversation."""

    handle_message = message_guard.handle_message

    def __init__(self, domain, stored_language=None, store_down=False) -> None:
        self.domain = domain
        self.lock_store = InMemoryLockStore()
        self.tracker_store = InMemoryTrackerStore(domain)
        self.store_down = store_down
        self._stored = None
        if stored_language:
            self._stored = DialogueStateTracker("visitor", domain.slots)
            self._stored.update(SlotSet("language", stored_language))
        self.processor = SimpleNamespace(
            handle_message=self._process, nlg=TemplatedNaturalLanguageGenerator(domain.responses),
        )

    async def store(self) -> None:
        if self._stored is not None:
            await self.tracker_store.save(self._stored)

    async def _process(self, message: UserMessage) -> None:
        if self.store_down:
            raise LockError("Redis is down")

    def is_ready(self) -> bool:
        return True


async def refused(domain, case, metadata=None, stored_language=None, monkeypatch=None) -> str:
    agent = GuardedAgent(domain, stored_language, store_down=case == "store unreachable")
    await agent.store()
    text = "x" * (message_guard.max_message_chars() + 1) if case == "too long" else "hola"
    if case == "too fast":
        used_up = SlidingWindowLimiter(1)
        used_up.allow("visitor")
        monkeypatch.setattr(message_guard, "sender_limiter", lambda: used_up)
        monkeypatch.setattr(message_guard, "slow_down_notice_limiter", lambda: SlidingWindowLimiter(1))
    output = CollectingOutputChannel()
    await agent.handle_message(UserMessage(text, output, "visitor", metadata=metadata))
    assert output.messages, "the visitor is told"
    return "\n\n".join(message.get("text") or "" for message in output.messages)  # split at blank lines


CASES = {
    "too long": ("mas largo de lo que puedo leer", "longer than I can read"),
    "too fast": ("más rápido de lo que puedo contestar", "faster than I can answer"),
    "store unreachable": ("problema técnico", "technical problem"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_refusal_on_the_spanish_page_is_spanish(domain, monkeypatch, case):
    reply = await refused(domain, case, SPANISH_PAGE, monkeypatch=monkeypatch)
    spanish, english = CASES[case]
    assert spanish.replace("mas ", "más ") in reply and english not in reply, reply
    assert reply.endswith(crisis_line("es")) and crisis_line("en") not in reply


@pytest.mark.parametrize("case", ["too long", "too fast"])
async def test_a_refusal_in_a_stored_spanish_conversation_is_spanish(domain, monkeypatch, case):
    """Not from the widget (REST, SMS): the conversation's own language, read from the store."""
    reply = await refused(domain, case, None, stored_language="es", monkeypatch=monkeypatch)
    assert CASES[case][0].replace("mas ", "más ") in reply and reply.endswith(crisis_line("es")), reply


@pytest.mark.parametrize("case", ["too long", "too fast"])
async def test_a_refusal_in_a_stored_english_conversation_is_english(domain, monkeypatch, case):
    reply = await refused(domain, case, ENGLISH_PAGE, stored_language="en", monkeypatch=monkeypatch)
    assert CASES[case][1] in reply and reply.endswith(crisis_line("en")) and crisis_line("es") not in reply, reply


@pytest.mark.parametrize("case", list(CASES))
async def test_while_the_language_is_unknown_a_refusal_is_english_with_both_crisis_lines(domain, monkeypatch, case):
    reply = await refused(domain, case, ENGLISH_PAGE, monkeypatch=monkeypatch)
    assert CASES[case][1] in reply and reply.endswith(crisis_line(None)), reply


async def test_the_conversation_wins_over_the_stored_language_only_through_the_widget(domain, monkeypatch):
    """A Spanish page's visitor who chose English: the widget says English, the refusal is English."""
    reply = await refused(domain, "too long", {"page_language": "es", "chat_language": "en"},
                          stored_language="en", monkeypatch=monkeypatch)
    assert "longer than I can read" in reply and reply.endswith(crisis_line("en"))
