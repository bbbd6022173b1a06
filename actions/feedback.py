"""Feedback: adapters for ``knowledge.journeys.feedback`` (thumbs and the 1-5 rating)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from knowledge.journeys import feedback

logger = logging.getLogger(__name__)


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
        reply = feedback.record(
            adapter.shop(),
            adapter.shopper(tracker),
            adapter.turn(tracker),
            rated_message_id(tracker),
        )
        return await adapter.send(dispatcher, reply)


class ActionAskRating(Action):
    """At the end of the chat, ask for a 1-5 rating (once per conversation)."""

    def name(self) -> str:
        return "action_ask_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await adapter.send(
            dispatcher, feedback.ask_rating(adapter.shop(), adapter.shopper(tracker))
        )
