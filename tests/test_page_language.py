"""The page's language (the website widget's metadata `page_language`) decides a conversation's first
language when the visitor's first message does not: "hi" on the Spanish page gets Spanish; the
visitor's own clear language still wins ("hola" on the English page, an English sentence on the
Spanish one). See actions/language.py."""
import pytest
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.language import ActionDetectLanguage, language_after, page_language
from nlu_components.language_detector import TwoLanguageDetector


@pytest.fixture(scope="module")
def detector() -> TwoLanguageDetector:
    return TwoLanguageDetector()


def first_message(domain, detector, text, metadata=None, slots_before=()):
    """An SDK tracker as the action server receives it: the visitor's message with the widget's metadata."""
    from rasa.shared.core.events import SlotSet as CoreSlotSet

    parse = {"intent": {"name": "greet", "confidence": 0.9}, "entities": [], "text": text}
    detected = None if text.startswith("/") else detector.detect(text)  # a button: no NLU, no detection
    if detected:
        parse["language"] = detected
    events = [CoreSlotSet(name, value) for name, value in slots_before]
    events.append(UserUttered(text, parse["intent"], [], parse_data=parse, metadata=metadata or {}))
    core = DialogueStateTracker.from_events("visitor", events, slots=domain.slots)
    return Tracker.from_dict(core.current_state(EventVerbosity.AFTER_RESTART))


async def decided(domain, dispatcher, detector, text, page=None, current=None):
    metadata = {"page_language": page} if page else {}
    tracker = first_message(domain, detector, text, metadata, [("language", current)] if current else ())
    assert tracker.latest_message.get("metadata") == metadata, "the message's metadata reaches the action"
    events = await ActionDetectLanguage().run(dispatcher, tracker, domain.as_dict())
    return events[0]["value"] if events else current


@pytest.mark.parametrize(
    "text, page, language",
    [
        ("hola", "en", "es"),  # the visitor's Spanish greeting wins over the English page
        ("hi", "es", "es"),  # an English greeting on the Spanish page: the page decides
        ("ok", "es", "es"),  # one word: 0.89 English, no clear sign against the page
        ("book", "es", "es"),
        ("hello!", "es", "es"),
        ("/greet", "es", "es"),  # a button: no language of its own
        ("what are the side effects of ketamine", "es", "en"),  # a clear English sentence wins over the page
        ("can I drive home after the infusion", "es", "en"),
        ("cuanto cuesta el tratamiento", "en", "es"),
        ("hi", "en", None),  # English page: unset, English replies with "Español" offered, as before
        ("ok", "en", "en"),  # as before: 0.89 English, its first decision
        ("hi", None, None),  # not from the widget (REST, SMS): as before
        ("hi", "es-MX", "es"),
        ("hi", "fr", None),
    ],
)
async def test_the_first_language_from_the_message_then_the_page(domain, dispatcher, detector, text, page, language):
    assert await decided(domain, dispatcher, detector, text, page) == language


@pytest.mark.parametrize(
    "text, current, language",
    [
        ("hi", "en", "en"),  # the page never switches a conversation whose language is known
        ("ok", "en", "en"),
        ("what are the side effects of ketamine", "es", "en"),  # the visitor switches, as on any page
        ("gracias", "en", "en"),
    ],
)
async def test_the_page_decides_only_while_the_language_is_unset(domain, dispatcher, detector, text, current, language):
    assert await decided(domain, dispatcher, detector, text, "es", current) == language


def test_language_after_with_a_page():
    english_phrase = {"name": "en", "confidence": 1.0, "phrase": True}
    spanish_phrase = {"name": "es", "confidence": 1.0, "phrase": True}
    assert language_after(None, spanish_phrase, "hola", "en") == "es"
    assert language_after(None, english_phrase, "hi", "es") == "es"
    assert language_after(None, {"name": "en", "confidence": 0.95}, "what does it cost", "es") == "en"
    assert language_after(None, {"name": "en", "confidence": 0.65}, "not clear", "es") == "es"  # not clear: the page
    assert language_after(None, {"name": "en", "confidence": 0.95}, "book", "es") == "es"  # one word
    assert language_after(None, {"name": "es", "confidence": 0.95}, "cita", "en") == "es"  # as before
    assert language_after(None, None, "509 555 0133", "es") == "es"
    assert language_after(None, english_phrase, "hi", "en") is None
    assert language_after("en", english_phrase, "hi", "es") == "en"


@pytest.mark.parametrize(
    "metadata, page",
    [({"page_language": "es"}, "es"), ({"page_language": "ES-419"}, "es"), ({"page_language": "en"}, "en"),
     ({"page_language": "de"}, None), ({"page_language": 3}, None), ({}, None), (None, None), ("es", None)],
)
def test_page_language_from_metadata(metadata, page):
    assert page_language(metadata) == page


async def test_a_name_in_the_booking_form_still_sets_nothing(domain, dispatcher, detector):
    tracker = first_message(domain, detector, "John Smith", {"page_language": "es"}, [("requested_slot", "full_name")])
    tracker.active_loop = {"name": "booking_form"}
    assert await ActionDetectLanguage().run(dispatcher, tracker, domain.as_dict()) == []


async def test_a_spanish_page_greeting_gets_the_spanish_greeting(domain, dispatcher, detector):
    """The slot set from the page picks the greeting's Spanish variation."""
    from rasa.shared.core.events import SlotSet as CoreSlotSet

    from rasa_server.nlg import FirstMatchResponseGenerator

    events = await ActionDetectLanguage().run(
        dispatcher, first_message(domain, detector, "hi", {"page_language": "es"}), domain.as_dict()
    )
    assert events == [SlotSet("language", "es")]
    core = DialogueStateTracker.from_events("visitor", [CoreSlotSet("language", "es")], slots=domain.slots)
    greeting = await FirstMatchResponseGenerator(domain=domain).generate("utter_greet", core, "socketio")
    assert "Hola" in greeting["text"] or "hola" in greeting["text"].lower()
