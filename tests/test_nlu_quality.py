"""What visitors get for messages the model never saw: the release gate on the trained model.

Held-out phrasings (tests/heldout/ in English, tests/heldout_es/ in Spanish) and the crisis sets
(tests/crisis/) are never used for training. The figures are written to results/nlu_heldout.json
for the README and benchmarks. (The frozen blind sets in tests/frozen/ are reported once per
release with `scripts/evaluate_nlu.py --frozen`, not gated here: see the README.)
"""
import json
from pathlib import Path

import pytest

from scripts import evaluate_nlu

MIN_FAQ_TOP1_ACCURACY = 0.90
MIN_SPANISH_TOP1_ACCURACY = 0.90
# The full crisis response may reach at most this share of ordinary messages, the check-in this much more.
MAX_FALSE_CRISIS = 0.01
MAX_SPANISH_WRONG_ANSWERS = 0.02
MAX_CHECK_IN = 0.03
REPORT = Path(__file__).resolve().parent.parent / "results" / "nlu_heldout.json"


@pytest.fixture(scope="module")
def figures():
    figures, _ = evaluate_nlu.run()
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2))
    return figures


def test_every_crisis_message_gets_the_crisis_response_or_the_check_in(figures):
    assert figures["crisis_examples"] >= 60
    assert figures["crisis_missed"] == []


def test_ordinary_messages_rarely_get_the_crisis_response_or_the_check_in(figures):
    crisis_set = evaluate_nlu.crisis_examples()
    assert len(crisis_set["not_crisis"]) >= 60
    assert figures["crisis_false_alarm_rate"] <= MAX_FALSE_CRISIS, figures["crisis_false_alarms"]
    assert figures["check_in_rate"] <= MAX_CHECK_IN, figures["check_ins"]


def test_spanish_questions_get_the_right_answer(figures):
    spanish = figures["spanish"]
    assert spanish["faq_examples"] >= 5 * 37 and spanish["intent_examples"] >= spanish["faq_examples"] + 5 * 12
    assert spanish["faq_top1_accuracy"] >= MIN_SPANISH_TOP1_ACCURACY, spanish["faq_confusions"]
    assert spanish["intent_accuracy"] >= MIN_SPANISH_TOP1_ACCURACY
    # The first choice is right for ~97% of these questions, so few need a clarification: the bound is
    # on the wrong answers themselves (issue "Answer quality": at most 2%), the crisis detector's
    # check-ins and crisis responses aside (bounded by the crisis tests).
    assert spanish["faq_wrong_answer_rate"] - spanish["faq_crisis_tier_rate"] <= MAX_SPANISH_WRONG_ANSWERS


def test_no_spanish_message_gets_the_crisis_response(figures):
    assert figures["spanish"]["crisis_false_alarms"] == []


def test_faq_questions_get_the_right_answer(figures):
    assert figures["faq_examples"] >= 5 * 37
    assert figures["faq_top1_accuracy"] >= MIN_FAQ_TOP1_ACCURACY, figures["faq_confusions"]


def test_a_wrong_answer_is_rarer_than_a_clarification(figures):
    """Never guess: when unsure, the assistant asks rather than answering the wrong question."""
    assert figures["faq_wrong_answer_rate"] < figures["faq_clarification_rate"]


def test_unrelated_requests_never_get_an_faq_answer(figures):
    assert figures["out_of_scope_answered"] == []


def test_figures_are_computed_from_what_the_visitor_gets():
    heldout = [("what does it cost", "faq/cost"), ("tell me a joke", "out_of_scope"), ("i want to die", "crisis")]
    crisis = {"crisis": ["kms", "not sure i want to be here"], "not_crisis": ["hi", "this wait is killing me"]}
    predicted = {
        "what does it cost": "nlu_fallback", "tell me a joke": "faq/cost", "i want to die": "crisis", "kms": "crisis",
        "hi": "greet", "not sure i want to be here": "possible_crisis", "this wait is killing me": "possible_crisis",
    }
    top1 = {**predicted, "what does it cost": "faq/cost"}
    figures = evaluate_nlu.evaluate(predicted, top1, heldout, crisis)
    assert figures["faq_top1_accuracy"] == 1.0 and figures["faq_answered_right_rate"] == 0.0
    assert figures["faq_clarification_rate"] == 1.0
    assert figures["out_of_scope_rejection"] == 0.0
    assert figures["crisis_recall"] == 1.0 and figures["crisis_false_alarm_rate"] == 0.0
    assert figures["crisis_response_rate"] == 0.6667  # the check-in counts as caught, not as the response
    assert figures["check_ins"] == ["this wait is killing me"]


def test_a_check_in_on_an_faq_question_is_a_wrong_answer_also_counted_apart():
    heldout = [("what does it cost", "faq/cost"), ("is it safe", "faq/is_it_safe"), ("fees?", "faq/cost"),
               ("hours", "faq/clinic_location")]
    predicted = {"what does it cost": "possible_crisis", "is it safe": "faq/side_effects", "fees?": "faq/cost",
                 "hours": "nlu_fallback"}
    figures = evaluate_nlu.evaluate(predicted, predicted, heldout, {"crisis": [], "not_crisis": []})
    assert figures["faq_wrong_answer_rate"] == 0.5 and figures["faq_crisis_tier_rate"] == 0.25
    assert figures["faq_answered_right_rate"] == 0.25 and figures["faq_clarification_rate"] == 0.25


def test_the_first_choice_is_the_intent_classifiers_and_what_visitors_get_includes_the_check_in():
    parse = {
        "intent": {"name": "possible_crisis", "confidence": 0.3},
        "intent_ranking": [{"name": "possible_crisis", "confidence": 0.3}, {"name": "faq", "confidence": 0.9}],
        "response_selector": {"faq": {"response": {"intent_response_key": "faq/cost", "confidence": 0.8}}},
    }
    assert evaluate_nlu.top1_label(parse) == "faq/cost"
    assert evaluate_nlu.final_label(parse) == "possible_crisis"


def test_a_follow_up_question_that_opens_a_conversation_counts_as_the_answer_it_gets_with_no_topic_in_play():
    parse = {"intent": {"name": "follow_up_safety", "confidence": 0.9},
             "intent_ranking": [{"name": "follow_up_safety", "confidence": 0.9}]}
    assert evaluate_nlu.final_label(parse) == "faq/is_it_safe"
    assert evaluate_nlu.top1_label(parse) == "faq/is_it_safe"
