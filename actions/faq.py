"""Policy and account questions from the FAQ index, and payment troubleshooting.

Below the calibrated confidence threshold the assistant says it is not sure, shows the
closest topics as buttons and offers a person.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import has_words, human_button, latest_entity, meta, phrase, user_text
from actions.context import get_context

logger = logging.getLogger(__name__)

PAYMENT_QUERY = "my payment failed or was declined"


async def answer_entry(
    dispatcher: CollectingDispatcher, entry: dict[str, Any], buttons: list[Any] | None = None
) -> None:
    """Say one FAQ answer (verbatim policy text behind a phrased lead-in)."""
    text = await phrase("faq_answer", {"topic": entry["question"], "answer": entry["answer"]})
    dispatcher.utter_message(text=text, buttons=buttons or [], **meta(text))


def topic_buttons(hits: list[Any], limit: int = 3) -> list[dict[str, str]]:
    """ "Did you mean" buttons for the closest FAQ topics."""
    return [
        {"title": h.row["question"], "payload": f'/ask_faq{{"faq_key":"{h.row["key"]}"}}'}
        for h in hits[:limit]
    ]


class ActionAnswerFaq(Action):
    """Answer from the FAQ, or say it is unsure and show the closest topics."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ctx = get_context()
        key = latest_entity(tracker, "faq_key")
        entry = ctx.store.get_faq(key) if key else None
        if entry is not None:
            await answer_entry(dispatcher, entry)
            return []
        question = user_text(tracker)
        result = ctx.search.search_faq(question, k=3) if has_words(question) else None
        if result is not None and result.confident and result.best is not None:
            await answer_entry(dispatcher, result.best.row)
            return []
        text = await phrase("dont_know", {})
        hits = result.hits if result is not None else []
        if hits:
            text = "I'm not sure I have the right answer. Did you mean one of these? Or I can pass you to a colleague."
        dispatcher.utter_message(
            text=text, buttons=topic_buttons(hits) + [human_button()], **meta(text)
        )
        return []


class ActionPaymentHelp(Action):
    """Payment problems: the FAQ's troubleshooting, then the offer of a person."""

    def name(self) -> str:
        return "action_payment_help"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ctx = get_context()
        question = user_text(tracker)
        result = ctx.search.search_faq(question if has_words(question) else PAYMENT_QUERY, k=3)
        best = result.best if result.confident else None
        if best is None or best.row.get("category") != "payments":
            payments = [
                h
                for h in ctx.search.search_faq(PAYMENT_QUERY, k=3).hits
                if h.row.get("category") == "payments"
            ]
            best = payments[0] if payments else best
        if best is not None:
            await answer_entry(dispatcher, best.row)
        dispatcher.utter_message(
            text="If that doesn't solve it, a colleague can look into the payment with you.",
            buttons=[human_button()],
        )
        return []
