"""Intent and FAQ-answer classifiers: a linear SVM over TF-IDF n-grams and the MiniLM sentence embedding.

`LinearIntentClassifier` replaces DIETClassifier and `LinearResponseSelector` replaces Rasa's
ResponseSelector for the `faq` retrieval intent. Each writes exactly what the Rasa component it
replaces writes (`intent` / `intent_ranking`, `response_selector.faq`), so the fallback gates,
`utter_faq`, rules, `rasa test` and the staff console work unchanged.

Why: on the held-out phrasings, with the same training data, these chose the right FAQ answer
for 89% of questions against 76% for Rasa's ResponseSelector, and the right intent for 92% against
88% for DIET (docs/nlu-pipeline.md). With ~50 short examples per class, a max-margin linear model
generalises better than a neural network trained to zero training error.

Two additions, both chosen by 5-fold cross-validation on the training data (docs/nlu-pipeline.md):
  - nearest-neighbour features (`knn_features`): for each label, the cosine similarity of the
    message's MiniLM embedding to that label's closest training examples (the mean of the
    `knn_neighbours` best), appended to the SVM's features. Training examples are scored against
    all the *other* training examples (leave one out), so the SVM learns how far to trust them.
  - `retrieval_labels` (intent classifier): the SVM learns each FAQ topic (`faq/<key>`) as its own
    class and the `faq` intent's confidence is the sum of its topics'. One "faq" class of 2,400
    questions on 37 subjects is hard for a linear model to separate from the other intents.
"""
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
import skops.io as sio
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from nlu_components.question_clauses import CLAUSE_FEATURES, Question, asked_topics, question_clauses

MODEL_FILE = "linear_classifier.skops"
# In `response_selector.faq`, for a message that may ask two questions: each question's best answer,
# and, when two or three were asked, the ones `response` does not answer, in the order asked
# (FaqConfidenceGate makes each an entity `second_question`).
QUESTION_PARTS_KEY = "question_parts"
MORE_QUESTIONS_KEY = "more_questions"
# On the message (not in the parse result), from the intent classifier: each question's intent and
# where it is, in the order asked ("how much is it? and can I talk to someone?": faq, request_human).
QUESTION_INTENTS_KEY = "question_intents"
# A question of these intents is a request, not an FAQ question: it gets no FAQ answer of its own.
REQUEST_INTENTS = ("request_human", "book_consultation", "request_callback")
CALIBRATION_FOLDS = 3


def grouped_by_label(embeddings: np.ndarray, label_index: np.ndarray) -> Dict[Text, np.ndarray]:
    """The nearest-neighbour features' training examples, grouped by label so that each label's
    similarities are one slice (`knn_bounds[label]:knn_bounds[label + 1]`); `knn_positions[i]` is
    where training example i went, for leaving it out when it is scored itself. The embeddings are
    stored one column per example: a message's similarities are then one pass over contiguous
    memory (1.5 instead of 2.3 ms for the intent classifier's 11,000 examples)."""
    order = np.argsort(label_index, kind="stable")
    return {
        "knn_columns": np.ascontiguousarray(embeddings[order].T),
        "knn_bounds": np.searchsorted(label_index[order], np.arange(int(label_index.max()) + 2)),
        "knn_positions": np.argsort(order),
    }


def in_current_layout(model: Dict[Text, Any]) -> Dict[Text, Any]:
    """A model trained by an earlier version of this file (Rasa's training cache can hand one back
    after a code change), with its nearest-neighbour examples as `grouped_by_label` stores them."""
    if "knn_label_index" in model:  # trained before the examples were grouped by label
        model.update(grouped_by_label(model.pop("knn_embeddings"), model.pop("knn_label_index")))
    elif "knn_embeddings" in model:  # grouped, one row per example
        model["knn_columns"] = np.ascontiguousarray(model.pop("knn_embeddings").T)
    return model


def with_single_precision_weights(model: Dict[Text, Any]) -> Dict[Text, Any]:
    """The SVMs' weights as float32, one column per feature (Fortran order), for serving: half the
    memory (the intent classifier's and the answer selector's 103 MB of float64 weights become 51 MB),
    and the columns `Features.decision` gathers are each one contiguous read. The decisions then differ
    by rounding only (about 1e-7; tests/test_linear_classifiers.py checks the answers stay the same)."""
    classifier = model.get("classifier")
    for calibrated in classifier.calibrated_classifiers_ if classifier is not None else []:
        svm = calibrated.base_estimator
        svm.coef_ = np.asfortranarray(svm.coef_, dtype=np.float32)
    return model


class NgramTransform:
    """`FeatureUnion.transform` for the fitted TF-IDF vectorizers of `LinearTextClassifier.fit`
    (sublinear term frequency, idf, l2 norm per vectorizer, side by side), without scikit-learn's
    checks of the fitted state and its joblib dispatch on every call: 0.2 instead of 1.2 ms a
    message, for each of the three classifiers. tests/test_linear_classifiers.py compares it with
    scikit-learn's own transform, so an upgrade that changes the arithmetic is noticed."""

    def __init__(self, union: FeatureUnion) -> None:
        self.parts = []
        offset = 0
        for _, vectorizer in union.transformer_list:
            if not (vectorizer.sublinear_tf and vectorizer.use_idf and vectorizer.norm == "l2"):
                raise ValueError("NgramTransform computes sublinear, idf-weighted, l2-normalised TF-IDF only")
            idf = np.asarray(vectorizer.idf_, dtype=np.float64)
            self.parts.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, idf, offset))
            offset += len(idf)
        self.width = offset

    def transform(self, texts: List[Text]) -> csr_matrix:
        indptr, columns, values = [0], [], []
        for text in texts:
            stored = indptr[-1]
            for analyzer, vocabulary, idf, offset in self.parts:
                counts = Counter(vocabulary[gram] for gram in analyzer(text) if gram in vocabulary)
                if not counts:
                    continue
                present = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
                weights = (1.0 + np.log([counts[column] for column in present])) * idf[present]
                columns.append(present + offset)
                values.append(weights / np.sqrt(weights @ weights))
                stored += len(present)
            indptr.append(stored)
        return csr_matrix(
            (
                np.concatenate(values) if values else np.zeros(0),
                np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64),
                np.asarray(indptr),
            ),
            shape=(len(texts), self.width),
        )


@lru_cache(maxsize=16)
def ngram_transform(union: FeatureUnion) -> NgramTransform:
    """One NgramTransform per fitted union (cross-validation scripts fit several), built once."""
    return NgramTransform(union)


@dataclass
class Features:
    """What the SVMs see, one row per message: TF-IDF n-grams, then the dense columns (the sentence
    embedding, then the weighted nearest-neighbour similarities)."""

    ngrams: csr_matrix
    dense: np.ndarray

    def matrix(self) -> csr_matrix:
        return hstack([self.ngrams, csr_matrix(self.dense)]).tocsr()

    def decision(self, svm: LinearSVC) -> np.ndarray:
        """`svm.decision_function(self.matrix())`, without building the matrix: of the n-gram
        columns, only those some message has are multiplied (gathered here: SciPy's column indexing
        costs more than the product)."""
        width = self.ngrams.shape[1]
        present, position = np.unique(self.ngrams.indices, return_inverse=True)
        rows = np.repeat(np.arange(self.ngrams.shape[0]), np.diff(self.ngrams.indptr))
        gathered = np.zeros((self.ngrams.shape[0], len(present)))
        np.add.at(gathered, (rows, position), self.ngrams.data)
        ngram_part = gathered @ svm.coef_[:, present].T
        return ngram_part + self.dense @ svm.coef_[:, width:].T + svm.intercept_


def calibrated_probabilities(classifier: CalibratedClassifierCV, features: Features) -> np.ndarray:
    """`classifier.predict_proba(features.matrix())` for linear SVMs with sigmoid calibration (as
    trained here), in a few array operations. scikit-learn's own loop calls each class's calibrator
    in turn, checking its input every time, and the sparse matrix was rebuilt for every message: doing
    without both took a message's NLU from 67 to 55 ms. tests/test_linear_classifiers.py checks that both give the same
    probabilities, so an upgrade of scikit-learn that changes its arithmetic is noticed."""
    classes = classifier.classes_
    total = np.zeros((features.dense.shape[0], len(classes)))
    for calibrated in classifier.calibrated_classifiers_:
        svm = calibrated.base_estimator
        if calibrated.method != "sigmoid" or list(svm.classes_) != list(classes):
            return classifier.predict_proba(features.matrix())
        slopes = np.array([calibrator.a_ for calibrator in calibrated.calibrators])
        offsets = np.array([calibrator.b_ for calibrator in calibrated.calibrators])
        probabilities = expit(-(slopes * features.decision(svm) + offsets))
        if len(classes) == 2:
            probabilities = np.column_stack([1.0 - probabilities[:, 0], probabilities[:, 0]])
        else:
            row_sums = probabilities.sum(1, keepdims=True)
            uniform = np.full_like(probabilities, 1.0 / len(classes))
            probabilities = np.divide(probabilities, row_sums, out=uniform, where=row_sums != 0)
        probabilities[(probabilities > 1.0) & (probabilities <= 1.0 + 1e-5)] = 1.0
        total += probabilities
    return total / len(classifier.calibrated_classifiers_)


class LinearTextClassifier(GraphComponent):
    """Training, persistence and scoring shared by both classifiers; subclasses pick the labels
    and write the result in the shape Rasa expects."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # alias (or list of aliases) of the featurizers whose sentence embeddings are added to the n-grams
            "dense_featurizer": "minilm",
            "C": 1.0,
            "ranking_length": 10,
            # weight of the per-label nearest-neighbour similarity features (0: none)
            "knn_features": 0.0,
            # similarity of a label = mean of its this many most similar training examples
            "knn_neighbours": 1,
            # False: one SVM on all the data, calibrated on cross-validated predictions;
            # True: the average of CALIBRATION_FOLDS SVMs, each trained on part of the data
            "calibration_ensemble": True,
        }

    def __init__(
        self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource, model: Optional[Dict] = None
    ) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self.model = model  # {"ngrams": FeatureUnion, "classifier": CalibratedClassifierCV, ...}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LinearTextClassifier":
        return cls(config, model_storage, resource)

    # ---- what subclasses define
    def labelled_examples(self, training_data: TrainingData) -> List[Message]:
        raise NotImplementedError

    def label_of(self, message: Message) -> Text:
        raise NotImplementedError

    def write_prediction(self, message: Message, ranking: List[Dict[Text, Any]]) -> None:
        raise NotImplementedError

    def extra_model_data(self, training_data: TrainingData, labels: List[Text]) -> Dict[Text, Any]:
        return {}

    # ---- shared
    def dense_aliases(self) -> List[Text]:
        aliases = self.config["dense_featurizer"]
        return [aliases] if isinstance(aliases, str) else list(aliases)

    def sentence_embeddings(self, messages: List[Message]) -> np.ndarray:
        """Each message's sentence embedding; with several featurizers, their concatenation scaled
        so that it stays unit length (a cosine similarity is then the mean of the encoders')."""
        aliases = self.dense_aliases()
        rows = []
        for message in messages:
            parts = []
            for alias in aliases:
                _, sentence = message.get_dense_features(TEXT, [alias])
                if sentence is None:
                    raise ValueError(f"No '{alias}' sentence features: check config.yml")
                parts.append(sentence.features[0])
            rows.append(np.concatenate(parts) / np.sqrt(len(parts)))
        return np.asarray(rows)

    def neighbour_similarities(
        self, embeddings: np.ndarray, model: Dict[Text, Any], leave_one_out: bool = False
    ) -> np.ndarray:
        """(messages, labels): each label's similarity to the message, the mean cosine similarity of
        its `knn_neighbours` most similar training examples; with `leave_one_out` the messages are
        the training examples themselves, in training order, and none is compared with itself."""
        # float32 as stored: a float64 query would copy every training embedding to float64 first
        similarity = embeddings.astype(np.float32) @ model["knn_columns"]
        if leave_one_out:
            similarity[np.arange(len(embeddings)), model["knn_positions"]] = -1.0
        bounds = model["knn_bounds"]
        k = int(self.config["knn_neighbours"])
        if k == 1:  # each label's best: one call over all the slices
            return np.maximum.reduceat(similarity, bounds[:-1], axis=1).astype(np.float64)
        result = np.empty((len(embeddings), len(bounds) - 1), dtype=np.float64)
        for label, (start, end) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            columns = similarity[:, start:end]
            if columns.shape[1] <= k:
                result[:, label] = columns.mean(1)
            else:
                result[:, label] = np.partition(columns, -k, axis=1)[:, -k:].mean(1)
        return result

    def features(self, model: Dict[Text, Any], messages: List[Message], leave_one_out: bool = False) -> Features:
        return self.text_features(
            model, [message.get(TEXT) for message in messages], self.sentence_embeddings(messages), leave_one_out
        )

    def text_features(
        self, model: Dict[Text, Any], texts: List[Text], embeddings: np.ndarray, leave_one_out: bool = False
    ) -> Features:
        dense = [embeddings]
        weight = float(self.config["knn_features"])
        if weight:
            dense.append(weight * self.neighbour_similarities(embeddings, model, leave_one_out))
        return Features(ngram_transform(model["ngrams"]).transform(texts), np.hstack(dense))

    def train(self, training_data: TrainingData) -> Resource:
        self.model = self.fit(self.labelled_examples(training_data), training_data)
        with self._model_storage.write_to(self._resource) as directory:
            sio.dump(self.model, Path(directory) / MODEL_FILE)
        return self._resource

    @staticmethod
    def fit_ngrams(texts: List[Text]) -> FeatureUnion:
        return FeatureUnion(
            [
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
                ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
            ]
        ).fit(texts)

    def fit(self, examples: List[Message], training_data: Optional[TrainingData] = None) -> Dict[Text, Any]:
        """The trained model for these (featurized) examples; also used by cross-validation scripts."""
        labels = [self.label_of(m) for m in examples]
        too_few = sorted(label for label, count in Counter(labels).items() if count < CALIBRATION_FOLDS)
        if too_few:
            raise ValueError(f"Each class needs at least {CALIBRATION_FOLDS} training examples; too few: {too_few}")
        model: Dict[Text, Any] = {"ngrams": self.fit_ngrams([m.get(TEXT) for m in examples])}
        classes = sorted(set(labels))
        if float(self.config["knn_features"]):
            label_index = np.asarray([classes.index(label) for label in labels], dtype=np.int64)
            model.update(grouped_by_label(self.sentence_embeddings(examples).astype(np.float32), label_index))
        # Probabilities come from calibrating the SVM on held-out folds of the training data.
        classifier = CalibratedClassifierCV(
            LinearSVC(C=self.config["C"], random_state=0),
            cv=CALIBRATION_FOLDS,
            ensemble=bool(self.config["calibration_ensemble"]),
        )
        classifier.fit(self.features(model, examples, leave_one_out=True).matrix(), np.asarray(labels))
        if list(classifier.classes_) != classes:
            raise ValueError("Classifier classes are not in the order of the neighbour features")
        extra = self.extra_model_data(training_data, labels) if training_data is not None else {}
        return {**model, "classifier": classifier, **extra}

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "LinearTextClassifier":
        with model_storage.read_from(resource) as directory:
            path = Path(directory) / MODEL_FILE
            # Only scikit-learn, NumPy and SciPy types are expected in this file; anything else is refused.
            untrusted = sio.get_untrusted_types(file=path)
            unexpected = [t for t in untrusted if not t.startswith(("sklearn.", "numpy.", "scipy."))]
            if unexpected:
                raise ValueError(f"Refusing to load {path}: unexpected types {unexpected}")
            model = sio.load(path, trusted=untrusted)
        return cls(config, model_storage, resource, with_single_precision_weights(in_current_layout(model)))

    def process(self, messages: List[Message]) -> List[Message]:
        with_text = [m for m in messages if m.get(TEXT)]
        if not self.model or not with_text:
            return messages
        classifier = self.model["classifier"]
        probabilities = calibrated_probabilities(classifier, self.features(self.model, with_text))
        labels, probabilities = self.merge_labels([str(label) for label in classifier.classes_], probabilities)
        for message, row in zip(with_text, probabilities, strict=True):
            order = np.argsort(row)[::-1][: self.config["ranking_length"]]
            ranking = [{"label": labels[i], PREDICTED_CONFIDENCE_KEY: float(row[i])} for i in order]
            self.write_prediction(message, ranking)
        return messages

    def merge_labels(self, labels: List[Text], probabilities: np.ndarray):
        """The labels to rank and their probabilities (subclasses may merge the trained classes)."""
        return labels, probabilities

    def clause_predictions(self, message: Message, questions: List[Question]) -> List[Tuple[Text, float]]:
        """For a message that may ask more than one question (question_clauses), each question's best
        label and its confidence, in the order asked. Empty when the featurizers embedded no
        questions (one question, or training)."""
        by_alias = message.get(CLAUSE_FEATURES) or {}
        aliases = self.dense_aliases()
        if not questions or not all(alias in by_alias for alias in aliases):
            return []
        embeddings = np.hstack([by_alias[alias] for alias in aliases]) / np.sqrt(len(aliases))
        classifier = self.model["classifier"]
        texts = [question.text for question in questions]
        probabilities = calibrated_probabilities(classifier, self.text_features(self.model, texts, embeddings))
        labels, probabilities = self.merge_labels([str(label) for label in classifier.classes_], probabilities)
        return [(labels[int(row.argmax())], float(row.max())) for row in probabilities]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearIntentClassifier(LinearTextClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # retrieval_labels: learn each `faq/<key>` as its own class; the intent's confidence is their sum
        return {**LinearTextClassifier.get_default_config(), "retrieval_labels": False}

    def labelled_examples(self, training_data: TrainingData) -> List[Message]:
        return [m for m in training_data.intent_examples if m.get(INTENT) and m.get(TEXT)]

    def label_of(self, message: Message) -> Text:
        if self.config["retrieval_labels"] and message.get(INTENT_RESPONSE_KEY):
            return message.get(INTENT_RESPONSE_KEY)
        return message.get(INTENT)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not message.get(TEXT):  # nothing to classify (a blank message, a picture sent by SMS)
                # no intent, as DIETClassifier gives: the FallbackClassifier then asks to rephrase
                message.set(INTENT, {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        return super().process(messages)

    def merge_labels(self, labels: List[Text], probabilities: np.ndarray):
        intents = sorted({label.split("/")[0] for label in labels})
        if len(intents) == len(labels):
            return labels, probabilities
        merged = np.zeros((probabilities.shape[0], len(intents)))
        for column, label in enumerate(labels):
            merged[:, intents.index(label.split("/")[0])] += probabilities[:, column]
        return intents, merged

    def write_prediction(self, message: Message, ranking: List[Dict[Text, Any]]) -> None:
        intents = [
            {INTENT_NAME_KEY: r["label"], PREDICTED_CONFIDENCE_KEY: r[PREDICTED_CONFIDENCE_KEY]} for r in ranking
        ]
        message.set(INTENT, intents[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, intents, add_to_output=True)
        questions = question_clauses(message.get(TEXT))
        predictions = self.clause_predictions(message, questions)
        if predictions:
            message.set(
                QUESTION_INTENTS_KEY,
                [
                    {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence, "start": q.start, "end": q.end}
                    for q, (name, confidence) in zip(questions, predictions, strict=True)
                ],
            )


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearResponseSelector(LinearTextClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # two_questions: the confidence from which a question of a message that asks two or three
        # (question_clauses) counts as asked; each is then answered. None: one answer a message.
        return {**LinearTextClassifier.get_default_config(), "retrieval_intent": "faq", "two_questions": None}

    def labelled_examples(self, training_data: TrainingData) -> List[Message]:
        retrieval_intent = self.config["retrieval_intent"]
        return [
            m for m in training_data.intent_examples if m.get(INTENT) == retrieval_intent and m.get(INTENT_RESPONSE_KEY)
        ]

    def label_of(self, message: Message) -> Text:
        return message.get(INTENT_RESPONSE_KEY)

    def extra_model_data(self, training_data: TrainingData, labels: List[Text]) -> Dict[Text, Any]:
        return {"responses": {key: training_data.responses.get(f"utter_{key}", [{TEXT: key}]) for key in set(labels)}}

    def write_prediction(self, message: Message, ranking: List[Dict[Text, Any]]) -> None:
        retrieval_intent = self.config["retrieval_intent"]
        confidences = {r["label"]: r[PREDICTED_CONFIDENCE_KEY] for r in ranking}
        questions = question_clauses(message.get(TEXT))
        parts = self.question_parts(message, questions)
        threshold = self.config["two_questions"]
        # a question the intent classifier read as a request ("can I talk to someone?") asks no FAQ topic
        requests = [found.get(INTENT_NAME_KEY) in REQUEST_INTENTS for found in message.get(QUESTION_INTENTS_KEY) or []]
        is_request = (requests + [False] * len(parts))[: len(parts)]
        asked = [] if threshold is None else asked_topics(
            [
                (part[INTENT_RESPONSE_KEY], 0.0 if request else part[PREDICTED_CONFIDENCE_KEY])
                for part, request in zip(parts, is_request, strict=True)
            ],
            threshold,
        )
        best = asked[0] if asked else ranking[0]["label"]
        if any(is_request) and not asked and threshold is not None:
            # "how much is it? and can I talk to someone": the answer is the question's, not the request's
            answered = [p[INTENT_RESPONSE_KEY] for p, r in zip(parts, is_request, strict=True)
                        if not r and p[PREDICTED_CONFIDENCE_KEY] >= threshold]
            best = answered[0] if answered else best
        selector = message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}
        selector[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = [retrieval_intent]
        selector[retrieval_intent] = {
            RESPONSE_SELECTOR_PREDICTION_KEY: {
                RESPONSE_SELECTOR_RESPONSES_KEY: self.model["responses"].get(best, [{TEXT: best}]),
                PREDICTED_CONFIDENCE_KEY: confidences.get(best, 0.0),
                INTENT_RESPONSE_KEY: best,
                RESPONSE_SELECTOR_UTTER_ACTION_KEY: f"utter_{best}",
            },
            RESPONSE_SELECTOR_RANKING_KEY: [
                {INTENT_RESPONSE_KEY: r["label"], PREDICTED_CONFIDENCE_KEY: r[PREDICTED_CONFIDENCE_KEY]}
                for r in ranking
            ],
        }
        if parts:
            selector[retrieval_intent][QUESTION_PARTS_KEY] = parts
        if asked:
            asked_where = {}
            for question, part in zip(questions, parts, strict=True):
                asked_where.setdefault(part[INTENT_RESPONSE_KEY], question)
            selector[retrieval_intent][MORE_QUESTIONS_KEY] = [
                {INTENT_RESPONSE_KEY: topic, "start": asked_where[topic].start, "end": asked_where[topic].end}
                for topic in asked[1:]
            ]
        message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selector, add_to_output=True)

    def question_parts(self, message: Message, questions: List[Question]) -> List[Dict[Text, Any]]:
        """For a message that may ask two questions (question_clauses), each question's best answer
        and its confidence, in the order asked. Empty when the featurizers embedded no questions
        (one question, or training)."""
        return [
            {INTENT_RESPONSE_KEY: label, PREDICTED_CONFIDENCE_KEY: confidence}
            for label, confidence in self.clause_predictions(message, questions)
        ]
