"""FAQ routing in NLU (models/nlu/faq_router.py) over a real FAQ index."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from knowledge.search import SearchIndexes
from models.nlu.faq_router import FaqRouter, FaqSearch


@pytest.fixture
def router(settings, faq_store, embedder) -> FaqRouter:
    indexes = SearchIndexes(settings, faq_store, embedder=embedder)
    indexes.rebuild(["faq"], progress=False)
    search = FaqSearch()
    search._search = indexes  # the live index the Rasa process would open from settings
    return FaqRouter(FaqRouter.get_default_config(), search)


def _parsed(text: str, intent: str, confidence: float) -> Message:
    top = {"name": intent, "confidence": confidence}
    return Message(data={"text": text, "intent": top, "intent_ranking": [top]})


def test_unsure_message_that_matches_an_faq_entry_is_routed(router):
    message = _parsed("how many days till my parcel shows up", "track_order", 0.2)
    router.process([message])
    assert message.get("intent")["name"] == "ask_faq"
    assert message.get("intent")["confidence"] >= 0.8
    assert message.get("intent_ranking")[0]["name"] == "ask_faq"
    faq = [e for e in message.get("entities") if e["entity"] == "faq_key"]
    assert faq and faq[0]["value"] == "shipping-times"


def test_confident_intents_and_unrelated_messages_are_left_alone(router):
    confident = _parsed("how many days till my parcel shows up", "track_order", 0.9)
    unrelated = _parsed("what is the capital of australia", "out_of_scope", 0.3)
    router.process([confident, unrelated])
    assert confident.get("intent")["name"] == "track_order"
    assert unrelated.get("intent")["name"] == "out_of_scope"
    assert not unrelated.get("entities")


def test_no_shop_database_routes_nothing(tmp_path):
    search = FaqSearch(str(tmp_path / "missing.db"))
    router = FaqRouter(FaqRouter.get_default_config(), search)
    message = _parsed("how long does delivery take", "nlu_fallback", 0.1)
    router.process([message])
    assert message.get("intent")["name"] == "nlu_fallback"
    assert search.get() is None
    assert not (tmp_path / "missing.db").exists()
