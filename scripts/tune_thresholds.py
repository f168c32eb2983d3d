"""Tunes the "never guess" thresholds by cross-validation on the training data.

The held-out files are not touched. The training data (both languages) is split into K folds
(stratified by intent and FAQ topic); for each fold the intent classifier and the FAQ answer
selector of config.yml are trained on the rest and run on the fold, recording the raw confidences.
The thresholds chosen (FallbackClassifier's threshold and ambiguity threshold, FaqConfidenceGate's
threshold and margin) answer as many FAQ questions right as possible while, in every language, at
most MAX_WRONG of FAQ questions get a wrong answer, a wrong answer stays rarer than a clarification,
and at most MAX_UNRELATED of other messages get an FAQ answer; everything else gets a clarification.
Results go to docs/thresholds.md (copy the values into config.yml); the raw confidences to
results/threshold_observations.json, so that `--reuse` can re-score without retraining. A section
of the report headed KEPT_HEADING (written by hand) is kept when the report is rewritten.
Usage: python scripts/tune_thresholds.py [--folds 5] [--max-wrong 0.025] [--max-unrelated 0.02] [--reuse]
"""
import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from scripts.evaluate_nlu import read_nlu_examples  # noqa: E402

REPORT = PROJECT_DIR / "docs" / "thresholds.md"
OBSERVATIONS = PROJECT_DIR / "results" / "threshold_observations.json"
GRID = [round(0.05 * step, 2) for step in range(0, 20)]
# a section of the report written by hand (what was decided, and why), kept when the report is rewritten
KEPT_HEADING = "## Decision"
SETTING_NAMES = [
    "FallbackClassifier `threshold`",
    "FallbackClassifier `ambiguity_threshold`",
    "FaqConfidenceGate `threshold`",
    "FaqConfidenceGate `margin`",
]
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}
MARGINS = [round(0.05 * step, 2) for step in range(0, 11)]


def folds(examples: List[Tuple[str, str]], k: int, seed: int = 7) -> List[List[Tuple[str, str]]]:
    by_label: Dict[str, List[Tuple[str, str]]] = defaultdict(list)
    for example in examples:
        by_label[example[1]].append(example)
    parts: List[List[Tuple[str, str]]] = [[] for _ in range(k)]
    rng = random.Random(seed)
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        for index, example in enumerate(group):
            parts[index % k].append(example)
    return parts


def training_messages():
    """The training data and its featurized intent examples (tokens, MiniLM and USE sentence
    embeddings, as in config.yml); each example's language is read from its file (data/nlu/es/)."""
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.shared.nlu.constants import TEXT

    from nlu_components.sentence_embedding_featurizer import (
        MultilingualSentenceFeaturizer,
        SentenceEmbeddingFeaturizer,
    )

    importer = TrainingDataImporter.load_from_config(
        str(PROJECT_DIR / "config.yml"), str(PROJECT_DIR / "domain.yml"), [str(PROJECT_DIR / "data")]
    )
    training_data = importer.get_nlu_data()
    messages = [m for m in training_data.intent_examples if m.get(TEXT)]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    for featurizer, name in ((SentenceEmbeddingFeaturizer, "minilm"), (MultilingualSentenceFeaturizer, "use")):
        featurizer({**featurizer.get_default_config(), "alias": name}, name).process(messages)
    spanish = {text for text, _ in read_nlu_examples((PROJECT_DIR / "data" / "nlu" / "es").rglob("*.yml"))}
    return training_data, messages, ["es" if m.get(TEXT) in spanish else "en" for m in messages]


def component_config(cls) -> Dict:
    config = yaml.safe_load((PROJECT_DIR / "config.yml").read_text())
    settings = next(c for c in config["pipeline"] if c["name"].split(".")[-1] == cls.__name__)
    return {**cls.get_default_config(), **{k: v for k, v in settings.items() if k not in ("name", "alias")}}


def observations(k: int) -> List[Dict]:
    """Raw confidences for every training example, each predicted by a model that did not see it.

    The intent classifier and the FAQ answer selector of config.yml are refitted on each fold's
    training part with the sentence embeddings computed once (the featurizers have nothing to learn),
    which gives what `rasa train` would for the fold, in a fraction of the time. The crisis detector
    is left out: its messages are not FAQ questions, and it is tuned by scripts/tune_crisis.py."""
    from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from nlu_components.linear_classifiers import LinearIntentClassifier, LinearResponseSelector

    training_data, messages, languages = training_messages()
    labels = [m.get(INTENT_RESPONSE_KEY) or m.get(INTENT) for m in messages]
    rows: List[Dict] = [{} for _ in messages]
    for index, held in enumerate(folds(list(enumerate(labels)), k)):
        held_ids = {i for i, _ in held}
        train = [m for i, m in enumerate(messages) if i not in held_ids]
        intents = LinearIntentClassifier(component_config(LinearIntentClassifier), None, None)
        intents.model = intents.fit(intents.labelled_examples(TrainingData(train)), training_data)
        answers = LinearResponseSelector(component_config(LinearResponseSelector), None, None)
        answers.model = answers.fit(answers.labelled_examples(TrainingData(train)), training_data)
        held_messages = [Message(data={TEXT: messages[i].get(TEXT)}, features=messages[i].features) for i, _ in held]
        intents.process(held_messages)
        answers.process(held_messages)
        for (i, gold), message in zip(held, held_messages, strict=True):
            ranking = message.get("intent_ranking")
            selector = message.get("response_selector", {}).get("faq", {})
            answer_ranking = selector.get("ranking", [])
            rows[i] = {
                "text": messages[i].get(TEXT),
                "language": languages[i],
                "gold": gold,
                "intent": ranking[0]["name"],
                "intent_confidence": ranking[0]["confidence"],
                "margin": ranking[0]["confidence"] - (ranking[1]["confidence"] if len(ranking) > 1 else 0.0),
                "answer": selector.get("response", {}).get("intent_response_key"),
                "answer_confidence": selector.get("response", {}).get("confidence", 0.0),
                "answer_second": answer_ranking[1]["intent_response_key"] if len(answer_ranking) > 1 else None,
                "answer_margin": answer_ranking[0]["confidence"]
                - (answer_ranking[1]["confidence"] if len(answer_ranking) > 1 else 0.0),
            }
        print(f"fold {index + 1}/{k} done", flush=True)
    return rows


def outcome(
    row: Dict, intent_threshold: float, ambiguity: float, answer_threshold: float, answer_margin: float = 0.0
) -> str:
    """'right', 'wrong' or 'clarified' for one message under the given thresholds (crisis aside):
    FallbackClassifier (intent confidence, intent margin), then FaqConfidenceGate (the answer's
    confidence, and how far it leads the second-best answer)."""
    if row["intent_confidence"] < intent_threshold or row["margin"] < ambiguity:
        return "clarified"
    if row["intent"] != "faq":
        return "right" if row["intent"] == row["gold"] else "wrong"
    if row["answer_confidence"] < answer_threshold or row.get("answer_margin", 1.0) < answer_margin:
        return "clarified"
    return "right" if row["answer"] == row["gold"] else "wrong"


def arrays(rows: List[Dict]) -> Dict[str, np.ndarray]:
    """The observations as columns, for scoring many candidate thresholds quickly."""
    column = lambda key, default=0.0: np.asarray([r.get(key, default) for r in rows])  # noqa: E731
    gold = [r["gold"] for r in rows]
    return {
        "intent_confidence": column("intent_confidence"),
        "margin": column("margin"),
        "answer_confidence": column("answer_confidence"),
        "answer_margin": column("answer_margin", 1.0),
        "faq_intent": np.asarray([r["intent"] == "faq" for r in rows]),
        "intent_right": np.asarray([r["intent"] == r["gold"] for r in rows]),
        "answer_right": np.asarray([r["answer"] == r["gold"] for r in rows]),
        "faq": np.asarray([g.startswith("faq/") for g in gold]),
        "other": np.asarray([not g.startswith("faq/") and g != "crisis" for g in gold]),
        "out_of_scope": np.asarray([g == "out_of_scope" for g in gold]),
        "language": np.asarray([r.get("language", "en") for r in rows]),
    }


def outcomes(columns: Dict[str, np.ndarray], thresholds: Tuple[float, ...]) -> Tuple[np.ndarray, np.ndarray]:
    """(clarified, right) for every message: `outcome` for all rows at once."""
    intent_threshold, ambiguity, answer_threshold = thresholds[:3]
    answer_margin = thresholds[3] if len(thresholds) > 3 else 0.0
    clarified = (columns["intent_confidence"] < intent_threshold) | (columns["margin"] < ambiguity)
    unsure_answer = (columns["answer_confidence"] < answer_threshold) | (columns["answer_margin"] < answer_margin)
    clarified |= columns["faq_intent"] & unsure_answer
    right = ~clarified & np.where(columns["faq_intent"], columns["answer_right"], columns["intent_right"])
    return clarified, right


def score(rows, thresholds: Tuple[float, ...], language: Optional[str] = None) -> Dict[str, float]:
    """Outcome shares for FAQ questions and FAQ answers given to other messages (optionally one language)."""
    columns = rows if isinstance(rows, dict) else arrays(rows)
    clarified, right = outcomes(columns, thresholds)
    keep = np.ones(len(right), dtype=bool) if language is None else columns["language"] == language
    faq, other, out_of_scope = (columns[k] & keep for k in ("faq", "other", "out_of_scope"))
    answered_faq = ~clarified & ~right & columns["faq_intent"]
    share = lambda hits, among: float((hits & among).sum() / max(among.sum(), 1))  # noqa: E731
    return {
        "faq_right": share(right, faq),
        "faq_wrong": share(~clarified & ~right, faq),
        "faq_clarified": share(clarified, faq),
        "non_faq_given_faq_answer": share(answered_faq, other),
        "out_of_scope_given_faq_answer": share(answered_faq, out_of_scope),
    }


def acceptable(figures_by_language: Dict[str, Dict[str, float]], max_wrong: float, max_unrelated: float) -> bool:
    """Never guess, in every language: at most max_wrong of FAQ questions answered wrong, a wrong
    answer rarer than a clarification, and at most max_unrelated of other messages (and of the
    out-of-scope requests among them) given an FAQ answer."""
    return all(
        f["faq_wrong"] <= max_wrong
        and f["faq_wrong"] < f["faq_clarified"]
        and f["non_faq_given_faq_answer"] <= max_unrelated
        and f["out_of_scope_given_faq_answer"] <= max_unrelated
        for f in figures_by_language.values()
    )


def by_language(columns: Dict[str, np.ndarray], thresholds: Tuple[float, ...]) -> Dict[str, Dict[str, float]]:
    return {language: score(columns, thresholds, language) for language in sorted(set(columns["language"]))}


def choose(rows: List[Dict], max_wrong: float, max_unrelated: float, margins=MARGINS) -> Optional[Tuple[float, ...]]:
    """(intent threshold, intent ambiguity, answer threshold, answer margin) answering the most FAQ
    questions right (languages pooled) within the limits in every language; ties go to the lower
    thresholds (fewer clarifications). None if no candidate is within the limits."""
    columns = arrays(rows)
    best = None
    for intent_threshold in GRID:
        for ambiguity in (0.0, 0.05, 0.1, 0.2):
            for answer_threshold in GRID:
                for answer_margin in margins:
                    thresholds = (intent_threshold, ambiguity, answer_threshold, answer_margin)
                    if not acceptable(by_language(columns, thresholds), max_wrong, max_unrelated):
                        continue
                    key = (round(score(columns, thresholds)["faq_right"], 6), -sum(thresholds))
                    if best is None or key > best[0]:
                        best = (key, thresholds)
    return best[1] if best else None


def configured() -> Tuple[float, float, float, float]:
    """The thresholds config.yml holds now: FallbackClassifier's, then FaqConfidenceGate's."""
    from nlu_components.faq_confidence_gate import FaqConfidenceGate

    pipeline = yaml.safe_load((PROJECT_DIR / "config.yml").read_text())["pipeline"]
    fallback = next(c for c in pipeline if c["name"] == "FallbackClassifier")
    gate_settings = next(c for c in pipeline if c["name"].endswith("FaqConfidenceGate"))
    gate = {**FaqConfidenceGate.get_default_config(), **gate_settings}
    return (
        float(fallback.get("threshold", 0.3)),
        float(fallback.get("ambiguity_threshold", 0.1)),
        float(gate["threshold"]),
        float(gate["margin"]),
    )


def confusions(rows: List[Dict], thresholds: Tuple[float, ...], top: int = 8) -> List[Tuple[str, int]]:
    """The topic pairs the wrong FAQ answers fall between under these thresholds, commonest first."""
    pairs = Counter(
        " / ".join(sorted((r["gold"][4:], r["answer"][4:])))
        for r in rows
        if r["gold"].startswith("faq/") and r["intent"] == "faq" and outcome(r, *thresholds) == "wrong"
    )
    return pairs.most_common(top)


def lost_right_answers(rows: List[Dict], thresholds: Tuple[float, ...], language: str) -> Dict[str, float]:
    """Of the FAQ questions whose first choice was right, the shares (of all FAQ questions) sent to a
    clarification by the intent thresholds alone, by the answer gate alone, or by both."""
    faq = [r for r in rows if r["gold"].startswith("faq/") and r.get("language", "en") == language]
    lost = [r for r in faq if r["intent"] == "faq" and r["answer"] == r["gold"]]
    lost = [r for r in lost if outcome(r, *thresholds) == "clarified"]
    by_intent = {id(r) for r in lost if outcome(r, *thresholds[:2], 0.0, 0.0) == "clarified"}
    by_answer = {id(r) for r in lost if outcome(r, 0.0, 0.0, *thresholds[2:]) == "clarified"}
    share = lambda ids: len(ids) / max(len(faq), 1)  # noqa: E731
    return {
        "intent": share(by_intent - by_answer),
        "answer": share(by_answer - by_intent),
        "both": share(by_intent & by_answer),
    }


def report(rows: List[Dict], best: Tuple[float, ...], previous: Tuple[float, ...], args) -> str:
    columns = arrays(rows)
    languages = sorted(set(columns["language"]))
    counts = ", ".join(f"{(columns['language'] == lang).sum()} {LANGUAGE_NAMES.get(lang, lang)}" for lang in languages)
    settings = [("no thresholds", (0.0, 0.0, 0.0, 0.0)), ("config.yml now", previous), ("chosen", best)]
    table = "| outcome | language | " + " | ".join(name for name, _ in settings) + " |\n|---|---|"
    table += "---|" * len(settings)
    for name, key in [
        ("right answer", "faq_right"),
        ("clarification asked", "faq_clarified"),
        ("wrong answer", "faq_wrong"),
        ("non-FAQ message given an FAQ answer", "non_faq_given_faq_answer"),
        ("out-of-scope request given an FAQ answer", "out_of_scope_given_faq_answer"),
    ]:
        for language in languages:
            cells = " | ".join(f"{score(columns, t, language)[key]:.1%}" for _, t in settings)
            table += f"\n| {name} | {LANGUAGE_NAMES.get(language, language)} | {cells} |"
    pairs = "".join(f"| {pair} | {count} |\n" for pair, count in confusions(rows, best))
    lost = ""
    for language in languages:
        for name, thresholds in settings[1:]:
            figures = lost_right_answers(rows, thresholds, language)
            lost += (
                f"| {LANGUAGE_NAMES.get(language, language)} | {name} | {figures['intent']:.1%} | "
                f"{figures['answer']:.1%} | {figures['both']:.1%} |\n"
            )
    return (
        "# Confidence thresholds\n\n"
        f"Tuned by `make tune`: {args.folds}-fold cross-validation on the training data ({len(rows)} messages: "
        f"{counts}; the held-out and frozen test sets are never read). Each message is scored by an intent "
        "classifier and an FAQ answer selector (config.yml's) trained on the other folds; the thresholds are "
        "chosen to answer as many FAQ questions right as possible while, in each language, at most "
        f"{args.max_wrong:.1%} of FAQ questions get a wrong answer, a wrong answer stays rarer than a "
        f"clarification, and at most {args.max_unrelated:.1%} of other messages (and of the out-of-scope requests "
        "among them) get an FAQ answer. Everything else gets a clarification, which offers the likeliest "
        "topics and a person. The fold models see "
        f"{args.folds - 1}/{args.folds} of the data, so they are a little less sure than the full model.\n\n"
        "| setting | config.yml now | chosen |\n|---|---|---|\n"
        + "".join(
            f"| {name} | {now} | {chosen} |\n"
            for name, now, chosen in zip(SETTING_NAMES, previous, best, strict=True)
        )
        + "\n`margin`: the chosen answer's confidence minus the second-best answer's; below it, a clarification.\n"
        + (
            "config.yml holds the chosen values.\n\n"
            if tuple(previous) == tuple(best)
            else "**config.yml differs from the chosen values**: copy them into config.yml to adopt them.\n\n"
        )
        + "Outcomes in cross-validation:\n\n"
        f"{table}\n\n"
        "Right first choices sent to a clarification (share of FAQ questions), by the gate that stopped them:\n\n"
        "| language | thresholds | intent confidence (FallbackClassifier) only | answer (FaqConfidenceGate) only "
        "| both |\n|---|---|---|---|---|\n" + lost + "\n"
        "Where the remaining wrong answers fall (topic pairs, with the chosen thresholds):\n\n"
        "| topics | wrong answers |\n|---|---|\n" + pairs
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-wrong", type=float, default=0.025, help="highest share of FAQ questions answered wrong")
    parser.add_argument(
        "--max-unrelated", type=float, default=0.02, help="highest share of other messages given an FAQ answer"
    )
    parser.add_argument("--reuse", action="store_true", help="re-score the saved observations instead of retraining")
    args = parser.parse_args()
    if args.reuse:
        rows = json.loads(OBSERVATIONS.read_text())
    else:
        rows = observations(args.folds)
        OBSERVATIONS.parent.mkdir(exist_ok=True)
        OBSERVATIONS.write_text(json.dumps(rows))
    best = choose(rows, args.max_wrong, args.max_unrelated)
    if best is None:
        print("No thresholds meet the limits; improve the training data or relax the limits.")
        return 1
    REPORT.parent.mkdir(exist_ok=True)
    previous = REPORT.read_text() if REPORT.exists() else ""
    kept = previous[previous.index(KEPT_HEADING) :] if KEPT_HEADING in previous else ""
    REPORT.write_text(report(rows, best, configured(), args) + ("\n" + kept if kept else ""))
    print(REPORT.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
