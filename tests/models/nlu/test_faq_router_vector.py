"""The FAQ router searches with the featurizer's sentence vector, on one MiniLM instance."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.shared.nlu.training_data.message import Message


def _featurized(texts: list[str]) -> list[Message]:
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    from models.nlu.sentence_featurizer import SentenceEmbeddingFeaturizer

    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    featurizer = SentenceEmbeddingFeaturizer(
        {**SentenceEmbeddingFeaturizer.get_default_config(), "sequence_features": "sentence"},
        "run_models.nlu.sentence_featurizer.SentenceEmbeddingFeaturizer5",
    )
    messages = [Message(data={"text": t}) for t in texts]
    tokenizer.process(messages)
    return featurizer.process(messages)


@pytest.fixture(scope="module")
def featurized() -> list[Message]:
    return _featurized(["how long does delivery take?", "what is your return policy"])


def test_the_message_vector_is_the_one_the_search_would_compute(featurized) -> None:
    from models.embeddings import Embedder
    from models.nlu.faq_router import message_sentence_vector

    vector = message_sentence_vector(featurized[0])
    assert vector is not None and vector.shape == (384,)
    expected = Embedder().encode([featurized[0].get("text")])[0]
    assert np.allclose(vector, expected, atol=1e-5)


def test_a_message_without_the_feature_has_no_vector() -> None:
    from models.nlu.faq_router import message_sentence_vector

    assert message_sentence_vector(Message(data={"text": "hi"})) is None


def test_the_given_vector_answers_without_embedding_again(featurized, monkeypatch) -> None:
    from models.nlu.faq_router import MessageVectorEmbedder, message_sentence_vector

    embedder = MessageVectorEmbedder()
    assert embedder.same_model_as_featurizer()  # the featurizer loaded the packaged model
    text = featurized[1].get("text")
    vector = message_sentence_vector(featurized[1])
    calls: list[list[str]] = []
    model = embedder._model()
    original = model.encode
    monkeypatch.setattr(
        model, "encode", lambda texts, **kw: calls.append(texts) or original(texts, **kw)
    )
    with embedder.given(text, vector):
        got = embedder.encode([text])
    assert calls == []
    assert np.array_equal(got[0], vector)
    # Outside the block (or for another text) the shared model embeds it.
    again = embedder.encode([text, "something else"])
    assert calls == [[text, "something else"]]
    assert np.allclose(again[0], vector, atol=1e-5)


def test_one_minilm_in_the_process(featurized) -> None:
    from models.nlu.faq_router import MessageVectorEmbedder
    from models.nlu.sentence_featurizer import load_sentence_model

    embedder = MessageVectorEmbedder()
    assert embedder._model() is load_sentence_model()
    assert embedder.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert embedder.dim == 384


def test_another_model_in_the_settings_never_takes_the_message_vector(featurized) -> None:
    from models.nlu.faq_router import MessageVectorEmbedder, message_sentence_vector

    embedder = MessageVectorEmbedder("/nowhere/other-model")
    assert not embedder.same_model_as_featurizer()
    with embedder.given("hi", message_sentence_vector(featurized[0])):
        assert "hi" not in embedder._given


def _faq_shop(settings) -> None:
    """A shop database with a few real FAQ entries and their dense index."""
    import json

    import yaml

    from knowledge.demo import FAQ_PATH
    from knowledge.search import SearchIndexes
    from knowledge.store import Store

    entries = {e["key"]: e for e in yaml.safe_load(FAQ_PATH.read_text(encoding="utf-8"))["faq"]}
    store = Store.open(settings.db_path)
    try:
        with store.transaction():
            store.db.execute("DELETE FROM faq")
            for key in ("shipping-times", "return-policy", "payment-methods", "gift-cards"):
                e = entries[key]
                store.db.execute(
                    "INSERT INTO faq (key, question, answer, category, alternatives, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, '2026-03-16T09:00:00+00:00')",
                    [key, e["question"], e["answer"], e["category"], json.dumps(e["alternatives"])],
                )
        SearchIndexes(settings, store).rebuild(["faq"], progress=False, calibrate=False)
    finally:
        store.close()


def test_routing_with_the_vector_matches_routing_by_text(settings, featurized, monkeypatch) -> None:
    """The live path (FaqSearch opened from the settings) routes as the text search does."""
    from models.nlu.faq_router import FaqRouter, FaqSearch

    _faq_shop(settings)
    monkeypatch.setattr("shopbot.config.get_settings", lambda: settings)
    monkeypatch.delenv("SHOPBOT_TURN_FIXES", raising=False)
    search = FaqSearch(str(settings.db_path))
    indexes = search.get()
    assert indexes is not None
    assert search.embedder is not None  # the fix is on by default
    router = FaqRouter(FaqRouter.get_default_config(), search)
    message = featurized[0]
    message.set("intent", {"name": "nlu_fallback", "confidence": 0.1})
    message.set("intent_ranking", [{"name": "nlu_fallback", "confidence": 0.1}])
    assert router.route(message)
    by_vector = [e for e in message.get("entities") if e["entity"] == "faq_key"][0]
    by_text = indexes.search_faq(message.get("text"), k=1)
    assert by_vector["value"] == by_text.best.row["key"] == "shipping-times"
    assert by_vector["confidence_entity"] == pytest.approx(by_text.score, abs=1e-4)


def test_the_switch_restores_a_search_of_its_own(settings, monkeypatch) -> None:
    from models.nlu.faq_router import FaqSearch

    _faq_shop(settings)
    monkeypatch.setattr("shopbot.config.get_settings", lambda: settings)
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-faq-vector")
    search = FaqSearch(str(settings.db_path))
    assert search.get() is not None
    assert search.embedder is None
