"""The MiniLM encoder's ONNX graph computes what BERT computes: checked against the forward pass
written plainly in NumPy, so a change in ONNX Runtime, onnx or the weights package that alters the
vectors (and with them every answer the classifiers choose) fails here."""
import numpy as np
import pytest
from safetensors.numpy import load_file
from scipy.special import erf

from nlu_components.minilm_encoder import HEADS, LAYER_NORM_EPS, LAYERS, MAX_PIECES, MiniLMEncoder, default_model_dir

TEXTS = [
    "how much does an infusion cost?",
    "¿Cuánto tarda en hacer efecto la ketamina? llevo años con ansiedad",
    "",
    "ok",
    "i'm nervous 😬 about needles... do you use an IV or a nasal spray",
    "Ansiedad " * 300,  # longer than the 256 pieces the model takes: cut, as when serving
]


def reference_forward(weights, ids, mask):
    """BERT's encoder step by step in NumPy: piece vectors (batch, pieces, 384)."""

    def layer_norm(x, prefix):
        mean = x.mean(-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(variance + LAYER_NORM_EPS) * weights[prefix + ".weight"] + weights[prefix + ".bias"]

    def dense(x, prefix):
        return x @ weights[prefix + ".weight"].T + weights[prefix + ".bias"]

    batch, length = ids.shape
    x = (
        weights["embeddings.word_embeddings.weight"][ids]
        + weights["embeddings.position_embeddings.weight"][:length]
        + weights["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, "embeddings.LayerNorm")
    bias = (1.0 - mask[:, None, None, :]) * -1e9
    size = x.shape[-1] // HEADS
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}"
        q, k, v = (
            dense(x, f"{p}.attention.self.{name}").reshape(batch, length, HEADS, size).transpose(0, 2, 1, 3)
            for name in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = ((scores / scores.sum(-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
        x = layer_norm(x + dense(context, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
        hidden = dense(x, f"{p}.intermediate.dense")
        hidden = 0.5 * hidden * (1.0 + erf(hidden / np.sqrt(2.0)))
        x = layer_norm(x + dense(hidden, f"{p}.output.dense"), f"{p}.output.LayerNorm")
    return x


@pytest.fixture(scope="module")
def encoder():
    return MiniLMEncoder()


def test_the_graph_gives_the_vectors_of_the_plain_forward_pass(encoder):
    ids, mask = encoder.padded([encoder.tokenizer.encode(text)[0] for text in TEXTS])
    assert MAX_PIECES - 4 <= ids.shape[1] <= MAX_PIECES  # the long text fills the model's window (whole words)
    expected = reference_forward(load_file(str(default_model_dir() / "model.safetensors")), ids, mask)

    vectors = encoder.forward(ids, mask)

    real = mask.astype(bool)  # padding's vectors are never used
    assert np.abs(vectors[real] - expected[real]).max() < 1e-4


def test_a_message_gets_the_same_embedding_alone_as_in_a_padded_training_batch(encoder):
    alone = [encoder.sentence_embedding(vectors) for text in TEXTS for vectors in encoder.encode([text])[0]]
    batched = [encoder.sentence_embedding(vectors) for vectors in encoder.encode(TEXTS)[0]]

    assert np.abs(np.array(alone) - np.array(batched)).max() < 1e-5
