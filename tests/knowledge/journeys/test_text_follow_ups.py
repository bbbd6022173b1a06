"""Reading follow-ups and general questions (knowledge/journeys/text.py, issue 12)."""

from __future__ import annotations

import pytest

from knowledge.journeys.text import context_question, is_follow_up, is_general_question


@pytest.mark.parametrize(
    "text",
    [
        "and apple pay?",
        "what about norway",
        "ok and how long does that take",
        "is it still valid after a year",
        "google pay too?",
        "weekends?",
    ],
)
def test_follow_ups(text):
    assert is_follow_up(text)


@pytest.mark.parametrize(
    "text", ["tell me a joke", "how much does shipping cost", "/ask_faq", "", "!!!"]
)
def test_not_follow_ups(text):
    assert not is_follow_up(text)


def test_context_question_drops_order_numbers_and_emails():
    assert context_question("where is SB-204518, jo@example.org?") == "where is , ?"
    assert context_question("/ask_faq{}") == ""


@pytest.mark.parametrize(
    "text",
    [
        "do you take klarna?",
        "if the coat is too small can it go back?",
        "btw are returns free",
        "which ways of paying do you offer",
    ],
)
def test_general_questions(text):
    assert is_general_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "can i return my coat?",
        "i want to send it back",
        "please refund the boots",
        "return these",
        "/request_refund",
    ],
)
def test_requests_are_not_general_questions(text):
    assert not is_general_question(text)
