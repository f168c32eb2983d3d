"""The classifiers' fast scoring gives the answers scikit-learn's own scoring would.

Serving computes the TF-IDF n-grams, the SVMs' calibrated probabilities and the nearest-neighbour
features in a few array operations (nlu_components/linear_classifiers.py) instead of
scikit-learn's transform, its per-class loop and a sparse matrix built per message. A visitor must
get exactly the answer the slower path gives, and an upgrade of scikit-learn that changes its
arithmetic must be noticed here.
"""
from contextlib import contextmanager

import numpy as np
import pytest
import skops.io as sio
from scipy.sparse import random as sparse_random
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import LinearSVC

from nlu_components.linear_classifiers import (
    MODEL_FILE,
    Features,
    LinearTextClassifier,
    calibrated_probabilities,
    grouped_by_label,
    ngram_transform,
    with_single_precision_weights,
)


def features(rows: int, seed: int) -> Features:
    rng = np.random.default_rng(seed)
    ngrams = sparse_random(rows, 500, density=0.02, format="csr", random_state=seed)
    return Features(ngrams, rng.normal(size=(rows, 12)))


@pytest.mark.parametrize("classes, ensemble", [(5, True), (5, False), (2, True), (2, False)])
def test_fast_probabilities_are_scikit_learns(classes, ensemble):
    training, scored = features(120, seed=1), features(15, seed=2)
    labels = np.arange(120) % classes
    classifier = CalibratedClassifierCV(LinearSVC(random_state=0), cv=3, ensemble=ensemble)
    classifier.fit(training.matrix(), labels)

    fast = calibrated_probabilities(classifier, scored)

    np.testing.assert_allclose(fast, classifier.predict_proba(scored.matrix()), rtol=0, atol=1e-12)
    assert fast.argmax(1).tolist() == classifier.predict(scored.matrix()).tolist()


@pytest.mark.parametrize("ensemble", [True, False])
def test_weights_loaded_in_single_precision_give_the_same_answers_in_half_the_memory(ensemble):
    training, scored = features(120, seed=1), features(40, seed=2)
    classifier = CalibratedClassifierCV(LinearSVC(random_state=0), cv=3, ensemble=ensemble)
    classifier.fit(training.matrix(), np.arange(120) % 5)
    full_precision = calibrated_probabilities(classifier, scored)
    full_bytes = sum(c.base_estimator.coef_.nbytes for c in classifier.calibrated_classifiers_)

    with_single_precision_weights({"classifier": classifier})

    single_precision = calibrated_probabilities(classifier, scored)
    np.testing.assert_allclose(single_precision, full_precision, rtol=0, atol=1e-6)
    assert single_precision.argmax(1).tolist() == full_precision.argmax(1).tolist()
    assert sum(c.base_estimator.coef_.nbytes for c in classifier.calibrated_classifiers_) == full_bytes // 2


def classifier_with_neighbours(neighbours: int) -> LinearTextClassifier:
    config = {**LinearTextClassifier.get_default_config(), "knn_features": 1.0, "knn_neighbours": neighbours}
    return LinearTextClassifier(config, None, None)


def training_embeddings(seed: int = 3):
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(40, 8)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings, rng.permutation(np.arange(40) % 4)  # four labels, examples shuffled


def similarities_one_by_one(queries, embeddings, labels, neighbours, leave_one_out=False):
    """Each label's similarity the plain way: its examples' cosines, best `neighbours` averaged."""
    result = np.zeros((len(queries), labels.max() + 1))
    for row, query in enumerate(queries):
        for label in range(labels.max() + 1):
            members = [i for i in np.flatnonzero(labels == label) if not (leave_one_out and i == row)]
            cosines = sorted((float(embeddings[i] @ query) for i in members), reverse=True)
            result[row, label] = np.mean(cosines[:neighbours])
    return result


@pytest.mark.parametrize("neighbours", [1, 3])
def test_neighbour_features_compare_each_message_with_each_labels_closest_examples(neighbours):
    embeddings, labels = training_embeddings()
    queries = np.random.default_rng(4).normal(size=(6, 8))
    model = grouped_by_label(embeddings, labels)
    classifier = classifier_with_neighbours(neighbours)

    np.testing.assert_allclose(
        classifier.neighbour_similarities(queries, model),
        similarities_one_by_one(queries.astype(np.float32), embeddings, labels, neighbours),
        atol=1e-6,
    )
    # Scored against themselves (training), no example counts as its own neighbour.
    np.testing.assert_allclose(
        classifier.neighbour_similarities(embeddings.astype(np.float64), model, leave_one_out=True),
        similarities_one_by_one(embeddings, embeddings, labels, neighbours, leave_one_out=True),
        atol=1e-6,
    )


class FolderStorage:
    def __init__(self, folder):
        self.folder = folder

    @contextmanager
    def read_from(self, resource):
        yield self.folder


@pytest.mark.parametrize(
    "stored",
    [
        lambda embeddings, labels: {"knn_embeddings": embeddings, "knn_label_index": labels},  # before grouping
        lambda embeddings, labels: {  # grouped, one row per example
            "knn_embeddings": embeddings[np.argsort(labels, kind="stable")],
            **{k: v for k, v in grouped_by_label(embeddings, labels).items() if k != "knn_columns"},
        },
    ],
    ids=["ungrouped", "one-row-per-example"],
)
def test_a_model_trained_by_an_earlier_version_still_loads_with_the_same_features(tmp_path, stored):
    embeddings, labels = training_embeddings()
    sio.dump(stored(embeddings, labels), tmp_path / MODEL_FILE)
    config = classifier_with_neighbours(1).config

    loaded = LinearTextClassifier.load(config, FolderStorage(tmp_path), None, None)

    queries = np.random.default_rng(5).normal(size=(3, 8))
    np.testing.assert_allclose(
        loaded.neighbour_similarities(queries, loaded.model),
        similarities_one_by_one(queries.astype(np.float32), embeddings, labels, 1),
        atol=1e-6,
    )


TRAINING_TEXTS = [
    "how much does an infusion cost",
    "does ketamine help with anxiety",
    "is it safe to drive after my infusion?",
    "¿cuánto cuesta la infusión?",
    "la ketamina ayuda con la ansiedad",
    "what are the side effects",
    "can I keep taking my medication",
]


@pytest.mark.parametrize(
    "text",
    [
        "how much is an infusion",
        "Cuánto CUESTA??",
        "",  # an empty message
        "zzzz qqqq",  # nothing the vectorizers know
        "side effects side effects side effects",  # repeated n-grams: sublinear term frequency
        "emoji 😟 and \u200b zero-width and \ud800 lone surrogate",
        pytest.param("ketamine " * 2000, id="huge message"),
    ],
)
def test_fast_ngrams_are_scikit_learns(text):
    union = LinearTextClassifier.fit_ngrams(TRAINING_TEXTS)

    fast = ngram_transform(union).transform([text, TRAINING_TEXTS[0]])

    expected = union.transform([text, TRAINING_TEXTS[0]])
    assert fast.shape == expected.shape
    np.testing.assert_allclose(fast.toarray(), expected.toarray(), rtol=0, atol=1e-12)
