"""Two FAQ questions in one message: what a visitor gets, on a set written blind.

Each item of the set is a message with the catalogue topics it asks about: two for a message that
asks two questions ("how much is it, and does insurance cover any of it?"), one for a look-alike
that asks one ("what are the side effects and how long do they last?"). The trained model parses
every message; what the visitor gets is then worked out from the parse as the pipeline decides
them (LinearResponseSelector's `two_questions`, then FaqConfidenceGate), for config.yml's value and,
with --sweep, for others, so that one parse serves every candidate:
  - two questions: both answered, one of them answered, a clarification, or a wrong answer;
  - one question: the right answer alone, the right answer and an extra one nobody asked for, a
    clarification, or a wrong answer.
tests/dev/two_questions_dev.yml (default) may be used to choose `two_questions`; --sweep adds the
questions of the FAQ development sets (tests/dev/faq_dev*.yml), one each, to count extra answers;
tests/frozen/two_questions_eval.yml (--frozen) is run once per release and never tuned on. Only
counts are printed, never the messages.
Usage: python scripts/evaluate_two_questions.py [--model PATH] [--frozen] [--sweep]
"""
import argparse
import asyncio
import copy
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))  # the model's custom components are imported from the project
from scripts.evaluate_nlu import (  # noqa: E402
    CHECK_IN,
    CRISIS,
    FALLBACK,
    development_set_files,
    latest_model,
    parse_all,
    read_nlu_examples,
)

DEVELOPMENT_SET = PROJECT_DIR / "tests" / "dev" / "two_questions_dev.yml"
FROZEN_SET = PROJECT_DIR / "tests" / "frozen" / "two_questions_eval.yml"
SWEEP = (None, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8)
GATE = "nlu_components.faq_confidence_gate.FaqConfidenceGate"
SELECTOR = "nlu_components.linear_classifiers.LinearResponseSelector"


def component_config(name: str) -> Dict[str, Any]:
    pipeline = yaml.safe_load((PROJECT_DIR / "config.yml").read_text())["pipeline"]
    return next({k: v for k, v in step.items() if k != "name"} for step in pipeline if step["name"] == name)


def reparsed(parse: Dict[str, Any], two_questions: Optional[float]) -> Dict[str, Any]:
    """The parse as the answer selector and the gate would leave it with this `two_questions`: their
    two-question decision and the gate's fallback undone, then made again from the selector's
    ranking and questions. Crisis tiers come later in the pipeline and are kept as they are."""
    from rasa.shared.nlu.training_data.message import Message

    from nlu_components.faq_confidence_gate import SECOND_QUESTION_ENTITY, FaqConfidenceGate
    from nlu_components.linear_classifiers import MORE_QUESTIONS_KEY, QUESTION_PARTS_KEY
    from nlu_components.question_clauses import asked_topics

    if (parse.get("intent") or {}).get("name") in (CRISIS, CHECK_IN):
        return parse
    selector = copy.deepcopy((parse.get("response_selector") or {}).get("faq") or {})
    confidences = {item["intent_response_key"]: item["confidence"] for item in selector.get("ranking") or []}
    parts = [(part["intent_response_key"], part["confidence"]) for part in selector.get(QUESTION_PARTS_KEY) or []]
    asked = [] if two_questions is None else asked_topics(parts, two_questions)
    best = asked[0] if asked else next(iter(confidences), None)
    selector["response"] = {"intent_response_key": best, "confidence": confidences.get(best, 0.0)}
    selector[MORE_QUESTIONS_KEY] = [{"intent_response_key": topic, "start": 0, "end": 0} for topic in asked[1:]]
    ranking = [item for item in parse.get("intent_ranking") or [] if item.get("name") != FALLBACK]
    message = Message(
        data={
            "text": parse.get("text"),
            "intent": ranking[0] if ranking else parse.get("intent"),
            "intent_ranking": ranking,
            "response_selector": {**(parse.get("response_selector") or {}), "faq": selector},
            "language": parse.get("language"),
            "entities": [e for e in parse.get("entities") or [] if e.get("entity") != SECOND_QUESTION_ENTITY],
        }
    )
    FaqConfidenceGate({**FaqConfidenceGate.get_default_config(), **component_config(GATE)}).process([message])
    return message.as_dict()


def answers(parse: Dict[str, Any]) -> Optional[List[str]]:
    """The FAQ topics answered, in order; None for a clarification; [] for anything else."""
    intent = (parse.get("intent") or {}).get("name")
    if intent == FALLBACK:
        return None
    if intent != "faq":
        return []
    response = ((parse.get("response_selector") or {}).get("faq") or {}).get("response") or {}
    topics = [str(response.get("intent_response_key") or "").partition("/")[2]]
    return topics + [e.get("value") for e in parse.get("entities") or [] if e.get("entity") == "second_question"]


def outcome(asked: List[str], answered: Optional[List[str]]) -> str:
    if answered is None:
        return "clarification"
    if not answered or answered[0] not in asked:
        return "wrong answer"
    if len(asked) == 1:
        return "right answer" if len(answered) == 1 else "right answer and an extra one"
    if len(answered) == 1:
        return "one answered"
    if not set(answered) <= set(asked):
        return "one answered and a wrong one"
    return "both answered" if set(answered) == set(asked) else "one answered"


def report(items: List[Dict[str, Any]], parses: List[Dict[str, Any]], two_questions: Optional[float]) -> str:
    counts: Dict[tuple, Counter] = {}
    for item, parse in zip(items, parses, strict=True):
        kind = item.get("kind") or ("two questions" if len(item["topics"]) == 2 else "one question")
        got = outcome(item["topics"], answers(reparsed(parse, two_questions)))
        counts.setdefault((item["language"], kind), Counter())[got] += 1
    lines = [f"two_questions = {two_questions}"]
    for (language, kind), counter in sorted(counts.items()):
        total = sum(counter.values())
        shares = ", ".join(f"{name} {count} ({count / total:.1%})" for name, count in counter.most_common())
        lines.append(f"  {language}, {kind} ({total}): {shares}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model archive (default: the newest in models/)")
    parser.add_argument("--frozen", action="store_true", help="the frozen set, once per release (no --sweep)")
    parser.add_argument("--sweep", action="store_true", help="also other values of two_questions (development set)")
    args = parser.parse_args()
    if args.frozen and args.sweep:
        parser.error("the frozen set is never used to choose: no --sweep with --frozen")
    items = yaml.safe_load((FROZEN_SET if args.frozen else DEVELOPMENT_SET).read_text())
    if args.sweep:  # and what the FAQ development sets' questions, one each, would get
        items += [
            {"text": text, "topics": [label.partition("/")[2]], "language": None, "kind": "FAQ development set"}
            for text, label in read_nlu_examples(development_set_files()[1])
            if label.startswith("faq/")
        ]
    parses = asyncio.run(parse_all(args.model or latest_model(), [item["text"] for item in items]))
    for item, parse in zip(items, parses, strict=True):
        item["language"] = item["language"] or (parse.get("language") or {}).get("name") or "unclear"
    configured = component_config(SELECTOR).get("two_questions")
    for value in SWEEP if args.sweep else (configured,):
        print(report(items, parses, value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
