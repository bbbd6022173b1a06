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


# -- follow-ups of an FAQ answer (issue 12) ------------------------------------------------
def _after(question: str, action: str = "action_answer_faq", entities=None):
    """A tracker whose last turn answered ``question`` with ``action``."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    parse = {"intent": {"name": "ask_faq", "confidence": 0.9}, "entities": entities or []}
    return DialogueStateTracker.from_events(
        "shopper",
        [
            ActionExecuted("action_listen"),
            UserUttered(question, parse_data=parse),
            ActionExecuted(action),
            BotUttered("an answer"),
            ActionExecuted("action_listen"),
        ],
    )


def _entities(message: Message) -> dict[str, str]:
    return {e["entity"]: e["value"] for e in message.get("entities") or []}


def test_elliptical_follow_up_is_read_with_the_previous_question(router):
    message = _parsed("and to norway?", "out_of_scope", 0.7)
    router.process([message], tracker=_after("how long does shipping to france take"))
    assert message.get("intent")["name"] == "ask_faq"
    found = _entities(message)
    assert found["faq_context"] == "how long does shipping to france take"
    assert found.get("faq_key") in (None, "international-shipping")


def test_follow_up_of_a_refund_status_finds_the_refund_entry(router):
    message = _parsed("and how long until the money is back", "nlu_fallback", 0.3)
    tracker = _after(
        "has my refund for SB-204518 been paid? jo@example.org", "action_refund_status"
    )
    router.process([message], tracker=tracker)
    assert message.get("intent")["name"] == "ask_faq"
    found = _entities(message)
    assert found["faq_key"] == "refund-time"
    assert "SB-204518" not in found["faq_context"] and "@" not in found["faq_context"]


@pytest.mark.parametrize("text", ["tell me a joke", "who won the football yesterday"])
def test_unrelated_message_after_an_faq_answer_stays_out_of_scope(router, text):
    message = _parsed(text, "out_of_scope", 0.7)
    router.process([message], tracker=_after("do you take paypal"))
    assert message.get("intent")["name"] == "out_of_scope"
    assert not message.get("entities")


def test_follow_ups_only_after_an_faq_answer(router):
    message = _parsed("and to norway?", "out_of_scope", 0.7)
    router.process([message], tracker=_after("how long does shipping take", "action_track_order"))
    assert message.get("intent")["name"] == "out_of_scope"


def test_an_answer_with_a_rating_is_not_a_follow_up(router):
    message = _parsed("ok then 2", "nlu_fallback", 0.3)
    message.set("entities", [{"entity": "rating", "value": "2"}])
    router.process([message], tracker=_after("leave a review", "action_record_feedback"))
    assert message.get("intent")["name"] == "nlu_fallback"


def test_previous_question_chains_follow_ups():
    from models.nlu.faq_router import previous_question

    earlier = [{"entity": "faq_context", "value": "do you take paypal"}]
    tracker = _after("and klarna?", entities=earlier)
    assert previous_question(tracker) == "do you take paypal and klarna?"
    assert previous_question(None) == ""
    assert previous_question(_after("/ask_faq")) == ""


def test_unsure_request_intent_of_a_general_question_goes_to_the_faq(router):
    ranking = [
        {"name": "ask_payment_methods", "confidence": 0.6},
        {"name": "ask_faq", "confidence": 0.3},
    ]
    question = Message(
        data={
            "text": "which payment methods do you accept?",
            "intent": ranking[0],
            "intent_ranking": ranking,
        }
    )
    own = Message(
        data={
            "text": "which payment methods are saved on my account?",
            "intent": ranking[0],
            "intent_ranking": ranking,
        }
    )
    router.process([question, own])
    assert question.get("intent")["name"] == "ask_faq"
    assert _entities(question)["faq_key"] == "payment-methods"
    assert own.get("intent")["name"] == "ask_payment_methods"


def test_unsure_faq_question_the_faq_cannot_answer_gives_way_to_the_request(router):
    ranking = [
        {"name": "ask_faq", "confidence": 0.45},
        {"name": "product_search", "confidence": 0.35},
        {"name": "out_of_scope", "confidence": 0.1},
    ]
    message = Message(
        data={"text": "any in navy instead?", "intent": ranking[0], "intent_ranking": ranking}
    )
    router.process([message])
    assert message.get("intent")["name"] == "product_search"
    assert message.get("intent")["confidence"] == pytest.approx(0.35 / 0.55)
    assert message.get("intent_ranking")[1] == {"name": "ask_faq", "confidence": 0.45}


def test_other_unsure_intent_after_an_faq_answer_needs_a_confident_match(router):
    related = _parsed("and klarna?", "product_search", 0.5)
    router.process([related], tracker=_after("do you take paypal"))
    assert related.get("intent")["name"] == "ask_faq"
    assert "faq_key" in _entities(related)
    unrelated = _parsed("in red?", "product_search", 0.5)
    router.process([unrelated], tracker=_after("do you take paypal"))
    assert unrelated.get("intent")["name"] == "product_search"


def test_no_follow_ups_while_a_form_is_active():
    from rasa.shared.core.events import ActiveLoop

    from models.nlu.faq_router import previous_question

    tracker = _after("do you take paypal")
    tracker.update(ActiveLoop("return_form"))
    assert previous_question(tracker) == ""
