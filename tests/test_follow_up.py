"""Follow-up questions answered about the topic in play ("and how long does that last?")."""
import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered

from actions.faq import ActionClarify
from actions.follow_up import ActionAnswerFollowUp
from clinic.faq_topics import FAQ_FOLLOW_UPS, FAQ_TOPICS, follow_up_answer


def faq_question(topic, text="a question"):
    """An answered FAQ question about `topic`, as it stands in the tracker."""
    parse = {
        "intent": {"name": "faq", "confidence": 0.95},
        "response_selector": {"faq": {"response": {"intent_response_key": f"faq/{topic}", "confidence": 0.9}}},
    }
    return [
        UserUttered(text, parse["intent"], parse_data=parse),
        ActionExecuted("utter_faq"),
        BotUttered("the answer"),
    ]


def follow_up(intent):
    return {"intent": {"name": intent, "confidence": 0.9}}


async def answer_to(make_tracker, dispatcher, domain, intent, events):
    tracker = make_tracker("and?", parse_data=follow_up(intent), events=events)
    await ActionAnswerFollowUp().run(dispatcher, tracker, domain.as_dict())
    return dispatcher.messages[-1]["response"]


@pytest.mark.parametrize(
    "earlier, intent, expected",
    [
        ("side_effects", "follow_up_duration", "utter_side_effects_duration"),
        ("infusion_process", "follow_up_duration", "utter_faq/infusion_process"),
        ("effectiveness", "follow_up_duration", "utter_faq/duration_of_effect"),
        ("consultation_process", "follow_up_cost", "utter_faq/consultation_process"),
        ("treatment_schedule", "follow_up_cost", "utter_faq/cost"),
        ("effectiveness", "follow_up_condition", "utter_faq/other_conditions"),
        ("driving_after", "follow_up_safety", "utter_faq/driving_after"),
        ("administration_routes", "follow_up_safety", "utter_faq/is_it_safe"),
        ("therapy_integration", "follow_up_how_often", "utter_faq/therapy_integration"),
    ],
)
async def test_a_follow_up_is_answered_about_the_topic_in_play(
    make_tracker, dispatcher, domain, earlier, intent, expected
):
    assert await answer_to(make_tracker, dispatcher, domain, intent, faq_question(earlier)) == expected


async def test_without_a_topic_in_play_a_follow_up_gets_its_plain_answer(make_tracker, dispatcher, domain):
    assert await answer_to(make_tracker, dispatcher, domain, "follow_up_duration", []) == "utter_faq/duration_of_effect"


async def test_the_topic_stays_in_play_through_follow_ups_and_small_talk(make_tracker, dispatcher, domain):
    events = faq_question("side_effects") + [
        UserUttered("is that safe?", {"name": "follow_up_safety"}, parse_data=follow_up("follow_up_safety")),
        UserUttered("ok thanks", {"name": "thanks"}, parse_data=follow_up("thanks")),
    ]
    assert await answer_to(make_tracker, dispatcher, domain, "follow_up_duration", events) == (
        "utter_side_effects_duration"
    )


async def test_a_new_session_ends_the_topic_in_play(make_tracker, dispatcher, domain):
    events = faq_question("side_effects") + [SessionStarted()]
    assert await answer_to(make_tracker, dispatcher, domain, "follow_up_duration", events) == (
        "utter_faq/duration_of_effect"
    )


async def test_an_unclear_question_offers_the_topic_in_play_first(make_tracker, dispatcher, domain):
    parse = {
        "intent": {"name": "nlu_fallback", "confidence": 0.5},
        "intent_ranking": [{"name": "follow_up_duration", "confidence": 0.4}, {"name": "faq", "confidence": 0.3}],
        "response_selector": {
            "faq": {"ranking": [{"intent_response_key": "faq/duration_of_effect", "confidence": 0.6}]}
        },
    }
    tracker = make_tracker("and that part?", parse_data=parse, events=faq_question("side_effects"))
    await ActionClarify().run(dispatcher, tracker, domain.as_dict())
    titles = [button["title"] for button in dispatcher.messages[0]["buttons"]]
    assert titles[:2] == [FAQ_TOPICS["side_effects"]["label"], FAQ_TOPICS["duration_of_effect"]["label"]]


async def test_a_likely_follow_up_without_faq_topics_still_offers_the_topic_in_play(
    make_tracker, dispatcher, domain
):
    ranking = [{"name": "follow_up_how_often", "confidence": 0.6}, {"name": "follow_up_cost", "confidence": 0.35}]
    parse = {"intent": {"name": "nlu_fallback", "confidence": 0.75}, "intent_ranking": ranking}
    tracker = make_tracker("y cada cuanto seria eso?", parse_data=parse, events=faq_question("therapy_integration"),
                           slots={"language": "es"})
    await ActionClarify().run(dispatcher, tracker, domain.as_dict())
    message = dispatcher.messages[0]
    assert message["response"] == "utter_clarify"
    assert message["buttons"][0]["payload"] == FAQ_TOPICS["therapy_integration"]["question_es"]


async def test_an_intent_outside_the_table_asks_to_rephrase_rather_than_guess(make_tracker, dispatcher, domain):
    assert await answer_to(make_tracker, dispatcher, domain, "greet", faq_question("cost")) == "utter_default"


def test_every_follow_up_answer_exists_in_both_languages(domain):
    for intent, meanings in FAQ_FOLLOW_UPS.items():
        assert intent in domain.intents
        for topic in [None, *(meanings.get("after") or {})]:
            assert topic is None or topic in FAQ_TOPICS, topic
            response = follow_up_answer(intent, topic)
            languages = {
                "es" if any(c.get("value") == "es" for c in variation.get("condition") or []) else "en"
                for variation in domain.responses[response]
            }
            assert languages == {"en", "es"}, response

