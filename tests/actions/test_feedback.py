"""Feedback: thumbs on an answer and the 1-5 rating, stored."""

from __future__ import annotations

from actions.feedback import ActionAskRating, ActionRecordFeedback
from knowledge.journeys.feedback import feedback_value, rating_value
from tests.actions.conftest import make_tracker, run, texts


def test_thumbs_down_is_stored_with_the_rated_message(shop):
    tracker = make_tracker(
        '/give_feedback{"feedback_value":"down"}',
        "give_feedback",
        entities={"feedback_value": "down"},
        metadata={"message_id": "m-42"},
    )
    dispatcher, _ = run(ActionRecordFeedback(), tracker)
    row = shop.store.feedback("shopper-1")[0]
    assert row["value"] == "down" and row["message_id"] == "m-42"
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/human_handoff"


def test_a_goodbye_is_not_followed_by_a_rating_request_and_a_rating_is_stored(shop):
    ask, events = run(ActionAskRating(), make_tracker("thanks bye", "goodbye"))
    assert ask.messages == [] and events == []
    dispatcher, _ = run(
        ActionRecordFeedback(), make_tracker("", "give_feedback", entities={"rating": "4"})
    )
    assert "4/5" in texts(dispatcher)
    assert shop.store.feedback("shopper-1")[0]["rating"] == 4


def test_frustration_offers_a_person(shop):
    dispatcher, _ = run(ActionRecordFeedback(), make_tracker("this is useless", "give_feedback"))
    assert "person" in texts(dispatcher)
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/human_handoff"]


def test_feedback_without_a_value_asks_for_a_rating(shop):
    dispatcher, _ = run(
        ActionRecordFeedback(), make_tracker("I want to give feedback", "give_feedback")
    )
    assert len(dispatcher.messages[0]["buttons"]) == 5
    assert shop.store.feedback() == []


def test_value_parsing():
    assert feedback_value("thumbs up") == "up" and feedback_value("not helpful") == "down"
    assert feedback_value("banana") is None
    assert rating_value("five stars") == 5 and rating_value("4") == 4 and rating_value("9") is None
