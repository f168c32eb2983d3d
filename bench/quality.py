"""Answer quality of the NLU pipeline and of the baselines, on the same data, per language.

Held out: the trained model (newest in models/) and the baselines fitted on all training data,
run on tests/heldout/ with tests/crisis/ (English) and on tests/heldout_es/ (Spanish; its crisis
figures from its own messages, as scripts/evaluate_nlu.py counts them). Cross-validation: the
training data (data/**/*.yml) in k stratified folds; per fold the pipeline is trained with
`train_nlu` (as scripts/tune_thresholds.py does) and the baselines fitted on the other folds, and
every training example is predicted once; the pooled predictions are then split by the language of
the file each example came from (data/nlu/es/ is Spanish). Figures come from
scripts/evaluate_nlu.py's `evaluate`, plus intent macro F1, the share of messages answered with a
clarification and the most confused FAQ topic pairs.
"""
import asyncio
import contextlib
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import yaml
from sklearn.metrics import f1_score

from bench import HELDOUT_DIRS, LANGUAGES, PROJECT_DIR, language_of_file
from bench.baselines import (
    CachingMiniLMEncoder,
    MiniLMRetriever,
    NearestNeighbourRetriever,
    TfidfRetriever,
    UseRetriever,
)
from nlu_components.sentence_embedding_featurizer import SentenceEmbeddingFeaturizer
from scripts.evaluate_nlu import (
    FALLBACK,
    crisis_examples,
    evaluate,
    final_label,
    heldout_examples,
    parse_all,
    read_nlu_examples,
    top1_label,
)
from scripts.tune_thresholds import folds

PIPELINE = "NLU pipeline (config.yml)"
Example = Tuple[str, str]
Labels = Tuple[Dict[str, str], Dict[str, str]]  # ({text: top-1 label}, {text: label the visitor gets})
NO_CRISIS_SET: Dict[str, List[str]] = {"crisis": [], "not_crisis": []}
CRISIS_SET_LANGUAGE = "en"  # tests/crisis/ is counted with this language's held-out set



def write_nlu(examples: List[Example], path: Path) -> None:
    """Training examples as a Rasa NLU file, for training a fold's model."""
    by_label: Dict[str, List[str]] = defaultdict(list)
    for text, label in examples:
        by_label[label].append(text)
    blocks = [{"intent": label, "examples": "".join(f"- {t}\n" for t in texts)} for label, texts in by_label.items()]
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, sort_keys=False, allow_unicode=True))

def training_examples(per_label: Optional[int] = None) -> Dict[Example, str]:
    """The NLU examples under data/, each with its language; with `per_label`, only the first that
    many of each label in each language."""
    examples = {
        example: language_of_file(path)
        for path in sorted((PROJECT_DIR / "data").rglob("*.yml"))
        for example in read_nlu_examples([path])
    }
    if per_label is None:
        return examples
    seen: Counter = Counter()
    kept = {}
    for (text, label), language in examples.items():
        seen[label, language] += 1
        if seen[label, language] <= per_label:
            kept[text, label] = language
    return kept


def heldout_sets() -> Dict[str, Tuple[List[Example], Dict[str, List[str]]]]:
    """Per language: the held-out messages, and the crisis set counted with them (tests/crisis/
    goes with English, as in scripts/evaluate_nlu.py; Spanish crisis figures come from
    tests/heldout_es/'s own messages)."""
    return {
        language: (
            heldout_examples(HELDOUT_DIRS[language]),
            crisis_examples() if language == CRISIS_SET_LANGUAGE else NO_CRISIS_SET,
        )
        for language in LANGUAGES
    }


def retrievers(encoder: CachingMiniLMEncoder) -> List[NearestNeighbourRetriever]:
    return [TfidfRetriever(), MiniLMRetriever(encoder), UseRetriever()]


@contextlib.contextmanager
def shared_embeddings(encoder: CachingMiniLMEncoder) -> Iterator[None]:
    """The pipeline's featurizer uses `encoder` (its per-process encoder) while inside."""
    previous = SentenceEmbeddingFeaturizer._encoder
    SentenceEmbeddingFeaturizer._encoder = encoder
    try:
        yield
    finally:
        SentenceEmbeddingFeaturizer._encoder = previous


def pipeline_labels(model_path: str, texts: List[str]) -> Labels:
    parses = asyncio.run(parse_all(model_path, texts))
    return (
        {text: top1_label(parse) for text, parse in zip(texts, parses, strict=True)},
        {text: final_label(parse) for text, parse in zip(texts, parses, strict=True)},
    )


def retriever_labels(retriever: NearestNeighbourRetriever, training: List[Example], texts: List[str]) -> Labels:
    top1, final = retriever.fit(training).predict(texts)
    return dict(zip(texts, top1, strict=True)), dict(zip(texts, final, strict=True))


def train_pipeline(examples: List[Example], work_dir: Path) -> str:
    from rasa.model_training import train_nlu

    work_dir.mkdir()
    write_nlu(examples, work_dir / "nlu.yml")
    (work_dir / "responses.yml").write_text((PROJECT_DIR / "data/responses/faq.yml").read_text())
    return train_nlu(
        str(PROJECT_DIR / "config.yml"), str(work_dir), str(work_dir), domain=str(PROJECT_DIR / "domain.yml")
    )


def confused_pairs(top1: Dict[str, str], examples: List[Example], limit: int = 10) -> List[Dict[str, Any]]:
    """FAQ questions whose top-1 label was another one, counted per pair in either direction."""
    pairs = Counter(
        tuple(sorted((gold, top1[text]))) for text, gold in examples if gold.startswith("faq/") and top1[text] != gold
    )
    return [{"pair": pair, "count": count} for pair, count in pairs.most_common(limit)]


def figures(labels: Labels, examples: List[Example], crisis: Dict[str, List[str]]) -> Dict[str, Any]:
    top1, final = labels
    result = evaluate(final, top1, examples, crisis)
    intent = lambda label: label.split("/")[0]  # noqa: E731
    gold = [intent(label) for _, label in examples]
    predicted = [intent(top1[text]) for text, _ in examples]
    result["intent_macro_f1"] = round(float(f1_score(gold, predicted, labels=sorted(set(gold)), average="macro")), 4)
    result["clarification_rate"] = round(sum(final[text] == FALLBACK for text, _ in examples) / len(examples), 4)
    result["confused_pairs"] = confused_pairs(top1, examples)
    return result


def heldout_quality(
    model_path: str, encoder: CachingMiniLMEncoder
) -> Tuple[Dict[str, Dict[str, Dict]], Dict[str, float]]:
    """{language: {system: figures}} on the held-out files, and each baseline's confidence threshold."""
    sets = heldout_sets()
    texts = sorted({
        text
        for heldout, crisis in sets.values()
        for text in [text for text, _ in heldout] + crisis["crisis"] + crisis["not_crisis"]
    })
    training = list(training_examples())
    with shared_embeddings(encoder):
        labels = {PIPELINE: pipeline_labels(model_path, texts)}
    thresholds = {}
    for retriever in retrievers(encoder):
        labels[retriever.name] = retriever_labels(retriever, training, texts)
        thresholds[retriever.name] = retriever.threshold
    return {
        language: {name: figures(result, heldout, crisis) for name, result in labels.items()}
        for language, (heldout, crisis) in sets.items()
    }, thresholds


def cross_validated_quality(
    k: int, encoder: CachingMiniLMEncoder, per_label: Optional[int] = None
) -> Dict[str, Dict[str, Dict]]:
    """{language: {system: figures}}, every training example predicted by a model that did not see it."""
    languages = training_examples(per_label)
    examples = list(languages)
    pooled: Dict[str, Labels] = defaultdict(lambda: ({}, {}))
    with tempfile.TemporaryDirectory() as work, shared_embeddings(encoder):
        for index, held in enumerate(folds(examples, k)):
            held_set = set(held)
            rest = [example for example in examples if example not in held_set]
            texts = [text for text, _ in held]
            results = {PIPELINE: pipeline_labels(train_pipeline(rest, Path(work) / f"fold{index}"), texts)}
            for retriever in retrievers(encoder):
                results[retriever.name] = retriever_labels(retriever, rest, texts)
            for name, (top1, final) in results.items():
                pooled[name][0].update(top1)
                pooled[name][1].update(final)
            print(f"  fold {index + 1}/{k} done", flush=True)
    return {
        language: {
            name: figures(labels, [example for example in examples if languages[example] == language], NO_CRISIS_SET)
            for name, labels in pooled.items()
        }
        for language in LANGUAGES
    }
