"""Held-out NLU evaluation: what a visitor would get for messages the model never saw in training.

Runs the trained model (the whole pipeline, fallback gate and crisis detector included) over
tests/heldout/*.yml (English), tests/heldout_es/*.yml (Spanish) and tests/crisis/*.yml, and reports:
  - FAQ top-1 accuracy: the answer the model ranks first is the right one (before thresholds);
  - what visitors get for FAQ questions: the right answer, a clarification, or a wrong answer;
  - crisis recall (the crisis response or the check-in), false alarms (the crisis response) and
    check-ins given to ordinary messages;
  - out-of-scope rejection: unrelated messages that got no FAQ answer.
With --frozen N it reports instead on frozen blind set N in tests/frozen/ (1: crisis_eval.yml and
faq_eval.yml; N: crisis_eval_N.yml and faq_eval_N.yml): run it once per model that is released,
never to tune (see the README). Each new look needs a new set, written blind. With --development
it reports the same figures on the development sets in tests/dev/, which tuning may use.
Usage: python scripts/evaluate_nlu.py [--model PATH] [--frozen [N] | --development] [--report FILE]
"""
import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))  # the model's custom components are imported from the project
from clinic.faq_topics import FAQ_FOLLOW_UPS, follow_up_answer  # noqa: E402

HELDOUT_DIR = PROJECT_DIR / "tests" / "heldout"
SPANISH_HELDOUT_DIR = PROJECT_DIR / "tests" / "heldout_es"
CRISIS_DIR = PROJECT_DIR / "tests" / "crisis"
FROZEN_DIR = PROJECT_DIR / "tests" / "frozen"
DEV_DIR = PROJECT_DIR / "tests" / "dev"
FALLBACK = "nlu_fallback"
CRISIS = "crisis"
CHECK_IN = "possible_crisis"


def read_nlu_examples(paths: Iterable[Path]) -> List[Tuple[str, str]]:
    """(text, intent) pairs from Rasa NLU YAML files."""
    examples = []
    for path in sorted(paths):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    examples.append((line.strip()[2:].strip(), block["intent"]))
    return examples


def heldout_examples(directory: Path = HELDOUT_DIR) -> List[Tuple[str, str]]:
    return read_nlu_examples(directory.glob("*.yml"))


def crisis_examples() -> Dict[str, List[str]]:
    """{"crisis": [...], "not_crisis": [...]} from every file in tests/crisis/."""
    merged: Dict[str, List[str]] = {"crisis": [], "not_crisis": []}
    for path in sorted(CRISIS_DIR.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in merged:
            merged[key] += content.get(key, [])
    return merged


def with_answer(intent: str, parse: Dict[str, Any]) -> str:
    if intent == "faq":
        response = (parse.get("response_selector") or {}).get("faq", {}).get("response") or {}
        return response.get("intent_response_key") or FALLBACK
    if intent in FAQ_FOLLOW_UPS:
        # Every evaluated message opens its conversation: with no topic in play, a follow-up question
        # ("is it safe?") gets the answer it has with no topic in play (clinic/faq_follow_ups.yml).
        return follow_up_answer(intent, None).removeprefix("utter_")
    return intent


def final_label(parse: Dict[str, Any]) -> str:
    """What the visitor gets: `faq/<key>` for an FAQ answer, otherwise the intent handled."""
    return with_answer((parse.get("intent") or {}).get("name") or FALLBACK, parse)


def top1_label(parse: Dict[str, Any]) -> str:
    """The intent classifier's first choice before any threshold: top intent, and for FAQ the top
    answer. The crisis detector's tiers are a separate classifier's override, counted on their own
    (crisis recall, false alarms, check-ins) and in what visitors get (final_label)."""
    overrides = (FALLBACK, CHECK_IN)
    ranking = [item["name"] for item in parse.get("intent_ranking") or [] if item.get("name") not in overrides]
    return with_answer(ranking[0] if ranking else FALLBACK, parse)


async def parse_all(model_path: str, texts: List[str]) -> List[Dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    return [await agent.parse_message(text) for text in texts]


def latest_model() -> str:
    from rasa.model import get_local_model

    return get_local_model(str(PROJECT_DIR / "models"))


def share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def evaluate(
    predicted: Dict[str, str], top1: Dict[str, str], heldout: List[Tuple[str, str]], crisis: Dict[str, List[str]]
) -> Dict[str, Any]:
    """Figures from {text: final label} and {text: top-1 label}; pure, so it can be tested without a model."""
    faq = [(text, gold) for text, gold in heldout if gold.startswith("faq/")]
    faq_top1_right = [text for text, gold in faq if top1[text] == gold]
    faq_right = [text for text, gold in faq if predicted[text] == gold]
    faq_clarified = [text for text, gold in faq if predicted[text] == FALLBACK]
    # the crisis detector's tiers on FAQ questions count as wrong answers, and are also given apart
    faq_crisis_tiers = [text for text, gold in faq if predicted[text] in (CRISIS, CHECK_IN)]
    faq_errors = Counter(
        (gold, predicted[text]) for text, gold in faq if predicted[text] not in (gold, FALLBACK)
    )

    base = lambda label: label.split("/")[0]  # noqa: E731
    intent_right = sum(base(top1[text]) == base(gold) for text, gold in heldout)

    crisis_texts = crisis["crisis"] + [text for text, gold in heldout if gold == CRISIS]
    calm_texts = crisis["not_crisis"] + [text for text, gold in heldout if gold != CRISIS]
    missed_crisis = [text for text in crisis_texts if predicted[text] not in (CRISIS, CHECK_IN)]
    false_alarms = [text for text in calm_texts if predicted[text] == CRISIS]
    check_ins = [text for text in calm_texts if predicted[text] == CHECK_IN]

    oos = [text for text, gold in heldout if gold == "out_of_scope"]
    oos_answered = [text for text in oos if predicted[text].startswith("faq/")]

    return {
        "faq_examples": len(faq),
        "faq_top1_accuracy": share(len(faq_top1_right), len(faq)),
        "faq_answered_right_rate": share(len(faq_right), len(faq)),
        "faq_clarification_rate": share(len(faq_clarified), len(faq)),
        "faq_wrong_answer_rate": share(sum(faq_errors.values()), len(faq)),
        "faq_crisis_tier_rate": share(len(faq_crisis_tiers), len(faq)),
        "faq_confusions": [
            {"expected": gold, "got": got, "count": count} for (gold, got), count in faq_errors.most_common(10)
        ],
        "intent_examples": len(heldout),
        "intent_accuracy": share(intent_right, len(heldout)),
        "crisis_examples": len(crisis_texts),
        "crisis_recall": share(len(crisis_texts) - len(missed_crisis), len(crisis_texts)),
        "crisis_response_rate": share(sum(predicted[text] == CRISIS for text in crisis_texts), len(crisis_texts)),
        "crisis_missed": missed_crisis,
        "non_crisis_examples": len(calm_texts),
        "crisis_false_alarm_rate": share(len(false_alarms), len(calm_texts)),
        "crisis_false_alarms": false_alarms,
        "check_in_rate": share(len(check_ins), len(calm_texts)),
        "check_ins": check_ins,
        "out_of_scope_examples": len(oos),
        "out_of_scope_rejection": share(len(oos) - len(oos_answered), len(oos)),
        "out_of_scope_answered": oos_answered,
    }


def run(model_path: Optional[str] = None) -> Tuple[Dict[str, Any], Dict[str, Dict[str, Any]]]:
    """Figures for the English held-out set with the crisis sets, and under "spanish" for the Spanish one."""
    heldout, spanish = heldout_examples(), heldout_examples(SPANISH_HELDOUT_DIR)
    crisis = crisis_examples()
    no_crisis_set: Dict[str, List[str]] = {"crisis": [], "not_crisis": []}
    texts = {text for text, _ in heldout + spanish} | set(crisis["crisis"]) | set(crisis["not_crisis"])
    predicted, top1, by_text = predict(model_path, texts)
    figures = evaluate(predicted, top1, heldout, crisis)
    figures["spanish"] = evaluate(predicted, top1, spanish, no_crisis_set)
    return figures, by_text


def predict(model_path: Optional[str], texts) -> Tuple[Dict[str, str], Dict[str, str], Dict[str, Dict[str, Any]]]:
    texts = sorted(texts)
    parses = asyncio.run(parse_all(model_path or latest_model(), texts))
    by_text = dict(zip(texts, parses, strict=True))
    predicted = {text: final_label(parse) for text, parse in by_text.items()}
    top1 = {text: top1_label(parse) for text, parse in by_text.items()}
    return predicted, top1, by_text


def frozen_set_files(number: int = 1) -> Tuple[List[Path], List[Path]]:
    """(crisis files, FAQ files) of frozen set N: set no. 1 is crisis_eval.yml / faq_eval.yml, a
    later set N adds the suffix _N."""
    suffix = "" if number == 1 else f"_{number}"
    return [FROZEN_DIR / f"crisis_eval{suffix}.yml"], [FROZEN_DIR / f"faq_eval{suffix}.yml"]


def development_set_files() -> Tuple[List[Path], List[Path]]:
    """(crisis files, FAQ files) of the development sets in tests/dev/: tuning on them is allowed."""
    return sorted(DEV_DIR.glob("*crisis*.yml")) + sorted(DEV_DIR.glob("embedded*.yml")), sorted(
        DEV_DIR.glob("faq_dev*.yml")
    )


def crisis_items(paths: List[Path]) -> Dict[str, Dict[str, List[Dict[str, str]]]]:
    """{"crisis" | "not_crisis": {"en" | "es": [{"text", "category"}]}} merged from crisis set files."""
    merged: Dict[str, Dict[str, List[Dict[str, str]]]] = {
        section: {"en": [], "es": []} for section in ("crisis", "not_crisis")
    }
    for path in paths:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        for section, by_language in merged.items():
            for language, items in by_language.items():
                items += (content.get(section) or {}).get(language) or []
    return merged


def run_sets(model_path: Optional[str], crisis_files: List[Path], faq_files: List[Path]) -> Dict[str, Any]:
    """Figures per language on crisis and FAQ sets written blind (frozen or development)."""
    from nlu_components.language_detector import TwoLanguageDetector

    crisis_sets = crisis_items(crisis_files)
    faq = read_nlu_examples(faq_files)
    detector = TwoLanguageDetector()
    faq_by_language: Dict[str, List[Tuple[str, str]]] = {"en": [], "es": []}
    for text, gold in faq:
        detected = detector.detect(text) or {"name": "en"}
        faq_by_language[detected["name"]].append((text, gold))
    texts = {text for text, _ in faq}
    for by_language in crisis_sets.values():
        for items in by_language.values():
            texts |= {item["text"] for item in items}
    predicted, top1, by_text = predict(model_path, texts)
    figures: Dict[str, Any] = {}
    for language in ("en", "es"):
        crisis_set = {section: [item["text"] for item in crisis_sets[section][language]] for section in crisis_sets}
        figures[language] = evaluate(predicted, top1, faq_by_language[language], crisis_set)
        missed_by_category = Counter(
            item["category"]
            for item in crisis_sets["crisis"][language]
            if predicted[item["text"]] not in (CRISIS, CHECK_IN)
        )
        figures[language]["crisis_missed_by_category"] = dict(missed_by_category)
        # why ordinary messages got the check-in: a crisis pattern, or the classifiers
        figures[language]["check_ins_by_reason"] = dict(
            Counter(
                ((by_text[text].get("crisis") or {}).get("reason") or "?").split(":")[0]
                for text in figures[language]["check_ins"]
            )
        )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model archive (default: the newest in models/)")
    parser.add_argument("--frozen", type=int, nargs="?", const=1, metavar="N",
                        help="report on frozen blind set N (default 1), once per release")
    parser.add_argument("--development", action="store_true",
                        help="report on the development sets in tests/dev/ (tuning on them is allowed)")
    parser.add_argument("--report", help="JSON file (default: results/nlu_heldout.json, nlu_frozen_N.json "
                        "or nlu_development.json)")
    args = parser.parse_args()
    if args.frozen:
        figures, default_report = run_sets(args.model, *frozen_set_files(args.frozen)), f"nlu_frozen_{args.frozen}.json"
    elif args.development:
        figures, default_report = run_sets(args.model, *development_set_files()), "nlu_development.json"
    else:
        figures, default_report = run(args.model)[0], "nlu_heldout.json"
    report = Path(args.report or PROJECT_DIR / "results" / default_report)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")

    def headline(section: Dict[str, Any]) -> Dict[str, Any]:
        return {k: (headline(v) if isinstance(v, dict) else v) for k, v in section.items() if not isinstance(v, list)}

    print(json.dumps(headline(figures), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
