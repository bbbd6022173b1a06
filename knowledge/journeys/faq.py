"""Policy and account questions from the FAQ index, and payment troubleshooting.

Below the calibrated confidence threshold the assistant says it is not sure, shows the
closest topics as buttons and offers a person. A follow-up of an earlier answer ("and
klarna?") comes with the earlier question (entity ``faq_context``) and is searched with it. The answer's wording is the generator's
``faq_answer`` task (the stored policy text always verbatim); this journey only gives it
the facts: ``answer`` and the entry's question as ``topic``.
"""

from __future__ import annotations

import logging
from typing import Any

from knowledge.journeys.common import human_button
from knowledge.journeys.inputs import Shop, Turn
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import has_words

logger = logging.getLogger(__name__)

PAYMENT_QUERY = "my payment failed or was declined"
#: Entity with the previous question of a follow-up (set by ``models.nlu.faq_router``).
CONTEXT_ENTITY = "faq_context"
NOT_SURE = (
    "I'm not sure I have the right answer. Did you mean one of these? "
    "Or I can pass you to a colleague."
)
PAYMENT_PERSON = "If that doesn't solve it, a colleague can look into the payment with you."


def answer_entry(entry: dict[str, Any], buttons: list[dict[str, str]] | None = None) -> Reply:
    """One FAQ answer: the stored policy text, phrased by the ``faq_answer`` task."""
    return Reply.phrase(
        "faq_answer", {"topic": entry["question"], "answer": entry["answer"]}, buttons
    )


def topic_buttons(hits: list[Any], limit: int = 3) -> list[dict[str, str]]:
    """ "Did you mean" buttons for the closest FAQ topics."""
    return [
        {"title": h.row["question"], "payload": f'/ask_faq{{"faq_key":"{h.row["key"]}"}}'}
        for h in hits[:limit]
    ]


def answer(shop: Shop, turn: Turn) -> Reply:
    """Answer from the FAQ (a topic button's key, else a confident search), or say unsure."""
    key = turn.entity("faq_key")
    entry = shop.store.get_faq(key) if key else None
    if entry is not None:
        return answer_entry(entry)
    context = turn.entity(CONTEXT_ENTITY)
    if not has_words(turn.text):
        result = None
    elif context:
        # A follow-up ("and on sundays?") read with the question it continues; below the
        # threshold it is "not sure", never the plain search's unrelated entry.
        result = shop.search.search_faq_in_context(turn.text, context, k=3)
    else:
        result = shop.search.search_faq(turn.text, k=3)
    if result is not None and result.confident and result.best is not None:
        return answer_entry(result.best.row)
    hits = result.hits if result is not None else []
    if hits:
        return Reply.say(NOT_SURE, topic_buttons(hits) + [human_button()])
    return Reply.phrase("dont_know", {}, [human_button()])


def payment_help(shop: Shop, turn: Turn) -> Reply:
    """Payment problems: the FAQ's troubleshooting, then the offer of a person."""
    question = turn.text if has_words(turn.text) else PAYMENT_QUERY
    result = shop.search.search_faq(question, k=3)
    best = result.best if result.confident else None
    if best is None or best.row.get("category") != "payments":
        payments = [
            h
            for h in shop.search.search_faq(PAYMENT_QUERY, k=3).hits
            if h.row.get("category") == "payments"
        ]
        best = payments[0] if payments else best
    reply = answer_entry(best.row) if best is not None else Reply.nothing()
    return reply.then(Reply.say(PAYMENT_PERSON, [human_button()]))
