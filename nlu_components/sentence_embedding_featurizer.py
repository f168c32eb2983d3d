"""Dense features from sentence encoders: all-MiniLM-L6-v2 (English) and multilingual USE.

Counts of words and character n-grams cannot tell that "will my insurer pay" and "is it covered"
ask the same thing; a sentence-embedding model can. This featurizer adds, for the message text,
one embedding per token (the mean of its word pieces) and the model's sentence embedding.
"""
from typing import Any, Dict, List, Optional, Text, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.minilm_encoder import MiniLMEncoder
from nlu_components.question_clauses import CLAUSE_FEATURES, question_clauses
from nlu_components.use_encoder import MultilingualEncoder

BATCH_SIZE = 32


class SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """What both featurizers share: Rasa's featurizer plumbing, and the parts of a message that may
    ask two questions; subclasses embed in `embed_messages` and `sentence_vectors`."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceFeaturizer":
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.embed_messages(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self.embed_messages(messages)
        for message in messages:
            questions = question_clauses(message.get(TEXT))
            if questions:
                features = message.get(CLAUSE_FEATURES) or {}
                features[self._identifier] = self.sentence_vectors([question.text for question in questions])
                message.set(CLAUSE_FEATURES, features)
        return messages

    def embed_messages(self, messages: List[Message]) -> None:
        raise NotImplementedError

    def sentence_vectors(self, texts: List[Text]) -> np.ndarray:
        """(len(texts), dimensions): each text's sentence embedding, as the message's."""
        raise NotImplementedError


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(SentenceFeaturizer):
    _encoder: Optional[MiniLMEncoder] = None  # the weights are loaded once per process

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "model_dir": None}

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(config, name)
        if SentenceEmbeddingFeaturizer._encoder is None:
            SentenceEmbeddingFeaturizer._encoder = MiniLMEncoder(config.get("model_dir"))
        self.encoder = SentenceEmbeddingFeaturizer._encoder

    def embed_messages(self, messages: List[Message]) -> None:
        with_text = [m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])]
        # Similar lengths in one batch keep the padding small.
        with_text.sort(key=lambda m: len(m.get(TEXT)))
        for start in range(0, len(with_text), BATCH_SIZE):
            batch = with_text[start : start + BATCH_SIZE]
            piece_vectors, piece_spans = self.encoder.encode([m.get(TEXT) for m in batch])
            for message, vectors, spans in zip(batch, piece_vectors, piece_spans, strict=True):
                sequence = self.token_vectors(message, vectors, spans)
                sentence = self.encoder.sentence_embedding(vectors)[np.newaxis, :]
                self.add_features_to_message(sequence, sentence, TEXT, message)

    def sentence_vectors(self, texts: List[Text]) -> np.ndarray:
        piece_vectors, _ = self.encoder.encode(texts)
        return np.asarray([self.encoder.sentence_embedding(vectors) for vectors in piece_vectors], dtype=np.float32)

    @staticmethod
    def token_vectors(message: Message, vectors: np.ndarray, spans: List[Optional[tuple]]) -> np.ndarray:
        """One vector per Rasa token: the mean of the word pieces inside it (zeros if none)."""
        rows = []
        for token in message.get(TOKENS_NAMES[TEXT]):
            inside = [i for i, span in enumerate(spans) if span and span[0] < token.end and span[1] > token.start]
            rows.append(vectors[inside].mean(0) if inside else np.zeros(vectors.shape[1], dtype=np.float32))
        return np.asarray(rows, dtype=np.float32)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class MultilingualSentenceFeaturizer(SentenceFeaturizer):
    """The multilingual USE sentence embedding (English and Spanish in one space).

    USE gives one vector per sentence, not per word: the sequence features Rasa requires are
    zeros, and only the sentence features carry information (the linear classifiers use only those).
    """

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(config, name)
        self.encoder = MultilingualEncoder()

    def embed_messages(self, messages: List[Message]) -> None:
        with_text = [m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])]
        if not with_text:
            return
        embeddings = self.encoder.encode([m.get(TEXT) for m in with_text])
        for message, embedding in zip(with_text, embeddings, strict=True):
            tokens = len(message.get(TOKENS_NAMES[TEXT]))
            sequence = np.zeros((tokens, embedding.shape[0]), dtype=np.float32)
            self.add_features_to_message(sequence, embedding[np.newaxis, :], TEXT, message)

    def sentence_vectors(self, texts: List[Text]) -> np.ndarray:
        return self.encoder.encode(texts)
