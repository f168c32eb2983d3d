"""Tunes the "never guess" thresholds on messages the model did not learn from.

Two sources of such messages (the held-out and frozen test sets are never read):
- with --development-set (what `make tune` runs): tests/dev/faq_dev*.yml, phrasings written blind
  like a visitor's and never trained on, scored by the trained model as a visitor's message would be;
- by default, K-fold cross-validation on the training data (both languages, stratified by intent and
  FAQ topic): for each fold the intent classifier and the FAQ answer selector of config.yml are
  trained on the rest and run on the fold. The training data holds deliberately unusual phrasings and
  the fold models see less of it, so this source is the more cautious of the two.
The thresholds chosen for each language (FaqConfidenceGate's `thresholds`: the intent's confidence
and its lead over the second intent, the FAQ answer's confidence and its lead over the second
answer) answer as many of that language's FAQ questions right as possible while at most MAX_WRONG
of them get a wrong answer, a wrong answer stays rarer than a clarification, and at most
MAX_UNRELATED of its other messages get an FAQ answer; everything else gets a clarification.
Results go to docs/thresholds.md (copy the values into config.yml); the raw confidences to
results/threshold_observations[_dev].json, so that `--reuse` can re-score without recomputing. A
section of the report headed KEPT_HEADING (written by hand) is kept when the report is rewritten.
Usage: python scripts/tune_thresholds.py [--development-set [FILE ...] [--model PATH] | --folds 5]
                                         [--max-wrong 0.02] [--max-unrelated 0.035] [--reuse]
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

from clinic.faq_topics import FAQ_FOLLOW_UPS, follow_up_answer  # noqa: E402
from scripts.evaluate_nlu import read_nlu_examples  # noqa: E402

REPORT = PROJECT_DIR / "docs" / "thresholds.md"
OBSERVATIONS = PROJECT_DIR / "results" / "threshold_observations.json"
GRID = [round(0.05 * step, 2) for step in range(0, 20)]
# a section of the report written by hand (what was decided, and why), kept when the report is rewritten
KEPT_HEADING = "## Decision"
SETTING_NAMES = ["`intent`", "`intent_margin`", "`answer`", "`answer_margin`"]
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}
MARGINS = [round(0.05 * step, 2) for step in range(0, 11)]
# every development set written for the thresholds (tests/dev/faq_dev.yml, faq_dev_2.yml ...)
DEVELOPMENT_SETS = sorted((PROJECT_DIR / "tests" / "dev").glob("faq_dev*.yml"))
# labels the fallback gates and the crisis check-in put above the intent classifier's own ranking (a
# crisis response stays: the visitor gets it instead of an answer)
GATE_LABELS = ("nlu_fallback", "possible_crisis")
DEFAULT_LANGUAGE = "en"  # FaqConfidenceGate's, for a language it has no thresholds for


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
            rows[i] = observation(messages[i].get(TEXT), languages[i], gold, message.as_dict())
        print(f"fold {index + 1}/{k} done", flush=True)
    return rows


def observation(text: str, language: str, gold: str, parse: Dict) -> Dict:
    """One message's raw confidences, before any threshold: the intent ranking (without the labels
    the gates and the check-in put on top of it) and the FAQ answer selector's."""
    ranking = [item for item in parse.get("intent_ranking") or [] if item["name"] not in GATE_LABELS]
    selector = (parse.get("response_selector") or {}).get("faq", {})
    answer_ranking = selector.get("ranking", [])
    return {
        "text": text,
        "language": language,
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


def development_set_names(names: List[str]) -> str:
    return ", ".join(f"`{Path(name).resolve().relative_to(PROJECT_DIR)}`" for name in names)


def development_observations(model_path: Optional[str], paths: List[Path]) -> List[Dict]:
    """Raw confidences of the trained model (the whole pipeline) for every message of the development
    set: phrasings written blind, like a visitor's, which the model never saw. Each message's language
    is the language detector's, as when serving."""
    from nlu_components.language_detector import TwoLanguageDetector
    from scripts.evaluate_nlu import predict

    examples = read_nlu_examples(paths)
    _, _, parses = predict(model_path, {text for text, _ in examples})
    detector = TwoLanguageDetector()
    rows = []
    for text, gold in examples:
        row = observation(text, (detector.detect(text) or {"name": "en"})["name"], gold, parses[text])
        if row["intent"] in FAQ_FOLLOW_UPS:
            # a follow-up question ("is it safe?") opening a conversation gets its default answer,
            # which no answer gate stops (clinic/faq_follow_ups.yml)
            answer = follow_up_answer(row["intent"], None).removeprefix("utter_")
            row.update(intent="faq", answer=answer, answer_confidence=1.0, answer_margin=1.0)
        rows.append(row)
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


def for_language(thresholds, language: Optional[str]) -> Tuple[float, ...]:
    """One language's thresholds from {language: thresholds} (the default language's for a language
    not listed), or the thresholds themselves when they are the same for every language."""
    if isinstance(thresholds, dict):
        return thresholds.get(language) or thresholds[DEFAULT_LANGUAGE]
    return thresholds


def score(rows, thresholds, language: Optional[str] = None) -> Dict[str, float]:
    """Outcome shares for FAQ questions and FAQ answers given to other messages (optionally one
    language); `thresholds` one tuple, or one per language (then with `language`)."""
    columns = rows if isinstance(rows, dict) else arrays(rows)
    thresholds = for_language(thresholds, language)
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


def by_language(columns: Dict[str, np.ndarray], thresholds) -> Dict[str, Dict[str, float]]:
    return {language: score(columns, thresholds, language) for language in sorted(set(columns["language"]))}


def choose(rows: List[Dict], max_wrong: float, max_unrelated: float, margins=MARGINS) -> Optional[Tuple[float, ...]]:
    """(intent threshold, intent ambiguity, answer threshold, answer margin) answering the most FAQ
    questions right (languages pooled) within the limits in every language. Ties go to the highest
    intent threshold (the same outcome on the set, and a floor for messages unlike any in it, such as
    gibberish, which the set has few of), then to the lower other thresholds (fewer clarifications).
    None if no candidate is within the limits."""
    columns = arrays(rows)
    best = None
    for intent_threshold in GRID:
        for ambiguity in (0.0, 0.05, 0.1, 0.2):
            for answer_threshold in GRID:
                for answer_margin in margins:
                    thresholds = (intent_threshold, ambiguity, answer_threshold, answer_margin)
                    if not acceptable(by_language(columns, thresholds), max_wrong, max_unrelated):
                        continue
                    key = (round(score(columns, thresholds)["faq_right"], 6), intent_threshold, -sum(thresholds[1:]))
                    if best is None or key > best[0]:
                        best = (key, thresholds)
    return best[1] if best else None


def choose_by_language(rows: List[Dict], max_wrong: float, max_unrelated: float) -> Optional[Dict[str, Tuple]]:
    """`choose` for each language on its own messages (FaqConfidenceGate holds thresholds per
    language); None if some language has no thresholds within the limits."""
    chosen = {
        language: choose([r for r in rows if r.get("language", "en") == language], max_wrong, max_unrelated)
        for language in sorted({r.get("language", "en") for r in rows})
    }
    return None if None in chosen.values() else chosen


def configured() -> Dict[str, Tuple[float, float, float, float]]:
    """The thresholds config.yml holds now, per language: (intent, intent margin, answer, answer
    margin), the intent ones the stricter of FallbackClassifier's and FaqConfidenceGate's."""
    from nlu_components.faq_confidence_gate import FaqConfidenceGate

    pipeline = yaml.safe_load((PROJECT_DIR / "config.yml").read_text())["pipeline"]
    fallback = next(c for c in pipeline if c["name"] == "FallbackClassifier")
    gate_settings = next(c for c in pipeline if c["name"].endswith("FaqConfidenceGate"))
    gate = FaqConfidenceGate({**FaqConfidenceGate.get_default_config(), **gate_settings})
    return {
        language: (
            max(float(fallback.get("threshold", 0.3)), settings["intent"]),
            max(float(fallback.get("ambiguity_threshold", 0.1)), settings["intent_margin"]),
            settings["answer"],
            settings["answer_margin"],
        )
        for language, settings in gate.thresholds.items()
    }


def confusions(rows: List[Dict], thresholds, top: int = 8) -> List[Tuple[str, int]]:
    """The topic pairs the wrong FAQ answers fall between under these thresholds, commonest first."""
    pairs = Counter(
        " / ".join(sorted((r["gold"][4:], r["answer"][4:])))
        for r in rows
        if r["gold"].startswith("faq/")
        and r["intent"] == "faq"
        and outcome(r, *for_language(thresholds, r.get("language", "en"))) == "wrong"
    )
    return pairs.most_common(top)


def lost_right_answers(rows: List[Dict], thresholds, language: str) -> Dict[str, float]:
    """Of the FAQ questions whose first choice was right, the shares (of all FAQ questions) sent to a
    clarification by the intent thresholds alone, by the answer gate alone, or by both."""
    thresholds = for_language(thresholds, language)
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


def report(rows: List[Dict], best: Dict[str, Tuple], previous: Dict[str, Tuple], args) -> str:
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
    if args.development_set:
        source = (
            f"Tuned by `make tune` on the development sets {development_set_names(args.development_set)} "
            f"({len(rows)} messages: {counts}, by the language detector), written blind by writers who saw "
            "neither the training data nor any test set, and never trained on. Each message is scored by the "
            "trained model (`make train`), as a visitor's would be; the held-out and frozen test sets are never "
            "read. The thresholds are chosen"
        )
    else:
        source = (
            f"Tuned by {args.folds}-fold cross-validation on the training data ({len(rows)} messages: {counts}; "
            "the held-out and frozen test sets are never read). Each message is scored by an intent classifier "
            "and an FAQ answer selector (config.yml's) trained on the other folds (which see "
            f"{args.folds - 1}/{args.folds} of the data, so they are a little less sure than the full model); "
            "the thresholds are chosen"
        )
    return (
        "# Confidence thresholds\n\n"
        f"{source} to answer as many FAQ questions right as possible while, in each language, at most "
        f"{args.max_wrong:.1%} of FAQ questions get a wrong answer, a wrong answer stays rarer than a "
        f"clarification, and at most {args.max_unrelated:.1%} of other messages (and of the out-of-scope requests "
        "among them) get an FAQ answer. Everything else gets a clarification, which offers the likeliest "
        "topics and a person.\n\n"
        "| setting (FaqConfidenceGate `thresholds`) | language | config.yml now | chosen |\n|---|---|---|---|\n"
        + "".join(
            f"| {name} | {LANGUAGE_NAMES.get(language, language)} | {now} | {chosen} |\n"
            for language in languages
            for name, now, chosen in zip(
                SETTING_NAMES, for_language(previous, language), best[language], strict=True
            )
        )
        + "\nThe intent settings apply on top of FallbackClassifier's (\"config.yml now\" shows the stricter of "
        "the two); set FallbackClassifier no stricter than the loosest language: `threshold` "
        f"{min(t[0] for t in best.values())}, `ambiguity_threshold` {min(t[1] for t in best.values())}. "
        "`intent_margin`: the top intent's confidence minus the second's; `answer_margin`: the chosen "
        "answer's minus the second-best answer's; below either, a clarification.\n"
        + (
            "config.yml holds the chosen values.\n\n"
            if all(tuple(for_language(previous, language)) == tuple(best[language]) for language in languages)
            else "**config.yml differs from the chosen values**: copy them into config.yml to adopt them.\n\n"
        )
        + ("Outcomes on the development set:\n\n" if args.development_set else "Outcomes in cross-validation:\n\n")
        + f"{table}\n\n"
        "Right first choices sent to a clarification (share of FAQ questions), by the gate that stopped them:\n\n"
        "| language | thresholds | intent confidence only | answer only "
        "| both |\n|---|---|---|---|---|\n" + lost + "\n"
        "Where the remaining wrong answers fall (topic pairs, with the chosen thresholds):\n\n"
        "| topics | wrong answers |\n|---|---|\n" + pairs
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-wrong", type=float, default=0.02, help="highest share of FAQ questions answered wrong")
    parser.add_argument(
        "--max-unrelated",
        type=float,
        # 3.5%: the development set has about 100 other messages a language, so 2% would be two messages;
        # those it answers are personal medication questions given the general medication answer
        default=0.035,
        help="highest share of other messages given an FAQ answer",
    )
    parser.add_argument("--reuse", action="store_true", help="re-score the saved observations instead of retraining")
    parser.add_argument(
        "--development-set", nargs="*", metavar="FILE",
        help="tune on the trained model's confidences for development sets (default: every tests/dev/faq_dev*.yml) "
        "instead of cross-validation",
    )
    parser.add_argument("--model", help="with --development-set: model archive (default: the newest in models/)")
    args = parser.parse_args()
    if args.development_set == []:  # the option without files: every development set
        args.development_set = [str(path) for path in DEVELOPMENT_SETS]
    saved = OBSERVATIONS.with_name("threshold_observations_dev.json") if args.development_set else OBSERVATIONS
    if args.reuse:
        rows = json.loads(saved.read_text())
    else:
        rows = (
            development_observations(args.model, [Path(name).resolve() for name in args.development_set])
            if args.development_set
            else observations(args.folds)
        )
        saved.parent.mkdir(exist_ok=True)
        saved.write_text(json.dumps(rows))
    best = choose_by_language(rows, args.max_wrong, args.max_unrelated)
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
