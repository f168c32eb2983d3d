"""Two FAQ questions in one message get both answers: where the questions are, when both count as
asked, the gate letting such a message through, and the action that answers the second."""
import pytest
from rasa.shared.nlu.training_data.message import Message

from actions.faq import ActionAnswerSecondQuestion
from nlu_components.faq_confidence_gate import FaqConfidenceGate
from nlu_components.question_clauses import MAX_MESSAGE_CHARACTERS, asked_topics, question_clauses
from tests.test_after_booking import render
from tests.test_visitor_input_live import new_sender, say


def texts(message):
    return [question.text for question in question_clauses(message)]


@pytest.mark.parametrize(
    "message, questions",
    [
        ("how much does it cost and does insurance cover it?", ["how much does it cost", "does insurance cover it"]),
        ("Is it addictive? Can I drive home after?", ["Is it addictive", "Can I drive home after"]),
        ("¿Qué tan rápido funciona? ¿Y cuánto tiempo dura?", ["Qué tan rápido funciona", "cuánto tiempo dura"]),
        ("¿se puede en spray nasal? y cuanto cuesta", ["se puede en spray nasal", "cuanto cuesta"]),
        ("hi! so how long is a visit, also where are you", ["so how long is a visit", "where are you"]),
        ("wat r the side efects n is it adictive", ["wat r the side efects", "is it adictive"]),
    ],
)
def test_each_question_of_a_message_is_found_where_it_is(message, questions):
    assert texts(message) == questions
    for question in question_clauses(message):
        assert message[question.start : question.end] == question.text


@pytest.mark.parametrize(
    "message",
    [
        "how much does an infusion cost?",
        # a sentence told around the question is not a question of its own
        "health anxiety is a big thing for me. do you check my blood pressure during the infusion?",
        "I live in Richland and I'm curious, do you take Premera?",
        "mi hermana y yo tenemos ansiedad. ¿cuánto dura una sesión?",
        "",
        None,
        "what and how " * (MAX_MESSAGE_CHARACTERS // 10),
        "\udcff\udcfe and does it \x00 hurt?",
    ],
)
def test_a_message_with_one_question_or_none_has_no_questions_to_split(message):
    assert question_clauses(message) == []


def test_a_story_told_around_the_questions_does_not_count():
    assert texts("I have had anxiety for years and nothing worked. is it safe? and how much is it?") == [
        "is it safe",
        "how much is it",
    ]


def test_two_topics_count_when_each_question_names_its_own_clearly():
    # answered in the order asked
    assert asked_topics([("faq/cost", 0.8), ("faq/insurance", 0.7)], 0.5) == ["faq/cost", "faq/insurance"]
    # one of them unsure: one answer, as before
    assert asked_topics([("faq/cost", 0.8), ("faq/insurance", 0.4)], 0.5) == []
    # the same topic twice is one question asked twice
    assert asked_topics([("faq/cost", 0.8), ("faq/cost", 0.9)], 0.5) == []
    # three questions get three answers; four are a list to go through with a person
    three = [("faq/cost", 0.8), ("faq/insurance", 0.9), ("faq/clinic_location", 0.9)]
    assert asked_topics(three, 0.5) == ["faq/cost", "faq/insurance", "faq/clinic_location"]
    assert asked_topics(three + [("faq/side_effects", 0.9)], 0.5) == []


def two_question_message(intent="faq", second=True):
    selector = {
        "response": {"intent_response_key": "faq/insurance", "confidence": 0.49},
        "ranking": [
            {"intent_response_key": "faq/insurance", "confidence": 0.49},
            {"intent_response_key": "faq/cost", "confidence": 0.48},
        ],
    }
    if second:
        selector["more_questions"] = [{"intent_response_key": "faq/cost", "start": 0, "end": 21}]
    return Message(
        data={
            "text": "how much does it cost and does insurance cover it?",
            "intent": {"name": intent, "confidence": 0.95},
            "intent_ranking": [{"name": intent, "confidence": 0.95}, {"name": "greet", "confidence": 0.01}],
            "response_selector": {"faq": selector},
            "language": {"name": "en"},
        }
    )


def margin_gate():
    thresholds = {"en": {"intent": 0.5, "intent_margin": 0.1, "answer": 0.3, "answer_margin": 0.05}}
    return FaqConfidenceGate({**FaqConfidenceGate.get_default_config(), "thresholds": thresholds})


def test_a_message_torn_between_the_two_topics_it_asks_gets_both_answers():
    message = two_question_message()
    margin_gate().process([message])
    assert message.get("intent")["name"] == "faq"
    assert message.get("entities") == [
        {"entity": "second_question", "value": "cost", "start": 0, "end": 21, "extractor": "FaqConfidenceGate"}
    ]


def test_a_message_torn_between_two_answers_with_one_question_still_gets_a_clarification():
    message = two_question_message(second=False)
    margin_gate().process([message])
    assert message.get("intent")["name"] == "nlu_fallback"
    assert not message.get("entities")


def test_a_second_question_is_never_answered_for_a_message_that_is_not_an_faq_question():
    message = two_question_message(intent="book_consultation")
    margin_gate().process([message])
    assert message.get("intent")["name"] == "book_consultation"
    assert not message.get("entities")


def question_and_person_request(intent="faq", request_confidence=0.8, parts=None):
    selector = {"response": {"intent_response_key": "faq/cost", "confidence": 0.8},
                "ranking": [{"intent_response_key": "faq/cost", "confidence": 0.8}]}
    if parts:
        selector["question_parts"] = parts
    message = Message(
        data={
            "text": "how much is it? and can I talk to someone real",
            "intent": {"name": intent, "confidence": 0.9},
            "intent_ranking": [{"name": intent, "confidence": 0.9}, {"name": "greet", "confidence": 0.01}],
            "response_selector": {"faq": selector},
            "language": {"name": "en"},
            "question_intents": [
                {"name": "faq", "confidence": 0.9, "start": 0, "end": 14},
                {"name": "request_human", "confidence": request_confidence, "start": 20, "end": 46},
            ],
        }
    )
    thresholds = {"en": {"intent": 0.5, "intent_margin": 0.1, "answer": 0.3, "answer_margin": 0.05}}
    settings = {**FaqConfidenceGate.get_default_config(), "thresholds": thresholds, "person_request": 0.5}
    FaqConfidenceGate(settings).process([message])
    return message


def test_a_question_and_a_request_for_a_person_get_the_answer_and_the_offer_of_a_person():
    message = question_and_person_request()
    assert message.get("intent")["name"] == "faq"
    assert message.get("entities") == [{"entity": "person_requested", "value": "request_human", "start": 20,
                                        "end": 46, "extractor": "FaqConfidenceGate"}]


def test_a_question_and_a_request_read_as_the_request_still_get_the_answer_first():
    """Read as a whole, the same message is sometimes the request: when the answer selector answered
    its question surely, it is that question, with the offer of a person after the answer."""
    parts = [{"intent_response_key": "faq/cost", "confidence": 0.84}, {"intent_response_key": "faq/privacy",
                                                                         "confidence": 0.41}]
    message = question_and_person_request(intent="request_human", parts=parts)
    assert message.get("intent") == {"name": "faq", "confidence": 0.84}
    assert message.get("intent_ranking")[0]["name"] == "faq"
    assert [entity["entity"] for entity in message.get("entities")] == ["person_requested"]


def test_an_unsure_request_or_an_unanswered_question_gets_no_extra_offer():
    assert not question_and_person_request(request_confidence=0.3).get("entities")
    # read as the request, and the question's own answer not sure: the usual handoff rule, nothing added
    unsure = [{"intent_response_key": "faq/cost", "confidence": 0.3}, {"intent_response_key": "faq/privacy",
                                                                        "confidence": 0.41}]
    for parts in (None, unsure):
        whole = question_and_person_request(intent="request_human", parts=parts)
        assert whole.get("intent")["name"] == "request_human" and not whole.get("entities")


def second_question_parse(value):
    return {
        "intent": {"name": "faq", "confidence": 0.95},
        "entities": [{"entity": "second_question", "value": value, "start": 0, "end": 21}],
        "response_selector": {"faq": {"response": {"intent_response_key": "faq/insurance", "confidence": 0.49}}},
    }


async def test_the_second_question_gets_its_own_answer(make_tracker, dispatcher, domain):
    text = "how much does it cost and does insurance cover it?"
    tracker = make_tracker(text, parse_data=second_question_parse("cost"))
    await ActionAnswerSecondQuestion().run(dispatcher, tracker, domain.as_dict())
    assert [m["response"] for m in dispatcher.messages] == ["utter_faq/cost"]


async def test_each_further_question_gets_its_answer_once_in_the_order_asked(make_tracker, dispatcher, domain):
    parse = second_question_parse("insurance")
    parse["entities"] += [dict(parse["entities"][0], value="clinic_location"), dict(parse["entities"][0])]
    tracker = make_tracker("how much is it, do you take insurance, and where are you?", parse_data=parse)
    await ActionAnswerSecondQuestion().run(dispatcher, tracker, domain.as_dict())
    assert [m["response"] for m in dispatcher.messages] == ["utter_faq/insurance", "utter_faq/clinic_location"]


@pytest.mark.parametrize("value", ["not_a_topic", "../cost", "", None, "cost\x00", "x" * 10_000, ["cost"]])
async def test_no_answer_for_a_second_question_that_names_no_topic(make_tracker, dispatcher, domain, value):
    tracker = make_tracker("how much and is it covered?", parse_data=second_question_parse(value))
    await ActionAnswerSecondQuestion().run(dispatcher, tracker, domain.as_dict())
    assert dispatcher.messages == []


# ---- end to end: the running assistant (scripts/live_stack.py), with the clinic profile as shipped


@pytest.mark.parametrize(
    "message, language",
    [
        ("do I need a referral and is it covered by insurance?", "en"),
        ("¿necesito una referencia de mi doctor? ¿y aceptan seguro?", "es"),
    ],
)
async def test_a_visitor_who_asks_two_questions_reads_both_answers_in_their_language(
    live_assistant, domain, message, language
):
    replies = [reply.get("text") for reply in say(live_assistant, new_sender("two-questions"), message)]
    expected = [
        await render(domain, f"utter_faq/{topic}", {"language": language}) for topic in ("referral", "insurance")
    ]
    assert expected[0] in replies and expected[1] in replies
    assert replies.index(expected[0]) < replies.index(expected[1])
