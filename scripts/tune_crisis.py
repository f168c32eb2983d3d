"""Chooses the crisis detector's two thresholds by cross-validation on the training data.

Every training example (data/, both languages) is scored by a crisis classifier trained on the
other folds, with the same features and settings as config.yml's CrisisClassifier; a message the
crisis patterns match gets the crisis response or the check-in as when serving (crisis_safety_net.py:
a pattern counts from the detector's score `pattern_floor`, one that only names the subject from
`topic_floor`).
Then:
  - check_threshold: the highest threshold at which at least MIN_RECALL of crisis examples reach
    the check-in or the crisis response (recall first);
  - sure_threshold: the lowest threshold at which at most MAX_FALSE_CRISIS of ordinary examples
    would get the full crisis response.
A clause raises its message's score only when it reaches sure_threshold itself (crisis_classifier.py),
so every candidate sure_threshold is scored with its own clause rule, as when serving.
  - pattern_floor: the highest candidate at which no crisis example loses the check-in it had with
    no floor (config.yml's thresholds), so the floor only takes away check-ins for ordinary messages,
    and at most FLOOR_MARGIN of the lowest candidate that loses one (a margin: a new crisis message
    scored a little lower than the training examples keeps its check-in).
The frozen and held-out test sets are never read. Writes docs/crisis-thresholds.md; copy the
values into config.yml. A section of the report headed SETTINGS_HEADING (written by hand: how the
classifier's settings were chosen) is kept when the report is rewritten.
Usage: python scripts/tune_crisis.py [--folds 5]
"""
import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from rasa.shared.importers.importer import TrainingDataImporter  # noqa: E402
from rasa.shared.nlu.constants import INTENT, TEXT  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from nlu_components.crisis_classifier import CRISIS_INTENT, CrisisClassifier, combined_score  # noqa: E402
from nlu_components.crisis_safety_net import CrisisSafetyNet  # noqa: E402
from nlu_components.sentence_embedding_featurizer import MultilingualSentenceFeaturizer  # noqa: E402

REPORT = PROJECT_DIR / "docs" / "crisis-thresholds.md"
MIN_RECALL = 0.99
MAX_FALSE_CRISIS = 0.01
MAX_CHECK_IN = 0.03
FLOOR_MARGIN = 0.5
PATTERN_FLOOR_CANDIDATES = (
    0.0, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1
)
SETTINGS_HEADING = "## Settings"


def training_examples() -> List[Message]:
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    importer = TrainingDataImporter.load_from_config(
        str(PROJECT_DIR / "config.yml"), str(PROJECT_DIR / "domain.yml"), [str(PROJECT_DIR / "data")]
    )
    messages = [m for m in importer.get_nlu_data().intent_examples if m.get(TEXT)]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    MultilingualSentenceFeaturizer(
        {**MultilingualSentenceFeaturizer.get_default_config(), "alias": "use"}, "use"
    ).process(messages)
    return messages


def classifier_config() -> Dict:
    config = yaml.safe_load((PROJECT_DIR / "config.yml").read_text())
    settings = next(c for c in config["pipeline"] if c["name"].endswith("CrisisClassifier"))
    return {**CrisisClassifier.get_default_config(), **{k: v for k, v in settings.items() if k != "name"}}


def out_of_fold_probabilities(messages: List[Message], folds: int) -> List[Tuple[float, List[float]]]:
    """Each message's crisis probability and its clauses', from a classifier trained on the other folds."""
    labels = np.asarray([m.get(INTENT) == CRISIS_INTENT for m in messages])
    probabilities: List[Tuple[float, List[float]]] = [(0.0, [])] * len(messages)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    for index, (train, held) in enumerate(splitter.split(np.zeros(len(messages)), labels)):
        classifier = CrisisClassifier(classifier_config(), None, None)
        classifier.model = classifier.fit([messages[i] for i in train])
        for i, result in zip(held, classifier.crisis_probabilities([messages[i] for i in held]), strict=True):
            probabilities[i] = result
        print(f"fold {index + 1}/{folds} done", flush=True)
    return probabilities


def tiers(scores: np.ndarray, patterns: List[Optional[str]], net: CrisisSafetyNet, sure: float, check: float):
    """(crisis response, check-in or crisis response) for every message when serving with these
    thresholds: the detector's tiers, and the patterns' floor as the net applies it (`patterns`: the
    crisis pattern each message matches, or None; crisis_safety_net.py)."""
    matched = np.asarray([net.acts_on(pattern, score) for pattern, score in zip(patterns, scores, strict=True)])
    response = (scores >= sure) | (matched & (scores >= net.classifier_agreement))
    return response, (scores >= check) | matched


def choose(
    probabilities: List[Tuple[float, List[float]]],
    patterns: List[Optional[str]],
    net: CrisisSafetyNet,
    is_crisis: np.ndarray,
) -> Dict[str, float]:
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    check, sure = 0.01, 0.99
    for candidate in grid:
        scores = np.asarray([combined_score(w, parts, candidate) for w, parts in probabilities])
        recall = {t: tiers(scores, patterns, net, candidate, t)[1][is_crisis].mean() for t in grid}
        candidate_check = max((t for t in grid if recall[t] >= MIN_RECALL), default=0.01)
        response, _ = tiers(scores, patterns, net, candidate, candidate_check)
        if response[~is_crisis].mean() <= MAX_FALSE_CRISIS and candidate >= candidate_check:
            check, sure = candidate_check, candidate
            break
    return outcome_figures(probabilities, patterns, net, is_crisis, sure, check)


def outcome_figures(
    probabilities: List[Tuple[float, List[float]]],
    patterns: List[Optional[str]],
    net: CrisisSafetyNet,
    is_crisis: np.ndarray,
    sure: float,
    check: float,
) -> Dict[str, float]:
    scores = np.asarray([combined_score(w, parts, sure) for w, parts in probabilities])
    response, any_tier = tiers(scores, patterns, net, sure, check)
    return {
        "check_threshold": float(check),
        "sure_threshold": float(sure),
        "recall_any_tier": float(any_tier[is_crisis].mean()),
        "recall_sure": float(response[is_crisis].mean()),
        "ordinary_crisis_response": float(response[~is_crisis].mean()),
        "ordinary_check_in": float((any_tier & ~response)[~is_crisis].mean()),
    }


def crisis_net(**overrides: float) -> CrisisSafetyNet:
    """The crisis patterns with config.yml's settings (`classifier_agreement`, `pattern_floor`,
    `topic_floor`), any of them overridden."""
    config = yaml.safe_load((PROJECT_DIR / "config.yml").read_text())
    settings = next(c for c in config["pipeline"] if c["name"].endswith("CrisisSafetyNet"))
    return CrisisSafetyNet.create({**CrisisSafetyNet.get_default_config(), **settings, **overrides}, None, None, None)


def pattern_floors(
    probabilities: List[Tuple[float, List[float]]],
    patterns: List[Optional[str]],
    is_crisis: np.ndarray,
    sure: float,
    check: float,
) -> Tuple[float, List[Dict[str, float]]]:
    """For each candidate `pattern_floor` at these thresholds: crisis examples that lose the
    check-in (against no floor) and ordinary examples still given it; and the highest candidate
    that loses none, at most FLOOR_MARGIN of the lowest that loses one."""
    scores = np.asarray([combined_score(w, parts, sure) for w, parts in probabilities])
    _, with_no_floor = tiers(scores, patterns, crisis_net(pattern_floor=0.0), sure, check)
    rows = []
    for floor in PATTERN_FLOOR_CANDIDATES:
        response, any_tier = tiers(scores, patterns, crisis_net(pattern_floor=floor), sure, check)
        lost = int((with_no_floor & ~any_tier)[is_crisis].sum())
        rows.append({"floor": floor, "lost": lost, "check_in": float((any_tier & ~response)[~is_crisis].mean())})
    return chosen_floor(rows), rows


def chosen_floor(rows: List[Dict[str, float]]) -> float:
    """The highest floor that loses no crisis example, at most FLOOR_MARGIN of the lowest that loses one."""
    first_loss = min((row["floor"] for row in rows if row["lost"]), default=float("inf"))
    safe = [row["floor"] for row in rows if row["floor"] <= FLOOR_MARGIN * first_loss and not row["lost"]]
    return max(safe, default=0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    messages = training_examples()
    is_crisis = np.asarray([m.get(INTENT) == CRISIS_INTENT for m in messages])
    probabilities = out_of_fold_probabilities(messages, args.folds)
    net = crisis_net()
    patterns = [net.matcher.match(m.get(TEXT)) for m in messages]
    figures = choose(probabilities, patterns, net, is_crisis)
    configured = classifier_config()
    now = outcome_figures(
        probabilities, patterns, net, is_crisis, configured["sure_threshold"], configured["check_threshold"]
    )
    floor, floor_rows = pattern_floors(
        probabilities, patterns, is_crisis, configured["sure_threshold"], configured["check_threshold"]
    )
    within_limits = figures["ordinary_check_in"] <= MAX_CHECK_IN
    previous = REPORT.read_text() if REPORT.exists() else ""
    settings_section = previous[previous.index(SETTINGS_HEADING):] if SETTINGS_HEADING in previous else ""
    REPORT.write_text(
        "# Crisis detector thresholds\n\n"
        f"Chosen by `scripts/tune_crisis.py`: {args.folds}-fold cross-validation on the training data "
        f"({is_crisis.sum()} crisis and {(~is_crisis).sum()} other examples, English and Spanish); the frozen and "
        "held-out test sets are never read. The check-in threshold is the highest at which at least "
        f"{MIN_RECALL:.1%} of crisis examples get the check-in or the crisis response; the crisis-response "
        f"threshold is the lowest at which at most {MAX_FALSE_CRISIS:.1%} of other examples would get it, "
        "each candidate scored as when serving with it (a clause raises its message only when it reaches "
        "that threshold itself; a message the crisis patterns match gets the crisis response when the "
        "detector's score reaches the patterns' `classifier_agreement`, the check-in otherwise; a pattern "
        "that only names the subject counts from the detector's score `topic_floor`).\n\n"
        "| setting (CrisisClassifier) | config.yml now | chosen |\n|---|---|---|\n"
        + "".join(
            f"| `{key}` | {now[key]} | {figures[key]} |\n" for key in ("check_threshold", "sure_threshold")
        )
        + "\n| cross-validated outcome | config.yml now | chosen |\n|---|---|---|\n"
        + "".join(
            f"| {name} | {now[key]:.1%} | {figures[key]:.1%} |\n"
            for name, key in (
                ("crisis examples given the crisis response or the check-in", "recall_any_tier"),
                ("crisis examples given the crisis response at once", "recall_sure"),
                ("other examples given the crisis response", "ordinary_crisis_response"),
                ("other examples given the check-in", "ordinary_check_in"),
            )
        )
        + ("" if within_limits else f"\nThe check-in rate is above the {MAX_CHECK_IN:.0%} limit: improve the data.\n")
        + "\n## Pattern floors\n\nA crisis pattern counts when the detector's score reaches `pattern_floor` "
        "(CrisisSafetyNet). At config.yml's thresholds, for each candidate: crisis examples that would lose "
        "the check-in they get with no floor, and other examples given the check-in. Chosen: the highest "
        f"that loses none and is at most {FLOOR_MARGIN:g} of the lowest that loses one, **{floor}** "
        f"(config.yml now: {net.pattern_floor}).\n\n"
        "| pattern_floor | crisis examples losing the check-in | other examples given the check-in |\n|---|---|---|\n"
        + "".join(f"| {row['floor']} | {row['lost']} | {row['check_in']:.2%} |\n" for row in floor_rows)
        + ("\n" + settings_section if settings_section else "")
    )
    print(REPORT.read_text())
    return 0 if within_limits else 1


if __name__ == "__main__":
    sys.exit(main())
