"""Feedback: thumbs up/down on any answer and a 1-5 rating at the end, stored in the shop
database through ``knowledge.operations.record_feedback``.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import human_button, latest_entity
from actions.context import get_context

logger = logging.getLogger(__name__)

UP_WORDS = ("up", "good", "great", "helpful", "yes", "positive", "thumbs up", "👍")
DOWN_WORDS = ("down", "bad", "unhelpful", "not helpful", "no", "negative", "thumbs down", "👎")


def feedback_value(raw: str | None) -> str | None:
    """``up``/``down`` from an entity value ("thumbs up", "bad"...), else None."""
    if not raw:
        return None
    text = raw.strip().lower()
    if text in DOWN_WORDS or "down" in text or "not" in text:
        return "down"
    if text in UP_WORDS or "up" in text:
        return "up"
    return None


def rating_value(raw: str | None) -> int | None:
    """1-5 from an entity value ("4", "4 stars", "five"), else None."""
    if not raw:
        return None
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
    text = raw.strip().lower()
    for word, n in words.items():
        if word in text:
            return n
    digits = [int(ch) for ch in text if ch.isdigit()]
    return digits[0] if len(digits) == 1 and 1 <= digits[0] <= 5 else None


def rated_message_id(tracker: Tracker) -> str | None:
    """Id of the bot message being rated: the widget's ``message_id`` metadata, else the
    timestamp of the last bot message."""
    metadata: Any = (tracker.latest_message or {}).get("metadata") or {}
    if isinstance(metadata, dict) and metadata.get("message_id"):
        return str(metadata["message_id"])[:200]
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return f"bot@{event.get('timestamp')}"
    return None


class ActionRecordFeedback(Action):
    """Store a thumbs up/down or a 1-5 rating."""

    def name(self) -> str:
        return "action_record_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        from knowledge.operations import OperationError, record_feedback

        store = get_context().store
        rating = rating_value(latest_entity(tracker, "rating"))
        thumbs = feedback_value(latest_entity(tracker, "feedback_value"))
        try:
            if rating is not None:
                record_feedback(store, tracker.sender_id, "rating", rating=rating)
                dispatcher.utter_message(text=f"Thanks for rating this chat {rating}/5!")
                return []
            if thumbs is not None:
                record_feedback(
                    store, tracker.sender_id, thumbs, message_id=rated_message_id(tracker)
                )
                if thumbs == "up":
                    dispatcher.utter_message(text="Thanks for the feedback!")
                else:
                    dispatcher.utter_message(
                        text="Thanks for telling me, and sorry that wasn't helpful. "
                        "Would you like to talk to a person?",
                        buttons=[human_button()],
                    )
                return []
        except OperationError as err:
            logger.warning("feedback not recorded: %s", err)
        dispatcher.utter_message(
            text="How would you rate this chat from 1 (bad) to 5 (great)?", buttons=rating_buttons()
        )
        return []


def rating_buttons() -> list[dict[str, str]]:
    """Buttons 1..5 that send the rating."""
    return [{"title": str(n), "payload": f'/give_feedback{{"rating":"{n}"}}'} for n in range(1, 6)]


class ActionAskRating(Action):
    """At the end of the chat, ask for a 1-5 rating (once per conversation)."""

    def name(self) -> str:
        return "action_ask_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            already = any(
                r["value"] == "rating" for r in get_context().store.feedback(tracker.sender_id)
            )
        except Exception:  # noqa: BLE001 - asking again is harmless
            already = False
        if not already:
            dispatcher.utter_message(
                text="Before you go: how would you rate this chat from 1 to 5?",
                buttons=rating_buttons(),
            )
        return []
