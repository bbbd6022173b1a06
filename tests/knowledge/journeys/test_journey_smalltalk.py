"""Small talk, questions about the chat, and "what can I do then?" after a refusal."""

from __future__ import annotations

from knowledge.journeys.feedback import RATING_QUESTION, praised
from knowledge.journeys.smalltalk import (
    PRIVACY,
    SMALL_TALK,
    alternatives,
    refusal_options,
    small_talk,
)

REFUSAL = (
    "Sorry, I can't cancel order SB-100001: The order has already shipped, so I can't "
    "cancel it any more. Once it has arrived you can return or exchange the items."
)


def _text(reply) -> str:
    return " ".join(m.text for m in reply.messages)


def test_a_compliment_gets_a_brief_friendly_answer():
    reply = small_talk("you're a clever little bot")
    assert _text(reply) == SMALL_TALK


def test_a_question_about_the_chat_is_answered_and_the_rating_question_resumes():
    reply = small_talk("hold on, does anyone else read my rating?", rating_asked=True)
    assert _text(reply).startswith(PRIVACY) and RATING_QUESTION in _text(reply)
    assert len(reply.messages[0].buttons) == 5


def test_small_talk_at_the_rating_question_asks_it_again():
    reply = small_talk("ha, nice one", rating_asked=True)
    assert RATING_QUESTION in _text(reply) and "What can I do" not in _text(reply)


def test_the_options_a_refusal_named_are_repeated_with_a_person():
    assert refusal_options(REFUSAL) == ["Once it has arrived you can return or exchange the items."]
    reply = alternatives(REFUSAL)
    assert "return or exchange" in _text(reply)
    assert reply.messages[0].buttons[0]["payload"] == "/human_handoff"


def test_without_a_refusal_the_help_menu_and_a_person():
    assert refusal_options("Your order SB-100001 is on its way.") == []
    reply = alternatives("Your order SB-100001 is on its way.")
    assert "track" in _text(reply) and reply.messages[0].buttons


def test_praise_is_told_apart_from_a_request_to_review():
    assert praised("the boots are perfect and arrived fast, well done")
    assert not praised("i loved the boots, where can i review them?")
    assert not praised("this is useless")
