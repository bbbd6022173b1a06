"""Small talk and "what can I do then?" actions, and unprompted praise stored."""

from __future__ import annotations

from actions.feedback import ActionRecordFeedback
from actions.smalltalk import ActionAlternatives, ActionSmallTalk, last_bot_text
from knowledge.journeys.feedback import PRAISED, RATING_QUESTION
from tests.actions.conftest import make_tracker, run, texts

REFUSAL = (
    "Sorry, I can't cancel order SB-100001: The order has already shipped. "
    "Once it has arrived you can return or exchange the items."
)


def _history(bot_text: str, text: str, intent: str) -> list[dict[str, object]]:
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []}
    return [
        {"event": "user", "text": "cancel SB-100001", "parse_data": {}},
        {"event": "bot", "text": bot_text},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": latest},
    ]


def test_last_bot_text_reads_the_previous_turn():
    tracker = make_tracker(
        "so what now", "ask_alternatives", events=_history(REFUSAL, "so what now", "x")
    )
    assert last_bot_text(tracker) == REFUSAL


def test_what_now_after_a_refusal_names_its_options(shop):
    events = _history(REFUSAL, "so what now", "ask_alternatives")
    dispatcher, _ = run(ActionAlternatives(), make_tracker("so what now", events=events))
    assert "return or exchange" in texts(dispatcher)
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/human_handoff"


def test_small_talk_at_the_rating_question_asks_it_again(shop):
    events = _history(RATING_QUESTION, "is my rating public?", "small_talk")
    dispatcher, _ = run(ActionSmallTalk(), make_tracker("is my rating public?", events=events))
    assert RATING_QUESTION in texts(dispatcher)


def test_unprompted_praise_is_thanked_and_no_rating_asked(shop):
    text = "the coat is great and came quickly, well done"
    dispatcher, _ = run(ActionRecordFeedback(), make_tracker(text, "give_feedback"))
    assert PRAISED in texts(dispatcher) and RATING_QUESTION not in texts(dispatcher)
    assert shop.store.feedback() == []


def test_an_unsure_question_about_the_rating_is_answered_and_the_question_resumes(shop):
    from actions.common import ActionDefaultAskAffirmation

    text = "hmm, will other people see my rating?"
    events = _history(RATING_QUESTION, text, "nlu_fallback")
    dispatcher, _ = run(ActionDefaultAskAffirmation(), make_tracker(text, events=events))
    assert RATING_QUESTION in texts(dispatcher) and "never published" in texts(dispatcher)


def test_a_rating_after_the_question_was_asked_again_is_stored_in_the_second_stage(shop):
    from actions.common import ActionDefaultAskRephrase

    aside = f"Your rating stays with our team. {RATING_QUESTION}"
    events = _history(aside, "ok then 2", "nlu_fallback")
    dispatcher, _ = run(ActionDefaultAskRephrase(), make_tracker("ok then 2", events=events))
    assert "2/5" in texts(dispatcher)
    assert shop.store.feedback("shopper-1")[0]["rating"] == 2


def test_a_rating_reaching_the_last_fallback_at_the_rating_question_is_stored(shop):
    from actions.common import ActionDefaultFallback

    aside = f"Your rating stays with our team. {RATING_QUESTION}"
    events = _history(aside, "ok then 4", "nlu_fallback")
    dispatcher, _ = run(ActionDefaultFallback(), make_tracker("ok then 4", events=events))
    assert "4/5" in texts(dispatcher)
    assert shop.store.feedback("shopper-1")[0]["rating"] == 4
