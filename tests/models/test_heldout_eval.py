"""The held-out scorer on a stand-in classifier (the real model runs in `shopbot bench heldout`)."""

from __future__ import annotations

from models.heldout_eval import Example, load, score


def test_score_counts_topics_fallbacks_and_out_of_scope():
    in_scope = [
        Example("where is it", "track_order", "track_order"),
        Example("wheres my parcel", "track_order", "track_order"),
        Example("cancel pls", "cancel_order", "cancel_order"),
        Example("hi", "greet", "greet"),
    ]
    oos = [Example("weather?", "weather", "out_of_scope"), Example("joke", "fun", "out_of_scope")]
    answers = {
        "where is it": "track_order",
        "wheres my parcel": "nlu_fallback",
        "cancel pls": "cancel_order",
        "hi": "greet",
        "weather?": "out_of_scope",
        "joke": "ask_faq",
    }

    def predict(texts):
        return [(answers[t], 0.9) for t in texts]

    result = score(predict, in_scope, oos)
    assert result["topic_accuracy_macro"] == 0.75  # (0.5 + 1.0) / 2 request kinds
    assert result["conversational_accuracy_macro"] == 1.0
    assert result["fallback_rate"] == 0.25
    assert result["oos_recall"] == 0.5
    assert [m["text"] for m in result["misses"]] == ["wheres my parcel"]


def test_the_material_loads():
    in_scope, oos = load()
    assert len(in_scope) >= 600 and len(oos) >= 300
    assert all(e.intent == "out_of_scope" for e in oos)
