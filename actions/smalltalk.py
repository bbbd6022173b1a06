"""Small talk and "what can I do now?": adapters for ``knowledge.journeys.smalltalk``."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from actions.common import _rating_asked
from knowledge.journeys import smalltalk


def last_bot_text(tracker: Tracker) -> str:
    """The text of the assistant's last message(s) of the previous turn (all of its
    messages since the shopper's message before the latest one)."""
    said: list[str] = []
    users = 0
    for event in reversed(list(tracker.events)):
        kind = event.get("event")
        if kind == "user":
            users += 1
            if users == 2:
                break
        elif kind == "bot" and users == 1 and event.get("text"):
            said.append(str(event["text"]))
    return " ".join(reversed(said))


class ActionSmallTalk(Action):
    """Answer a remark to the assistant briefly (and ask the rating question again)."""

    def name(self) -> str:
        return "action_small_talk"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        turn = adapter.turn(tracker)
        return await adapter.send(
            dispatcher, smalltalk.small_talk(turn.text, _rating_asked(tracker))
        )


class ActionAlternatives(Action):
    """ "What can I do then?": the options the last refusal named, or the help menu."""

    def name(self) -> str:
        return "action_alternatives"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await adapter.send(dispatcher, smalltalk.alternatives(last_bot_text(tracker)))
