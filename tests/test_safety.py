"""The crisis response and the deterministic crisis net under the classifier."""
import pytest
from rasa_sdk.events import ActiveLoop, SlotSet

from actions.safety import ActionCrisisResponse
from nlu_components.crisis_safety_net import CrisisMatcher, normalise


async def test_crisis_response_is_sent_and_flagged(dispatcher, make_tracker, domain):
    events = await ActionCrisisResponse().run(dispatcher, make_tracker("i want to die"), domain.as_dict())
    assert [m["response"] for m in dispatcher.messages] == ["utter_crisis"]
    assert SlotSet("crisis_flagged", True) in events
    assert ActiveLoop(None) not in events  # nothing to stop


async def test_crisis_response_stops_an_active_form(dispatcher, make_tracker, domain):
    tracker = make_tracker("i took all my pills", active_loop="booking_form")
    events = await ActionCrisisResponse().run(dispatcher, tracker, domain.as_dict())
    assert ActiveLoop(None) in events
    assert SlotSet("requested_slot", None) in events


def test_crisis_text_follows_the_contract(domain):
    text = domain.responses["utter_crisis"][0]["text"]
    for required in ("911", "988", "988lifeline.org", "HOME to 741741", "not monitored", "staff"):
        assert required in text
    assert domain.responses["utter_crisis"][0]["buttons"][0]["payload"] == "/request_human"


@pytest.fixture(scope="module")
def matcher() -> CrisisMatcher:
    return CrisisMatcher.from_file()


def test_normalise_drops_apostrophes_and_punctuation():
    assert normalise("I DON’T want… to be here!!") == "i dont want to be here"


@pytest.mark.parametrize(
    "text",
    ["i want to kill myself", "I'm going to end it tonight", "my brother OD'd and won't wake up", "i'm suicidal"],
)
def test_net_catches_crisis_whatever_the_casing_or_punctuation(matcher, text):
    assert matcher.match(text)


@pytest.mark.parametrize(
    "text",
    [
        "can ketamine help with suicidal depression",
        "is an overdose possible in the clinic",
        "what are the side effects",
        "",
        None,
        "🙂" * 500,
        "<script>alert(1)</script>",
    ],
)
def test_general_questions_and_junk_do_not_trigger(matcher, text):
    assert matcher.match(text) is None


def test_a_personal_mention_triggers_even_inside_a_question(matcher):
    assert matcher.match("can ketamine help my suicidal thoughts") == "suicide_words"
