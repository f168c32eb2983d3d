"""Answer quality of the NLU pipeline and of the baselines, on the same data.

Held out: the trained model (newest in models/) and the baselines fitted on all training data,
run on tests/heldout/ and tests/crisis/. Cross-validation: the training data (data/**/*.yml) in
k stratified folds; per fold the pipeline is trained with `train_nlu` (as scripts/tune_thresholds.py
does) and the baselines fitted on the other folds, and every training example is predicted once.
Figures come from scripts/evaluate_nlu.py's `evaluate`, plus intent macro F1, the share of
messages answered with a clarification and the most confused FAQ topic pairs.
"""
import asyncio
import contextlib
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from sklearn.metrics import f1_score

from bench import PROJECT_DIR
from bench.baselines import CachingMiniLMEncoder, MiniLMRetriever, NearestNeighbourRetriever, TfidfRetriever
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
from scripts.tune_thresholds import folds, write_nlu

PIPELINE = "NLU pipeline (config.yml)"
Example = Tuple[str, str]
Labels = Tuple[Dict[str, str], Dict[str, str]]  # ({text: top-1 label}, {text: label the visitor gets})


def training_examples(per_label: Optional[int] = None) -> List[Example]:
    """The NLU examples under data/; with `per_label`, only the first that many of each label."""
    examples = read_nlu_examples((PROJECT_DIR / "data").rglob("*.yml"))
    if per_label is None:
        return examples
    seen: Counter = Counter()
    kept = []
    for text, label in examples:
        seen[label] += 1
        if seen[label] <= per_label:
            kept.append((text, label))
    return kept


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


def heldout_quality(model_path: str, encoder: CachingMiniLMEncoder) -> Tuple[Dict[str, Dict], Dict[str, float]]:
    """Figures per system on the held-out files, and each baseline's confidence threshold."""
    heldout, crisis = heldout_examples(), crisis_examples()
    texts = sorted({text for text, _ in heldout} | set(crisis["crisis"]) | set(crisis["not_crisis"]))
    training = training_examples()
    with shared_embeddings(encoder):
        labels = {PIPELINE: pipeline_labels(model_path, texts)}
    thresholds = {}
    for retriever in (TfidfRetriever(), MiniLMRetriever(encoder)):
        labels[retriever.name] = retriever_labels(retriever, training, texts)
        thresholds[retriever.name] = retriever.threshold
    return {name: figures(result, heldout, crisis) for name, result in labels.items()}, thresholds


def cross_validated_quality(k: int, encoder: CachingMiniLMEncoder, per_label: Optional[int] = None) -> Dict[str, Dict]:
    """Figures per system, every training example predicted by a model that did not see it."""
    examples = training_examples(per_label)
    pooled: Dict[str, Labels] = defaultdict(lambda: ({}, {}))
    with tempfile.TemporaryDirectory() as work, shared_embeddings(encoder):
        for index, held in enumerate(folds(examples, k)):
            held_set = set(held)
            rest = [example for example in examples if example not in held_set]
            texts = [text for text, _ in held]
            results = {PIPELINE: pipeline_labels(train_pipeline(rest, Path(work) / f"fold{index}"), texts)}
            for retriever in (TfidfRetriever(), MiniLMRetriever(encoder)):
                results[retriever.name] = retriever_labels(retriever, rest, texts)
            for name, (top1, final) in results.items():
                pooled[name][0].update(top1)
                pooled[name][1].update(final)
            print(f"  fold {index + 1}/{k} done", flush=True)
    no_crisis_set = {"crisis": [], "not_crisis": []}
    return {name: figures(labels, examples, no_crisis_set) for name, labels in pooled.items()}
