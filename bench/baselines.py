"""Baselines for the NLU pipeline: the label of the most similar training example.

Three representations: TF-IDF character n-grams, all-MiniLM-L6-v2 (an English model: Spanish
reaches it only as subword pieces) and the multilingual Universal Sentence Encoder the pipeline
itself uses (nlu_components/use_encoder.py), which places English and Spanish in one space.

Each retriever predicts the full label (`faq/<key>` or the intent) of the nearest training example
by cosine similarity, and that similarity is its confidence: below a threshold it asks for a
clarification (`nlu_fallback`) instead of answering. The threshold comes from the training data
alone, by leave-one-out: each training example is matched against all the others, and the lowest
threshold is taken at which at most MAX_WRONG of them would get a wrong answer (the wrong-answer
budget `make tune` uses for the pipeline's thresholds).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from nlu_components.minilm_encoder import MiniLMEncoder
from nlu_components.use_encoder import MultilingualEncoder

FALLBACK = "nlu_fallback"
MAX_WRONG = 0.02  # as scripts/tune_thresholds.py --max-wrong
THRESHOLDS = np.round(np.arange(0.0, 1.0, 0.01), 2)
ENCODER_BATCH = 32

Example = Tuple[str, str]


class CachingMiniLMEncoder(MiniLMEncoder):
    """all-MiniLM-L6-v2 that encodes each distinct text once per process.

    The encoder is deterministic, so reusing its output changes no figure; it saves encoding the
    same training texts again in every cross-validation fold, most of a fold's training time.
    """

    def __init__(self, model_dir: Optional[str] = None) -> None:
        super().__init__(model_dir)
        self.cache: Dict[str, tuple] = {}

    def encode(self, texts: List[str]):
        missing = sorted({text for text in texts if text not in self.cache}, key=len)
        for start in range(0, len(missing), ENCODER_BATCH):
            batch = missing[start : start + ENCODER_BATCH]
            for text, vectors, spans in zip(batch, *super().encode(batch), strict=True):
                self.cache[text] = (vectors, spans)
        return [self.cache[text][0] for text in texts], [self.cache[text][1] for text in texts]

    def sentence_embeddings(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self.sentence_embedding(vectors) for vectors in self.encode(list(texts))[0]])


def lowest_safe_threshold(similarity: np.ndarray, correct: np.ndarray) -> float:
    """The lowest threshold at which at most MAX_WRONG of the examples would be answered wrongly."""
    for threshold in THRESHOLDS:
        if np.mean((similarity >= threshold) & ~correct) <= MAX_WRONG:
            return float(threshold)
    return 1.0


class NearestNeighbourRetriever:
    name = ""

    def vectorise(self, texts: Sequence[str], fit: bool = False):
        """One L2-normalised row per text (sparse or dense)."""
        raise NotImplementedError

    def fit(self, examples: List[Example]) -> "NearestNeighbourRetriever":
        self.labels = np.array([label for _, label in examples])
        self.train_vectors = self.vectorise([text for text, _ in examples], fit=True)
        similarity = self.similarities(self.train_vectors)
        np.fill_diagonal(similarity, -np.inf)  # leave one out: an example may not match itself
        nearest = similarity.argmax(1)
        best = similarity[np.arange(len(nearest)), nearest]
        self.threshold = lowest_safe_threshold(best, self.labels[nearest] == self.labels)
        return self

    def similarities(self, vectors) -> np.ndarray:
        product = vectors @ self.train_vectors.T
        return product.toarray() if hasattr(product, "toarray") else np.asarray(product)

    def predict(self, texts: Sequence[str]) -> Tuple[List[str], List[str]]:
        """For each text: the nearest example's label, and what the visitor gets (that label, or a
        clarification when the similarity is below the threshold)."""
        similarity = self.similarities(self.vectorise(texts))
        nearest = similarity.argmax(1)
        best = similarity[np.arange(len(nearest)), nearest]
        top1 = self.labels[nearest].tolist()
        return top1, [label if score >= self.threshold else FALLBACK for label, score in zip(top1, best, strict=True)]


class TfidfRetriever(NearestNeighbourRetriever):
    name = "TF-IDF char n-grams, nearest neighbour"

    def __init__(self) -> None:
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)

    def vectorise(self, texts: Sequence[str], fit: bool = False):
        return self.vectorizer.fit_transform(texts) if fit else self.vectorizer.transform(texts)


class MiniLMRetriever(NearestNeighbourRetriever):
    name = "all-MiniLM-L6-v2 embeddings, nearest neighbour"

    def __init__(self, encoder: CachingMiniLMEncoder) -> None:
        self.encoder = encoder

    def vectorise(self, texts: Sequence[str], fit: bool = False) -> np.ndarray:
        return self.encoder.sentence_embeddings(texts)


class UseRetriever(NearestNeighbourRetriever):
    """The multilingual encoder the pipeline uses (English and Spanish alike), nearest neighbour.

    Its vectors are kept per text for the process (the encoder's own cache is bounded, and the
    cross-validation folds ask for the same training texts again), like CachingMiniLMEncoder's.
    """

    name = "multilingual USE embeddings, nearest neighbour"
    cache: Dict[str, np.ndarray] = {}

    def __init__(self) -> None:
        self.encoder = MultilingualEncoder()

    def vectorise(self, texts: Sequence[str], fit: bool = False) -> np.ndarray:
        missing = sorted({text for text in texts if text not in self.cache})
        for start in range(0, len(missing), ENCODER_BATCH):
            batch = missing[start : start + ENCODER_BATCH]
            self.cache.update(zip(batch, self.encoder.encode(batch), strict=True))
        return np.array([self.cache[text] for text in texts])
