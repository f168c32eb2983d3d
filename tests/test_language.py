"""The conversation follows the visitor's language: detection, the sticky choice, the switch button."""
import os

import pytest
from rasa_sdk.events import SlotSet

from actions.language import ActionDetectLanguage, language_after, language_named_in
from nlu_components.language_detector import TwoLanguageDetector, short_phrase_language


@pytest.fixture(scope="module")
def detector() -> TwoLanguageDetector:
    return TwoLanguageDetector()


@pytest.mark.parametrize(
    "text, language",
    [
        ("cuanto cuesta el tratamiento", "es"),
        ("hablan español?", "es"),
        ("what are the side effects of ketamine", "en"),
        ("can I drive home after the infusion", "en"),
    ],
)
def test_whole_sentences_are_recognised_with_confidence(detector, text, language):
    detected = detector.detect(text)
    assert detected["name"] == language and detected["confidence"] >= 0.9


def test_the_detector_starts_no_thread_of_its_own(monkeypatch):
    """Threads that stay in the Rasa server can take its stop signal (see TwoLanguageDetector)."""
    monkeypatch.setattr(TwoLanguageDetector, "_lingua", None)  # built anew, as in a new server process
    before = set(os.listdir("/proc/self/task"))

    TwoLanguageDetector().detect("I have been anxious for weeks and wonder whether an infusion could help")

    # threads of earlier tests may end meanwhile; none may be left started by the detector
    assert set(os.listdir("/proc/self/task")) - before == set()


def test_text_without_letters_has_no_language(detector):
    assert detector.detect("509 555 0133") is None
    assert detector.detect("") is None


def test_the_first_clear_message_sets_the_language():
    assert language_after(None, {"name": "es", "confidence": 0.99}, "cuanto cuesta") == "es"
    assert language_after(None, {"name": "en", "confidence": 0.85}, "What is ketamine?") == "en"
    assert language_after(None, {"name": "es", "confidence": 0.76}, "la ketamina es adictiva?") == "es"
    assert language_after(None, {"name": "es", "confidence": 0.62}, "hello") is None  # not clear at all


def test_a_short_or_ambiguous_message_never_flips_the_conversation():
    assert language_after("en", {"name": "es", "confidence": 0.75}, "Maria Lopez") == "en"
    assert language_after("es", {"name": "en", "confidence": 0.89}, "ok") == "es"
    assert language_after("es", None, "509 555 0133") == "es"


@pytest.mark.parametrize(
    "text, confidence",
    [("¿aceptan apple health?", 0.94), ("el parking es free?", 0.92), ("quiero el appointment para el friday", 0.96),
     ("apple health", 0.99)],
)
def test_english_words_in_a_spanish_message_do_not_switch_to_english(text, confidence):
    assert language_after("es", {"name": "en", "confidence": confidence}, text) == "es"


@pytest.mark.parametrize(
    "text, detected",
    [("el treatment es safe para mi anxiety?", {"name": "en", "confidence": 0.99}),
     ("cuanto cuesta el treatment y aceptan insurance?", {"name": "en", "confidence": 0.62}),
     ("quiero hacer un appointment para la consulta", {"name": "en", "confidence": 0.55})],
)
def test_a_first_message_in_spanish_grammar_with_english_nouns_is_answered_in_spanish(text, detected):
    assert language_after(None, detected, text) == "es"
    assert language_after(None, detected, text, page="en") == "es"


def test_a_mixed_or_texting_message_is_left_to_the_detector():
    # grammar words of both languages: Lingua decides
    assert language_after(None, {"name": "en", "confidence": 0.86}, "my mom tiene anxiety, can she come?") == "en"
    # one Spanish-looking word ("y" for "why") is not enough
    assert language_after(None, {"name": "en", "confidence": 0.8}, "y r u so slow") == "en"


def test_a_clear_message_in_the_other_language_switches():
    assert language_after("en", {"name": "es", "confidence": 0.97}, "necesito una cita para el lunes") == "es"
    assert language_after("es", {"name": "en", "confidence": 0.94}, "do you take apple health?") == "en"


@pytest.mark.parametrize(
    "text, language",
    [
        ("can we talk in spanish", "es"), ("en español por favor", "es"), ("mejor en ingles", "en"), ("hello", None),
        ("hablan español?", "es"), ("habla espanol", "es"), ("do you speak spanish", "es"), ("english please", "en"),
        ("Do you speak English?", "en"), ("no hablo inglés, ¿hablan español?", "es"),
        ("i dont speak spanish, english please", "en"), ("from english to spanish", "es"),
        ("en español, no en inglés", "es"),
        ("no hablo ingles", "es"), ("i don't speak spanish", "en"),
        ("can we switch to spanish? my english is not very good", "es"), ("mi español es malo", None),
    ],
)
def test_a_typed_switch_request_names_its_language(text, language):
    assert language_named_in(text) == language


@pytest.mark.parametrize(
    "text, language",
    [
        ("hola", "es"), ("¡Hola!", "es"), ("holaaa", "es"), ("buenas", "es"), ("Buenos días", "es"),
        ("buenas tardes", "es"), ("hola, buenas noches", "es"), ("que tal", "es"), ("gracias 🙏", "es"),
        ("hi", "en"), ("hello", "en"), ("Hello?", "en"), ("hey there", "en"), ("thanks", "en"),
        ("thank you so much", "en"),
    ],
)
def test_greetings_and_courtesies_are_known_before_lingua(detector, text, language):
    assert short_phrase_language(text) == language
    assert detector.detect(text) == {"name": language, "confidence": 1.0, "phrase": True}


@pytest.mark.parametrize(
    "text", ["ok", "si", "no", "Maria Lopez", "hello buenas", "hola, cuanto cuesta", "hi, what is ketamine"]
)
def test_anything_else_is_left_to_lingua(detector, text):
    assert short_phrase_language(text) is None
    assert "phrase" not in (detector.detect(text) or {})


def test_a_spanish_greeting_decides_the_first_language_and_no_phrase_switches_it():
    spanish, english = (
        {"name": "es", "confidence": 1.0, "phrase": True},
        {"name": "en", "confidence": 1.0, "phrase": True},
    )
    assert language_after(None, spanish, "hola") == "es"
    assert language_after(None, english, "hi") is None  # "hi": English replies anyway, "Español" still offered
    assert language_after("en", spanish, "gracias") == "en"  # "gracias" at the end of an English conversation
    assert language_after("es", english, "thanks") == "es"  # "thanks" in a Spanish one


@pytest.mark.parametrize("text", ["hola", "buenas", "Buenos dias!"])
async def test_hola_alone_as_the_first_message_sets_spanish(detector, dispatcher, make_tracker, domain, text):
    tracker = make_tracker(
        text, parse_data={"intent": {"name": "greet", "confidence": 0.99}, "language": detector.detect(text)}
    )
    assert await ActionDetectLanguage().run(dispatcher, tracker, domain.as_dict()) == [SlotSet("language", "es")]


@pytest.mark.parametrize(
    "text, current, language",
    [
        ("hablan español?", None, "es"),
        ("habla espanol", "en", "es"),
        ("do you speak spanish", "en", "es"),
        ("en español por favor", None, "es"),
        ("english please", "es", "en"),
        ("otro idioma por favor", "es", "en"),  # no language named: the other one
        ("can we switch languages", None, "es"),
        ("no hablo ingles", "es", "es"),  # unchanged: no event
    ],
)
async def test_a_typed_switch_request_sets_the_language_it_names(
    detector, dispatcher, make_tracker, domain, text, current, language
):
    tracker = make_tracker(
        text,
        parse_data={"intent": {"name": "switch_language", "confidence": 0.95}, "language": detector.detect(text)},
        slots={"language": current} if current else None,
    )
    expected = [] if language == current else [SlotSet("language", language)]
    assert await ActionDetectLanguage().run(dispatcher, tracker, domain.as_dict()) == expected


@pytest.mark.parametrize(
    "language, reply", [("es", "Claro, seguimos en español."), ("en", "Sure, let's continue in English.")]
)
async def test_the_reply_to_a_switch_is_in_the_new_language(dispatcher, make_tracker, domain, language, reply):
    """action_detect_language runs as the message's slot mapping, before the rule's reply is chosen."""
    from rasa.shared.core.events import SlotSet as CoreSlotSet
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_server.nlg import FirstMatchResponseGenerator

    text = "hablan español?" if language == "es" else "english please"
    before = "en" if language == "es" else "es"
    tracker = make_tracker(
        text, parse_data={"intent": {"name": "switch_language", "confidence": 0.95}}, slots={"language": before}
    )
    events = await ActionDetectLanguage().run(dispatcher, tracker, domain.as_dict())
    core = DialogueStateTracker.from_events(
        "visitor", [CoreSlotSet("language", before)] + [CoreSlotSet(e["name"], e["value"]) for e in events],
        slots=domain.slots,
    )
    message = await FirstMatchResponseGenerator(domain=domain).generate("utter_language_switched", core, "rest")
    assert message["text"].startswith(reply)


async def test_the_button_sets_the_language(dispatcher, make_tracker, domain):
    tracker = make_tracker(
        '/switch_language{"language": "es"}',
        parse_data={
            "intent": {"name": "switch_language", "confidence": 1.0},
            "entities": [{"entity": "language", "value": "es"}],
        },
        slots={"language": "en"},
    )
    assert await ActionDetectLanguage().run(dispatcher, tracker, domain.as_dict()) == [SlotSet("language", "es")]


async def test_a_typed_request_for_spanish_written_in_english_switches_to_spanish(dispatcher, make_tracker, domain):
    tracker = make_tracker(
        "can we talk in spanish",
        parse_data={
            "intent": {"name": "switch_language", "confidence": 0.9},
            "language": {"name": "en", "confidence": 0.99},
        },
        slots={"language": "en"},
    )
    assert await ActionDetectLanguage().run(dispatcher, tracker, domain.as_dict()) == [SlotSet("language", "es")]


async def test_a_name_typed_into_the_booking_form_does_not_set_the_language(dispatcher, make_tracker, domain):
    tracker = make_tracker(
        "Maria Lopez",
        parse_data={"intent": {"name": "inform", "confidence": 0.9}, "language": {"name": "es", "confidence": 0.99}},
        slots={"requested_slot": "full_name"},
        active_loop="booking_form",
    )
    assert await ActionDetectLanguage().run(dispatcher, tracker, domain.as_dict()) == []


async def test_nothing_changes_while_a_person_is_in_the_chat(dispatcher, make_tracker, domain):
    tracker = make_tracker(
        "hola, sigue ahi alguien?",
        parse_data={"intent": {"name": "greet", "confidence": 0.9}, "language": {"name": "es", "confidence": 0.99}},
        slots={"handoff_active": True, "language": "en"},
    )
    assert await ActionDetectLanguage().run(dispatcher, tracker, domain.as_dict()) == []


async def test_nothing_changes_when_the_language_is_already_right(dispatcher, make_tracker, domain):
    tracker = make_tracker(
        "what does it cost",
        parse_data={"intent": {"name": "faq", "confidence": 0.9}, "language": {"name": "en", "confidence": 0.99}},
        slots={"language": "en"},
    )
    assert await ActionDetectLanguage().run(dispatcher, tracker, domain.as_dict()) == []


@pytest.mark.parametrize(
    "text, intent, current, detected, events",
    [
        ("i dont want to be alive anymore", "crisis", "es", ("en", 0.64), [SlotSet("language", None)]),
        ("ya no quiero vivir", "possible_crisis", "en", ("es", 0.8), [SlotSet("language", None)]),
        ("me quiero morir", "crisis", "es", ("es", 0.95), []),  # in the conversation's language: as it is
        ("ok i want to die", "crisis", "es", ("en", 0.55), []),  # too unclear to say it is the other one
        ("what does it cost in dollars", "faq", "es", ("en", 0.8), []),  # not a crisis: no switch below 0.9
    ],
)
async def test_a_crisis_in_the_other_language_gets_the_crisis_response_in_both(
    dispatcher, make_tracker, domain, text, intent, current, detected, events
):
    language = {"name": detected[0], "confidence": detected[1]}
    tracker = make_tracker(text, parse_data={"intent": {"name": intent, "confidence": 1.0}, "language": language},
                           slots={"language": current})
    assert await ActionDetectLanguage().run(dispatcher, tracker, domain.as_dict()) == events


def test_every_response_has_a_spanish_variant(domain):
    """A Spanish conversation never sees an English sentence: every response has a language: es variant."""
    missing = [
        name
        for name, variants in domain.responses.items()
        if not any(
            c.get("name") == "language" and c.get("value") == "es" for v in variants for c in v.get("condition") or []
        )
    ]
    assert missing == []
