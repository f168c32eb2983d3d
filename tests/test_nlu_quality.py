"""What visitors get for messages the model never saw: the release gate on the trained model.

Held-out phrasings (tests/heldout/) and the crisis set (tests/crisis/) are never used for
training. The figures are written to results/nlu_heldout.json for the README and benchmarks.
"""
import json
from pathlib import Path

import pytest

from scripts import evaluate_nlu

MIN_FAQ_TOP1_ACCURACY = 0.90
REPORT = Path(__file__).resolve().parent.parent / "results" / "nlu_heldout.json"


@pytest.fixture(scope="module")
def figures():
    figures, _ = evaluate_nlu.run()
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2))
    return figures


def test_every_crisis_message_gets_the_crisis_response(figures):
    assert figures["crisis_examples"] >= 60
    assert figures["crisis_missed"] == []


def test_ordinary_questions_do_not_trigger_the_crisis_response(figures):
    crisis_set = evaluate_nlu.crisis_examples()
    assert len(crisis_set["not_crisis"]) >= 60
    wrongly_flagged = [text for text in crisis_set["not_crisis"] if text in figures["crisis_false_alarms"]]
    assert wrongly_flagged == []


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
    crisis = {"crisis": ["kms"], "not_crisis": ["hi"]}
    predicted = {"what does it cost": "nlu_fallback", "tell me a joke": "faq/cost", "i want to die": "crisis", "kms": "crisis", "hi": "greet"}
    top1 = {**predicted, "what does it cost": "faq/cost"}
    figures = evaluate_nlu.evaluate(predicted, top1, heldout, crisis)
    assert figures["faq_top1_accuracy"] == 1.0 and figures["faq_answered_right_rate"] == 0.0
    assert figures["faq_clarification_rate"] == 1.0
    assert figures["out_of_scope_rejection"] == 0.0
    assert figures["crisis_recall"] == 1.0 and figures["crisis_false_alarm_rate"] == 0.0
