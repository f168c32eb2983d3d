"""FAQ answers and the clarification offered instead of a guess."""
import re
from pathlib import Path

import pytest
import yaml
from rasa.shared.core.trackers import DialogueStateTracker

from actions.faq import FAQ_TOPICS, ActionClarify, suggestion_buttons
from nlu_components.language_detector import TwoLanguageDetector
from rasa_server.nlg import FirstMatchResponseGenerator

PROJECT_DIR = Path(__file__).resolve().parent.parent
SHARED_CATALOGUE = PROJECT_DIR.parent / "shared" / "content" / "faq_topics.yml"
PROFILE_SLOTS = {
    "clinic_price_info": "Infusions are $400 each.",
    "clinic_insurance_info": "We provide superbills.",
    "clinic_fasting_rules": "Please do not eat for 6 hours before.",
    "clinic_referral_policy": "No referral is needed.",
    "clinic_visit_length": "about two hours",
    "clinic_contact_details": "1 Test Way, Kennewick, WA; Phone: (509) 555-0100",
    "clinic_data_retention": "90 days",
}
TREATMENT_GROUPS = ("ketamine", "treatment", "safety", "practical")
# Answers where no treatment decision is in play: no invitation to the free consultation.
NO_INVITATION = {
    "what_is_anxiety", "anxiety_disorders", "anxiety_symptoms", "panic_attacks",
    "what_is_ketamine", "how_ketamine_works", "ketamine_history", "fda_approval",
    "clinic_location", "privacy",
}


def is_spanish(variation):
    return any(c.get("name") == "language" and c.get("value") == "es" for c in variation.get("condition") or [])


def other_conditions(variation):
    return [(c["name"], c["value"]) for c in variation.get("condition") or [] if c.get("name") != "language"]


def parse(intent, intent_conf, faq_ranking=(), second_intent="out_of_scope"):
    return {
        "intent": {"name": "nlu_fallback", "confidence": 0.5},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.5},
            {"name": intent, "confidence": intent_conf},
            {"name": second_intent, "confidence": 1 - intent_conf},
        ],
        "response_selector": {
            "faq": {"ranking": [{"intent_response_key": key, "confidence": c} for key, c in faq_ranking]}
        },
    }


def test_every_catalogue_topic_has_a_label_a_question_and_an_answer(domain):
    for key, topic in FAQ_TOPICS.items():
        assert topic["label"] and topic["question"]
        assert f"utter_faq/{key}" in domain.responses


@pytest.mark.skipif(not SHARED_CATALOGUE.exists(), reason="the shared FAQ catalogue is not next to this checkout")
def test_topics_match_the_shared_catalogue_and_own_topics_are_built_from_its_facts():
    catalogue = yaml.safe_load(SHARED_CATALOGUE.read_text())
    keys = {key for group in catalogue.values() for key in group}
    own_topics = {key: topic for key, topic in FAQ_TOPICS.items() if key not in keys}
    assert keys <= set(FAQ_TOPICS)
    for key, topic in own_topics.items():  # e.g. is_it_safe: its answer uses only these topics' facts
        assert topic["built_from"] and set(topic["built_from"]) <= keys, key
    for group in catalogue.values():
        for key, topic in group.items():
            assert FAQ_TOPICS[key]["question"] == topic["asks"][0]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("slots", [{}, PROFILE_SLOTS], ids=["profile-empty", "profile-filled"])
async def test_every_answer_reads_well_with_and_without_clinic_details(domain, slots, language):
    nlg = FirstMatchResponseGenerator(domain=domain)
    tracker = DialogueStateTracker.from_dict("visitor", [], domain.slots)
    for name, value in {**slots, "language": language}.items():
        tracker.slots[name].value = value
    detector = TwoLanguageDetector()
    for key in FAQ_TOPICS:
        answer = await nlg.generate(f"utter_faq/{key}", tracker, "rest")
        text = answer["text"]
        assert "{" not in text and "None" not in text and "PLACEHOLDER" not in text, key
        assert detector.detect(text)["name"] == language, key
        sentences = re.findall(r"[.?!](?:\s|$)", text)
        assert 2 <= len(sentences) <= 7 and len(text) < 900, key  # short, curated answers
    if slots:
        cost = await nlg.generate("utter_faq/cost", tracker, "rest")
        assert "$400" in cost["text"]


def test_treatment_answers_invite_to_the_free_consultation(domain):
    catalogue = yaml.safe_load((PROJECT_DIR / "clinic" / "faq_topics.yml").read_text())
    for key in catalogue:
        for variation in domain.responses[f"utter_faq/{key}"]:
            payloads = [button["payload"] for button in variation.get("buttons", [])]
            if key in NO_INVITATION:
                assert "/book_consultation" not in payloads, key
                assert "free consultation" not in variation["text"], key
                assert "consulta gratuita" not in variation["text"], key
            else:
                assert "/book_consultation" in payloads, key


def test_no_answer_opens_with_a_bare_yes_or_no(domain):
    """One answer serves many phrasings: "No, please don't drive yourself home" answered "can my
    granddaughter come with me?", and "No: ketamine is FDA-approved as an anesthetic" read as "it is
    not legal" (blind QA). The first sentence states the fact itself."""
    catalogue = yaml.safe_load((PROJECT_DIR / "clinic" / "faq_topics.yml").read_text())
    for name in [f"utter_faq/{key}" for key in catalogue] + ["utter_iamabot"]:
        for variation in domain.responses[name]:
            opening = variation["text"][:40]
            assert not re.match(r"(yes|no|s[ií])\s*[,:;.!]", opening, re.IGNORECASE), (name, opening)


def test_every_answer_has_a_spanish_twin_of_each_variation_placed_first(domain):
    """Same conditions plus language: es, same placeholders and button payloads, before the English ones."""
    for key in FAQ_TOPICS:
        variations = domain.responses[f"utter_faq/{key}"]
        spanish = [v for v in variations if is_spanish(v)]
        english = [v for v in variations if not is_spanish(v)]
        assert variations == spanish + english, key
        assert len(spanish) == len(english), key
        for es, en in zip(spanish, english, strict=True):
            assert other_conditions(es) == other_conditions(en), key
            assert sorted(re.findall(r"\{\w+\}", es["text"])) == sorted(re.findall(r"\{\w+\}", en["text"])), key
            assert [b["payload"] for b in es.get("buttons", [])] == [b["payload"] for b in en.get("buttons", [])], key


def test_spanish_answers_read_well_with_and_without_clinic_details(domain):
    for key in FAQ_TOPICS:
        for variation in domain.responses[f"utter_faq/{key}"]:
            if not is_spanish(variation):
                continue
            text = re.sub(r"\{(\w+)\}", lambda m: PROFILE_SLOTS[m[1]], variation["text"])
            sentences = re.findall(r"[.?!](?:\s|$)", text)
            assert 2 <= len(sentences) <= 7 and len(text) < 900, key
            assert "consultation" not in text and "Book" not in text, key  # no English left behind


def test_clarification_offers_the_likeliest_topics_and_a_person():
    buttons = suggestion_buttons(
        parse("faq", 0.45, [("faq/cost", 0.4), ("faq/insurance", 0.35), ("faq/referral", 0.1), ("faq/privacy", 0.01)])
    )
    assert [b["title"] for b in buttons] == [
        FAQ_TOPICS["cost"]["label"],
        FAQ_TOPICS["insurance"]["label"],
        FAQ_TOPICS["referral"]["label"],
    ]
    # a topic button sends the canonical question, which the assistant answers confidently
    assert buttons[0]["payload"] == FAQ_TOPICS["cost"]["question"]


def test_no_topic_buttons_when_the_message_was_not_an_faq_question():
    assert suggestion_buttons(parse("out_of_scope", 0.4, [("faq/cost", 0.9)], second_intent="greet")) == []


def test_booking_is_offered_when_the_classifier_thought_of_it():
    buttons = suggestion_buttons(parse("book_consultation", 0.4, [("faq/cost", 0.5)], second_intent="faq"))
    assert buttons[0]["payload"] == "/book_consultation"
    assert buttons[1]["payload"] == FAQ_TOPICS["cost"]["question"]


def test_spanish_clarification_offers_spanish_topics_that_keep_the_conversation_in_spanish():
    buttons = suggestion_buttons(parse("faq", 0.45, [("faq/cost", 0.4), ("faq/insurance", 0.35)]), "es")
    assert buttons == [
        {"title": FAQ_TOPICS["cost"]["label_es"], "payload": FAQ_TOPICS["cost"]["question_es"]},
        {"title": FAQ_TOPICS["insurance"]["label_es"], "payload": FAQ_TOPICS["insurance"]["question_es"]},
    ]
    booking = suggestion_buttons(parse("book_consultation", 0.4, [("faq/cost", 0.5)], second_intent="faq"), "es")
    assert booking[0] == {"title": "Agendar una consulta gratuita", "payload": "/book_consultation"}


async def test_spanish_clarify_action_offers_a_person_in_spanish(dispatcher, make_tracker, domain):
    tracker = make_tracker(
        "cuanto", parse_data=parse("faq", 0.45, [("faq/cost", 0.5), ("faq/insurance", 0.4)]), slots={"language": "es"}
    )
    await ActionClarify().run(dispatcher, tracker, domain.as_dict())
    message = dispatcher.messages[0]
    assert message["response"] == "utter_clarify"
    assert message["buttons"][0]["title"] == FAQ_TOPICS["cost"]["label_es"]
    assert message["buttons"][-1] == {"title": "Hablar con una persona", "payload": "/request_human"}


async def test_clarify_action_always_offers_a_person(dispatcher, make_tracker, domain):
    tracker = make_tracker("how much", parse_data=parse("faq", 0.45, [("faq/cost", 0.5), ("faq/insurance", 0.4)]))
    await ActionClarify().run(dispatcher, tracker, domain.as_dict())
    message = dispatcher.messages[0]
    assert message["response"] == "utter_clarify"
    assert message["buttons"][-1] == {"title": "Talk to a person", "payload": "/request_human"}


async def test_clarify_without_any_likely_topic_asks_to_rephrase(dispatcher, make_tracker, domain):
    tracker = make_tracker("asdfgh", parse_data=parse("out_of_scope", 0.3, [("faq/cost", 0.2)], second_intent="greet"))
    await ActionClarify().run(dispatcher, tracker, domain.as_dict())
    assert dispatcher.messages[0]["response"] == "utter_default"
