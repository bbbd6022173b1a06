"""The embedding intent classifier: the plain model and the Rasa component round trip."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from models.nlu.embedding_classifier import EmbeddingIntentClassifier, IntentModel

TEXTS = {
    "track_order": ["where is my parcel", "track my order", "wheres my package", "order status"],
    "cancel_order": ["cancel my order", "i want to cancel", "cancle it", "stop my order please"],
    "greet": ["hi", "hello there", "hey", "good morning"],
}


def _vector(intent: str, rng: np.random.Generator) -> np.ndarray:
    # One direction per intent plus noise, like sentence embeddings of one topic.
    base = np.zeros(8, dtype=np.float32)
    base[list(TEXTS).index(intent)] = 1.0
    v = base + rng.normal(0, 0.2, 8).astype(np.float32)
    return v / np.linalg.norm(v)


def _message(text: str, vector: np.ndarray, intent: str | None = None) -> Message:
    data = {"text": text}
    if intent:
        data["intent"] = intent
    message = Message(data=data)
    message.add_features(
        Features(vector[None, :], "sentence", "text", "SentenceEmbeddingFeaturizer")
    )
    return message


@pytest.fixture
def training_data() -> TrainingData:
    rng = np.random.default_rng(0)
    examples = [
        _message(text, _vector(intent, rng), intent)
        for intent, texts in TEXTS.items()
        for text in texts
    ]
    return TrainingData(training_examples=examples)


def test_intent_model_learns_and_ranks():
    rng = np.random.default_rng(1)
    texts = [t for ts in TEXTS.values() for t in ts]
    labels = [i for i, ts in TEXTS.items() for _ in ts]
    vectors = np.stack([_vector(i, rng) for i in labels])
    model = IntentModel(c=10, char_weight=0.5).fit(texts, vectors, labels)
    assert sorted(model.classes) == sorted(TEXTS)
    probs = model.predict_proba(["cancle my order pls"], _vector("cancel_order", rng)[None, :])
    assert model.classes[int(probs.argmax())] == "cancel_order"
    assert probs.sum() == pytest.approx(1.0)


def test_intent_model_needs_two_intents():
    with pytest.raises(ValueError):
        IntentModel().fit(["a", "b"], np.ones((2, 3)), ["x", "x"])
    with pytest.raises(RuntimeError):
        IntentModel().predict_proba(["a"], np.ones((1, 3)))


def test_component_trains_persists_loads_and_predicts(tmp_path, training_data):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("intent_classifier")
    context = ExecutionContext(GraphSchema({}), "test")
    config = {**EmbeddingIntentClassifier.get_default_config()}
    component = EmbeddingIntentClassifier.create(config, storage, resource, context)
    component.train(training_data)

    loaded = EmbeddingIntentClassifier.load(config, storage, resource, context)
    rng = np.random.default_rng(2)
    message = _message("where is my parcel pls", _vector("track_order", rng))
    unfeaturized = Message(data={"text": "???"})
    loaded.process([message, unfeaturized])
    assert message.get("intent")["name"] == "track_order"
    assert unfeaturized.get("intent") is None
    ranking = message.get("intent_ranking")
    assert len(ranking) == 3 and ranking[0]["confidence"] >= ranking[-1]["confidence"]


def test_component_without_model_predicts_nothing(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    config = EmbeddingIntentClassifier.get_default_config()
    component = EmbeddingIntentClassifier.load(config, storage, Resource("missing"), context)
    message = Message(data={"text": "hello"})
    component.process([message])
    assert message.get("intent") is None


def test_component_explains_a_missing_featurizer(tmp_path, training_data):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    config = EmbeddingIntentClassifier.get_default_config()
    component = EmbeddingIntentClassifier.create(config, storage, Resource("r"), context)
    bare = TrainingData(
        training_examples=[
            Message(data={"text": "hi", "intent": "greet"}),
            Message(data={"text": "bye", "intent": "goodbye"}),
        ]
    )
    with pytest.raises(InvalidConfigException, match="featurizer"):
        component.train(bare)
    with pytest.raises(InvalidConfigException):
        EmbeddingIntentClassifier.validate_config({"C": 0})


def test_an_order_number_moves_the_order_request_to_the_top(tmp_path):
    texts = {
        "product_search": ["show me running shoes", "black boots size 42", "sneakers pls"],
        "request_refund": ["i want to return it", "refund please", "send it back"],
        "track_order": ["where is my parcel", "track my order", "order status"],
    }
    rng = np.random.default_rng(3)

    def vector(intent: str) -> np.ndarray:
        base = np.zeros(8, dtype=np.float32)
        base[list(texts).index(intent)] = 1.0
        v = base + rng.normal(0, 0.1, 8).astype(np.float32)
        return v / np.linalg.norm(v)

    data = TrainingData(
        training_examples=[
            _message(t, vector(i), i) for i, examples in texts.items() for t in examples
        ]
    )
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    config = EmbeddingIntentClassifier.get_default_config()
    component = EmbeddingIntentClassifier.create(config, storage, Resource("r"), context)
    component.train(data)
    # a title reads like a search; the order number and "return" make it a return
    titled = _message(
        "return the Kinetix Apex Trail Shoe, Black from SB-204518", vector("product_search")
    )
    search = _message("Kinetix Apex Trail Shoe in black", vector("product_search"))
    component.process([titled, search])
    assert titled.get("intent")["name"] == "request_refund"
    ranking = titled.get("intent_ranking")
    assert ranking[0]["confidence"] == max(r["confidence"] for r in ranking)
    assert [r["confidence"] for r in ranking[1:]] == sorted(
        (r["confidence"] for r in ranking[1:]), reverse=True
    )
    assert search.get("intent")["name"] == "product_search"


def test_column_major_weights_give_the_same_probabilities(monkeypatch):
    rng = np.random.default_rng(3)
    texts = [t for ts in TEXTS.values() for t in ts]
    labels = [i for i, ts in TEXTS.items() for _ in ts]
    vectors = np.stack([_vector(i, rng) for i in labels])
    model = IntentModel(c=10, char_weight=0.5).fit(texts, vectors, labels)
    queries = ["cancle my order pls", "where is it", "hello there", "refund?"]
    query_vectors = np.stack([_vector(i, rng) for i in list(TEXTS)[:1] * len(queries)])
    before = model.predict_proba(queries, query_vectors)
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-intent-coef")
    coef = model.classifier.coef_
    assert model.prepare_for_prediction() is False
    assert model.classifier.coef_ is coef
    monkeypatch.delenv("SHOPBOT_TURN_FIXES")
    assert model.prepare_for_prediction() is True
    assert model.classifier.coef_.T.flags["C_CONTIGUOUS"]  # scipy's product copies nothing
    assert np.array_equal(model.predict_proba(queries, query_vectors), before)
    assert IntentModel().prepare_for_prediction() is False  # untrained
