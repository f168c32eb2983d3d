"""The threshold tuner's scoring (scripts/tune_thresholds.py) and the FAQ gate's margin rule."""
import random

from rasa.shared.nlu.training_data.message import Message

from nlu_components.faq_confidence_gate import FaqConfidenceGate
from scripts import tune_thresholds as tune


def row(gold, intent="faq", answer=None, intent_confidence=0.9, answer_confidence=0.9, answer_margin=0.8,
        language="en"):
    return {
        "gold": gold, "intent": intent, "intent_confidence": intent_confidence, "margin": intent_confidence,
        "answer": answer if answer is not None else gold, "answer_confidence": answer_confidence,
        "answer_margin": answer_margin, "language": language,
    }


def test_an_answer_that_barely_leads_the_second_is_a_clarification():
    torn = row("faq/cost", answer="faq/insurance", answer_confidence=0.6, answer_margin=0.1)
    assert tune.outcome(torn, 0.5, 0.0, 0.5) == "wrong"
    assert tune.outcome(torn, 0.5, 0.0, 0.5, 0.2) == "clarified"
    assert tune.outcome(row("faq/cost", answer_margin=0.3), 0.5, 0.0, 0.5, 0.2) == "right"
    # a low intent confidence is a clarification whatever the answer
    assert tune.outcome(row("faq/cost", intent_confidence=0.4), 0.5, 0.0, 0.0) == "clarified"
    # other intents are not gated on the answer
    greeting = row("greet", intent="greet", answer="faq/cost", answer_margin=0.0)
    assert tune.outcome(greeting, 0.5, 0.0, 0.9, 0.5) == "right"


def test_all_rows_at_once_score_as_one_row_at_a_time():
    rng = random.Random(3)
    labels = ["faq/cost", "faq/insurance", "greet", "out_of_scope"]
    rows = [
        row(rng.choice(labels), intent=rng.choice(["faq", "greet", "out_of_scope"]), answer=rng.choice(labels[:2]),
            intent_confidence=rng.random(), answer_confidence=rng.random(), answer_margin=rng.random() / 2,
            language=rng.choice(["en", "es"]))
        for _ in range(300)
    ]
    for thresholds in [(0.0, 0.0, 0.0, 0.0), (0.5, 0.0, 0.3, 0.1), (0.7, 0.1, 0.6, 0.25)]:
        clarified, right = tune.outcomes(tune.arrays(rows), thresholds)
        expected = [tune.outcome(r, *thresholds) for r in rows]
        vectorised = ["clarified" if c else "right" if r else "wrong" for c, r in zip(clarified, right, strict=True)]
        assert vectorised == expected


def test_figures_per_language_and_for_other_messages():
    rows = [
        row("faq/cost"),
        row("faq/cost", answer="faq/insurance", answer_margin=0.05),
        row("faq/cost", answer_margin=0.05),
        row("faq/cost", language="es"), row("out_of_scope", answer="faq/cost"), row("greet", intent="greet"),
        row("crisis", answer="faq/cost"),
    ]
    english = tune.score(rows, (0.5, 0.0, 0.5, 0.1), "en")
    assert english["faq_right"] == 1 / 3 and english["faq_clarified"] == 2 / 3 and english["faq_wrong"] == 0
    untuned = tune.score(rows, (0.0, 0.0, 0.0, 0.0), "en")
    assert untuned["faq_wrong"] == 1 / 3
    # crisis messages are not counted; the out-of-scope request got an FAQ answer
    assert untuned["non_faq_given_faq_answer"] == 0.5 and untuned["out_of_scope_given_faq_answer"] == 1.0
    assert tune.score(rows, (0.0, 0.0, 0.0, 0.0), "es")["faq_right"] == 1.0


def test_the_chosen_thresholds_never_guess_in_any_language():
    # English: wrong answers lead by little; Spanish: a wrong answer is sure of itself at 0.6
    rows = [row("faq/cost", answer_confidence=0.9, answer_margin=0.7) for _ in range(40)]
    rows += [row("faq/cost", answer="faq/insurance", answer_confidence=0.5, answer_margin=0.05) for _ in range(4)]
    rows += [row("faq/cost", answer_confidence=0.55, answer_margin=0.4) for _ in range(4)]
    rows += [row("faq/cost", language="es", answer_confidence=0.8, answer_margin=0.6) for _ in range(20)]
    rows += [row("faq/cost", language="es", answer="faq/insurance", answer_confidence=0.6, answer_margin=0.3)]
    rows += [row("faq/cost", language="es", answer_confidence=0.55, answer_margin=0.2) for _ in range(2)]
    rows += [row("out_of_scope", intent="out_of_scope") for _ in range(20)]
    best = tune.choose(rows, max_wrong=0.02, max_unrelated=0.02)
    assert best is not None
    for figures in tune.by_language(tune.arrays(rows), best).values():
        assert figures["faq_wrong"] <= 0.02 and figures["faq_wrong"] < figures["faq_clarified"]
    # the margin rule keeps the English questions that the answer threshold alone would have lost
    assert tune.score(rows, best, "en")["faq_right"] == 44 / 48


def selector_message(confidences):
    ranking = [{"intent_response_key": f"faq/{i}", "confidence": c} for i, c in enumerate(confidences)]
    return Message(data={
        "text": "how much", "intent": {"name": "faq", "confidence": 0.9},
        "intent_ranking": [{"name": "faq", "confidence": 0.9}],
        "response_selector": {"faq": {"response": {"intent_response_key": "faq/0", "confidence": confidences[0]},
                                      "ranking": ranking}},
    })


def test_the_gate_asks_when_the_best_answer_barely_leads():
    gate = FaqConfidenceGate({**FaqConfidenceGate.get_default_config(), "threshold": 0.3, "margin": 0.2})
    torn, clear, unsure = selector_message([0.5, 0.4]), selector_message([0.6, 0.2]), selector_message([0.25, 0.01])
    gate.process([torn, clear, unsure])
    assert torn.get("intent")["name"] == "nlu_fallback"
    assert clear.get("intent")["name"] == "faq"
    assert unsure.get("intent")["name"] == "nlu_fallback"
    # without a margin (the default) only the confidence counts
    default_gate = FaqConfidenceGate({**FaqConfidenceGate.get_default_config(), "threshold": 0.3})
    torn = selector_message([0.5, 0.4])
    default_gate.process([torn])
    assert torn.get("intent")["name"] == "faq"
