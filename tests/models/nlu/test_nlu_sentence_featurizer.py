"""The sentence-embedding featurizer adds dense features of the right shape (no training)."""

from __future__ import annotations

import numpy as np
import pytest

DIM = 384  # all-MiniLM-L6-v2


def _tokenized(texts: list[str]):
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message

    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    messages = [Message(data={"text": t}) for t in texts]
    for message in messages:
        tokenizer.process([message])
    return messages


def _featurizer(**config):
    from models.nlu.sentence_featurizer import SentenceEmbeddingFeaturizer

    return SentenceEmbeddingFeaturizer(
        {**SentenceEmbeddingFeaturizer.get_default_config(), **config}, "dense"
    )


def _dense(message, kind: str):
    from rasa.shared.nlu.constants import TEXT

    sequence, sentence = message.get_dense_features(TEXT, ["dense"])
    return (sequence if kind == "sequence" else sentence).features


@pytest.fixture(scope="module")
def messages():
    featurizer = _featurizer()
    texts = ["where is my order SB-204518", "thanks!", "i want to return the jacket"]
    return featurizer.process(_tokenized(texts))


def test_sentence_and_sequence_features_have_the_right_shape(messages) -> None:
    for message in messages:
        n_tokens = len(message.get("text_tokens"))
        sentence = _dense(message, "sentence")
        sequence = _dense(message, "sequence")
        assert sentence.shape == (1, DIM)
        assert sequence.shape == (n_tokens, DIM)
        assert sentence.dtype == np.float32
        assert np.isclose(np.linalg.norm(sentence), 1.0, atol=1e-3)


def test_similar_messages_get_closer_sentence_vectors() -> None:
    featurizer = _featurizer()
    a, b, c = featurizer.process(
        _tokenized(["where is my parcel", "where is my package", "tell me a joke about cats"])
    )
    va, vb, vc = (_dense(m, "sentence")[0] for m in (a, b, c))
    assert float(va @ vb) > float(va @ vc)


def test_sentence_mode_repeats_the_sentence_vector() -> None:
    featurizer = _featurizer(sequence_features="sentence")
    (message,) = featurizer.process(_tokenized(["cancel my order please"]))
    sequence, sentence = _dense(message, "sequence"), _dense(message, "sentence")
    assert sequence.shape == (4, DIM)
    assert np.allclose(sequence, np.repeat(sentence, 4, axis=0))


def test_training_data_is_featurized_in_place() -> None:
    from rasa.shared.nlu.training_data.training_data import TrainingData

    examples = _tokenized(["hi", "show me red dresses"])
    for example, intent in zip(examples, ["greet", "product_search"], strict=True):
        example.set("intent", intent)
    data = _featurizer().process_training_data(TrainingData(training_examples=examples))
    assert all(_dense(m, "sentence").shape == (1, DIM) for m in data.training_examples)


def test_messages_without_tokens_are_skipped() -> None:
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": ""})
    _featurizer().process([message])
    assert message.features == []


def test_model_is_loaded_once_per_process() -> None:
    from models.nlu.sentence_featurizer import load_sentence_model

    assert load_sentence_model() is load_sentence_model("")


def test_bad_config_is_rejected() -> None:
    from rasa.shared.exceptions import InvalidConfigException

    from models.nlu.sentence_featurizer import SentenceEmbeddingFeaturizer

    defaults = SentenceEmbeddingFeaturizer.get_default_config()
    for bad in ({"sequence_features": "words"}, {"compute_type": "float16"}):
        with pytest.raises(InvalidConfigException):
            SentenceEmbeddingFeaturizer.validate_config({**defaults, **bad})


def test_int8_compute_type_is_its_own_model_close_to_float32() -> None:
    """The compute type is part of the config: an int8 featurizer gets an int8 MiniLM of its
    own (never the float32 one another component loaded), with vectors close to float32's;
    the FAQ router's lookup (``compute_type=None``) shares whatever is loaded."""
    from models.nlu import ct2_encoder
    from models.nlu.sentence_featurizer import load_sentence_model

    if not ct2_encoder.available():
        pytest.skip("CTranslate2 not installed")
    texts = ["where is my order SB-204518", "can i return the blue jacket?"]
    full = _featurizer().process(_tokenized(texts))
    int8 = _featurizer(compute_type="int8").process(_tokenized(texts))
    assert load_sentence_model(compute_type="int8") is not load_sentence_model()
    assert getattr(load_sentence_model(compute_type="int8"), "compute_type", "") == "int8"
    assert load_sentence_model(compute_type=None) is not None
    for a, b in zip(full, int8, strict=True):
        x, y = _dense(a, "sentence")[0], _dense(b, "sentence")[0]
        assert not np.array_equal(x, y)
        assert float(np.dot(x, y)) > 0.97


def test_component_is_registered_for_rasa_graphs() -> None:
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe

    from models.nlu.sentence_featurizer import SentenceEmbeddingFeaturizer

    registered = DefaultV1Recipe._from_registry(SentenceEmbeddingFeaturizer.__name__)
    assert registered.clazz is SentenceEmbeddingFeaturizer
    assert DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER in registered.types
    assert registered.is_trainable is False
