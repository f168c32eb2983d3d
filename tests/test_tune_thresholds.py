"""The threshold tuner's scoring (scripts/tune_thresholds.py) and the FAQ gate's margin rule."""
import random

import pytest
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


def test_among_equal_outcomes_the_highest_intent_floor_is_kept():
    """Gibberish and other messages unlike any in the set still meet an intent floor: when a higher
    intent threshold loses no right answer on the set, the tuner keeps the higher one."""
    rows = [row("faq/cost", intent_confidence=0.7) for _ in range(40)]
    rows += [row("faq/cost", answer="faq/insurance", answer_confidence=0.3) for _ in range(2)]
    rows += [row("out_of_scope", intent="out_of_scope") for _ in range(20)]
    best = tune.choose(rows, max_wrong=0.02, max_unrelated=0.02)
    assert best[0] == 0.7
    assert tune.score(rows, best, "en")["faq_right"] == 40 / 42


def selector_message(confidences, language=None, intent_ranking=(("faq", 0.9),)):
    ranking = [{"intent_response_key": f"faq/{i}", "confidence": c} for i, c in enumerate(confidences)]
    data = {
        "text": "how much", "intent": {"name": intent_ranking[0][0], "confidence": intent_ranking[0][1]},
        "intent_ranking": [{"name": name, "confidence": c} for name, c in intent_ranking],
        "response_selector": {"faq": {"response": {"intent_response_key": "faq/0", "confidence": confidences[0]},
                                      "ranking": ranking}},
    }
    if language:
        data["language"] = {"name": language}
    return Message(data=data)


def gate(**by_language):
    return FaqConfidenceGate({**FaqConfidenceGate.get_default_config(), "thresholds": by_language})


def intent_after(gate_, message):
    gate_.process([message])
    return message.get("intent")["name"]


def test_the_gate_asks_when_the_best_answer_barely_leads():
    margin_gate = gate(en={"answer": 0.3, "answer_margin": 0.2})
    assert intent_after(margin_gate, selector_message([0.5, 0.4])) == "nlu_fallback"
    assert intent_after(margin_gate, selector_message([0.6, 0.2])) == "faq"
    assert intent_after(margin_gate, selector_message([0.25, 0.01])) == "nlu_fallback"
    # without a margin only the confidence counts
    assert intent_after(gate(en={"answer": 0.3}), selector_message([0.5, 0.4])) == "faq"


def test_each_language_has_its_own_thresholds():
    """Spanish questions are answered from a lower intent confidence than English ones; a message in
    no clear language, or in a language with no settings, gets the English thresholds."""
    two_languages = gate(en={"intent": 0.75, "answer": 0.35}, es={"intent": 0.5, "answer": 0.4})
    unsure_intent = (("faq", 0.6), ("greet", 0.1))
    assert intent_after(two_languages, selector_message([0.9, 0.0], "es", unsure_intent)) == "faq"
    assert intent_after(two_languages, selector_message([0.9, 0.0], "en", unsure_intent)) == "nlu_fallback"
    assert intent_after(two_languages, selector_message([0.9, 0.0], None, unsure_intent)) == "nlu_fallback"
    assert intent_after(two_languages, selector_message([0.9, 0.0], "fr", unsure_intent)) == "nlu_fallback"
    # the answer's threshold is the language's too: 0.38 is enough in English, not in Spanish
    assert intent_after(two_languages, selector_message([0.38, 0.0], "en")) == "faq"
    assert intent_after(two_languages, selector_message([0.38, 0.0], "es")) == "nlu_fallback"
    # the intent settings hold for every intent; an intent close behind the first is a clarification
    margin_gate = gate(en={"intent": 0.5, "intent_margin": 0.2})
    assert intent_after(margin_gate, selector_message([0.9], "en", (("greet", 0.55), ("goodbye", 0.4)))) == (
        "nlu_fallback"
    )
    assert intent_after(margin_gate, selector_message([0.9], "en", (("greet", 0.8), ("goodbye", 0.1)))) == "greet"
    with pytest.raises(ValueError):
        gate(es={"intent": 0.5})


def test_the_tuner_chooses_for_each_language_on_its_own():
    """A Spanish wrong answer sure of itself at 0.6 must not make English stricter, nor the reverse."""
    rows = [row("faq/cost", answer_confidence=0.9) for _ in range(40)]
    rows += [row("faq/cost", answer_confidence=0.45) for _ in range(10)]
    rows += [row("faq/cost", answer="faq/insurance", answer_confidence=0.2) for _ in range(2)]
    rows += [row("faq/cost", language="es", answer_confidence=0.9) for _ in range(40)]
    rows += [row("faq/cost", language="es", answer="faq/insurance", answer_confidence=0.6) for _ in range(2)]
    rows += [row("faq/cost", language="es", answer_confidence=0.5) for _ in range(4)]
    chosen = tune.choose_by_language(rows, max_wrong=0.02, max_unrelated=0.02)
    assert tune.score(rows, chosen, "en")["faq_right"] == 50 / 52
    assert tune.score(rows, chosen, "es")["faq_right"] == 40 / 46
    assert 0.2 < chosen["en"][2] <= 0.45 and chosen["es"][2] > 0.6


def test_the_crisis_tuner_scores_the_phrase_list_as_serving_does():
    """The tuner's outcome for each message is what the detector's tiers and the crisis patterns give
    it when serving: a phrase-list match is the crisis response only when the detector agrees, else the
    check-in, a match counts only from the pattern floor, and a word that only names the subject only
    from the topic floor."""
    import numpy as np
    from rasa.shared.nlu.training_data.message import Message

    from nlu_components.crisis_classifier import CRISIS_SCORE_KEY, crisis_tier, set_intent
    from nlu_components.crisis_safety_net import CrisisMatcher, CrisisSafetyNet
    from scripts.tune_crisis import tiers

    net = CrisisSafetyNet(CrisisMatcher.from_file(), classifier_agreement=0.5, pattern_floor=0.005, topic_floor=0.02)
    sure, check = 0.95, 0.25
    cases = [
        ("what are your hours", 0.97), ("i want to kill myself", 0.7), ("i want to kill myself", 0.1),
        ("i want to kill myself", 0.001),
        ("what are your hours", 0.3), ("what are your hours", 0.1),
        ("my chart says past suicidal ideation, do i need a referral", 0.01),
        ("my chart says past suicidal ideation, do i need a referral", 0.05),
    ]

    def serving(text, score):
        message = Message(data={"text": text, "intent": {"name": "faq", "confidence": 0.9}})
        message.set(CRISIS_SCORE_KEY, score)
        tier = crisis_tier(score, sure, check)
        if tier:
            set_intent(message, "crisis" if tier == "sure" else "possible_crisis", score)
        net.process([message])
        return message.get("intent")["name"]

    served = [serving(text, score) for text, score in cases]
    scores = np.asarray([score for _, score in cases])
    response, any_tier = tiers(scores, [net.matcher.match(text) for text, _ in cases], net, sure, check)
    assert response.tolist() == [name == "crisis" for name in served]
    assert any_tier.tolist() == [name in ("crisis", "possible_crisis") for name in served]
    assert served == ["crisis", "crisis", "possible_crisis", "faq", "possible_crisis", "faq", "faq", "possible_crisis"]


def test_development_observations_read_the_ranking_under_the_gates():
    """The fallback label the gates put on top is not the classifier's choice; a crisis response is."""
    gated = {
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.75}, {"name": "faq", "confidence": 0.6},
                           {"name": "greet", "confidence": 0.3}],
        "response_selector": {"faq": {"response": {"intent_response_key": "faq/cost", "confidence": 0.4},
                                      "ranking": [{"intent_response_key": "faq/cost", "confidence": 0.4},
                                                  {"intent_response_key": "faq/insurance", "confidence": 0.3}]}},
    }
    row = tune.observation("how much", "en", "faq/cost", gated)
    assert (row["intent"], row["intent_confidence"], row["answer"]) == ("faq", 0.6, "faq/cost")
    assert round(row["margin"], 6) == 0.3 and round(row["answer_margin"], 6) == 0.1
    crisis = {**gated, "intent_ranking": [{"name": "crisis", "confidence": 0.99}] + gated["intent_ranking"][1:]}
    assert tune.observation("how much", "en", "faq/cost", crisis)["intent"] == "crisis"
