"""Tunes the "never guess" thresholds by cross-validation on the training data.

The held-out files are not touched. The training data is split into K folds (stratified by
intent and FAQ topic); for each fold an NLU model is trained on the rest and run on the fold,
recording the raw confidences. The thresholds chosen answer as many FAQ questions right as
possible while at most MAX_WRONG of FAQ questions get a wrong answer and at most MAX_UNRELATED of
other messages get an FAQ answer; everything else gets a clarification. Results go to
docs/thresholds.md (copy the values into config.yml); the raw confidences to
results/threshold_observations.json, so that `--reuse` can re-score without retraining.
Usage: python scripts/tune_thresholds.py [--folds 3] [--max-wrong 0.05] [--max-unrelated 0.06] [--reuse]
"""
import argparse
import asyncio
import json
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from scripts.evaluate_nlu import parse_all, read_nlu_examples  # noqa: E402

REPORT = PROJECT_DIR / "docs" / "thresholds.md"
OBSERVATIONS = PROJECT_DIR / "results" / "threshold_observations.json"
GRID = [round(0.05 * step, 2) for step in range(0, 20)]


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


def write_nlu(examples: List[Tuple[str, str]], path: Path) -> None:
    by_label: Dict[str, List[str]] = defaultdict(list)
    for text, label in examples:
        by_label[label].append(text)
    blocks = [{"intent": label, "examples": "".join(f"- {t}\n" for t in texts)} for label, texts in by_label.items()]
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, sort_keys=False, allow_unicode=True))


def observations(k: int) -> List[Dict]:
    """Raw confidences for every training example, each predicted by a model that did not see it."""
    from rasa.model_training import train_nlu

    examples = read_nlu_examples((PROJECT_DIR / "data").rglob("*.yml"))
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for index, held in enumerate(folds(examples, k)):
            held_set = set(held)
            fold_dir = Path(work) / f"fold{index}"
            fold_dir.mkdir()
            write_nlu([e for e in examples if e not in held_set], fold_dir / "nlu.yml")
            # responses are needed by the ResponseSelector: reuse the project's
            (fold_dir / "responses.yml").write_text((PROJECT_DIR / "data/responses/faq.yml").read_text())
            model = train_nlu(
                str(PROJECT_DIR / "config.yml"), str(fold_dir), str(fold_dir), domain=str(PROJECT_DIR / "domain.yml")
            )
            parses = asyncio.run(parse_all(model, [text for text, _ in held]))
            for (_text, gold), parse in zip(held, parses, strict=True):
                ranking = [r for r in parse["intent_ranking"] if r["name"] != "nlu_fallback"]
                selector = parse.get("response_selector", {}).get("faq", {}).get("response", {})
                rows.append(
                    {
                        "gold": gold,
                        "intent": ranking[0]["name"],
                        "intent_confidence": ranking[0]["confidence"],
                        "margin": ranking[0]["confidence"] - (ranking[1]["confidence"] if len(ranking) > 1 else 0.0),
                        "answer": selector.get("intent_response_key"),
                        "answer_confidence": selector.get("confidence", 0.0),
                    }
                )
            print(f"fold {index + 1}/{k} done", flush=True)
    return rows


def outcome(row: Dict, intent_threshold: float, ambiguity: float, answer_threshold: float) -> str:
    """'right', 'wrong' or 'clarified' for one message under the given thresholds (crisis aside)."""
    if row["intent_confidence"] < intent_threshold or row["margin"] < ambiguity:
        return "clarified"
    if row["intent"] != "faq":
        return "right" if row["intent"] == row["gold"] else "wrong"
    if row["answer_confidence"] < answer_threshold:
        return "clarified"
    return "right" if row["answer"] == row["gold"] else "wrong"


def score(rows: List[Dict], thresholds: Tuple[float, float, float]) -> Dict[str, float]:
    faq = [r for r in rows if r["gold"].startswith("faq/")]
    others = [r for r in rows if not r["gold"].startswith("faq/") and r["gold"] != "crisis"]
    faq_outcomes = [outcome(r, *thresholds) for r in faq]
    wrongly_answered_faq = sum(
        1 for r in others if outcome(r, *thresholds) == "wrong" and r["intent"] == "faq"
    )
    return {
        "faq_right": faq_outcomes.count("right") / len(faq),
        "faq_wrong": faq_outcomes.count("wrong") / len(faq),
        "faq_clarified": faq_outcomes.count("clarified") / len(faq),
        "non_faq_given_faq_answer": wrongly_answered_faq / max(len(others), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--max-wrong", type=float, default=0.05, help="highest share of FAQ questions answered wrong")
    parser.add_argument(
        "--max-unrelated", type=float, default=0.06, help="highest share of other messages given an FAQ answer"
    )
    parser.add_argument("--reuse", action="store_true", help="re-score the saved observations instead of retraining")
    args = parser.parse_args()
    if args.reuse:
        rows = json.loads(OBSERVATIONS.read_text())
    else:
        rows = observations(args.folds)
        OBSERVATIONS.parent.mkdir(exist_ok=True)
        OBSERVATIONS.write_text(json.dumps(rows))
    candidates = []
    for intent_threshold in GRID:
        for ambiguity in (0.0, 0.05, 0.1, 0.2):
            for answer_threshold in GRID:
                figures = score(rows, (intent_threshold, ambiguity, answer_threshold))
                if figures["faq_wrong"] <= args.max_wrong and figures["non_faq_given_faq_answer"] <= args.max_unrelated:
                    # ties go to the lower thresholds: fewer clarifications for the same result
                    key = (round(figures["faq_right"], 6), -intent_threshold - answer_threshold - ambiguity)
                    candidates.append((key, (intent_threshold, ambiguity, answer_threshold), figures))
    if not candidates:
        print("No thresholds meet both limits; improve the training data or relax the limits.")
        return 1
    _, best, figures = max(candidates)
    untuned = score(rows, (0.0, 0.0, 0.0))
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(
        "# Confidence thresholds\n\n"
        f"Tuned by `make tune` ({args.folds}-fold cross-validation on the training data, {len(rows)} messages; "
        "the held-out files are never used). Chosen to answer as many FAQ questions right as possible while at most "
        f"{args.max_wrong:.0%} of FAQ questions get a wrong answer and at most {args.max_unrelated:.0%} of other "
        "messages (most of them out-of-scope requests written to look like clinic questions) get an FAQ answer. "
        "Everything else gets a clarification, which offers the likeliest topics and a person. The fold models "
        "see two thirds of the data, so they are less sure than the full model: these thresholds err on the "
        "cautious side.\n\n"
        "| setting (config.yml) | value |\n|---|---|\n"
        f"| FallbackClassifier `threshold` | {best[0]} |\n| FallbackClassifier `ambiguity_threshold` | {best[1]} |\n"
        f"| FaqConfidenceGate `threshold` | {best[2]} |\n\n"
        "| outcome for FAQ questions | without thresholds | with these thresholds |\n|---|---|---|\n"
        + "".join(
            f"| {name} | {untuned[key]:.1%} | {figures[key]:.1%} |\n"
            for name, key in [
                ("right answer", "faq_right"),
                ("wrong answer", "faq_wrong"),
                ("clarification asked", "faq_clarified"),
                ("non-FAQ message given an FAQ answer", "non_faq_given_faq_answer"),
            ]
        )
    )
    print(REPORT.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
