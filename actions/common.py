"""Actions every journey relies on: session start, starting a journey, stopping a form, the
fallback prompts.

Adapters for ``knowledge.journeys.conversation`` and ``knowledge.journeys.identity``
(the signed customer token of ``action_session_start``); nothing here decides or words
anything. Phrasing and the template fallback run only in ``actions.adapter``.
"""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ActiveLoop,
    EventType,
    FollowupAction,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from actions.context import get_context
from knowledge.identity import CustomerTokenKeys
from knowledge.journeys import conversation, feedback, identity, products, smalltalk

logger = logging.getLogger(__name__)

ACTION_LISTEN = "action_listen"


class ActionSessionStart(Action):
    """Start a session: carry identity over and accept a signed customer token from the site."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        kept = conversation.carried_slots(adapter.turn(tracker))
        token = identity.session_token(tracker.get_slot("session_started_metadata"))
        keys = CustomerTokenKeys.from_settings(get_context().settings)
        proven = identity.from_token(adapter.shop(), token, keys).slots if token else {}
        slots: list[EventType] = [SlotSet(k, v) for k, v in {**kept, **proven}.items()]
        return [SessionStarted(), *slots, ActionExecuted("action_listen")]


class ActionResumeSession(ActionSessionStart):
    """Start the session that failed to start (action server was down), then replay the message.

    Predicted by ``models.dialogue.recovery_policy.RecoveryPolicy`` on the first message
    after an outage. Unlike ``action_session_start`` it runs inside the turn, so the
    shopper's message is logged again after the new session's ``action_listen`` and Rasa
    answers it as usual (the replay carries ``metadata.replayed`` for the console).
    """

    def name(self) -> str:
        return "action_resume_session"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        user = next((e for e in reversed(tracker.events) if e.get("event") == "user"), None)
        if user is None:
            return events
        metadata = {**(user.get("metadata") or {}), "replayed": True}
        keys = ("text", "parse_data", "input_channel", "message_id")
        replay = {"event": "user", "timestamp": None, **{k: user.get(k) for k in keys}}
        replay["parse_data"] = replay["parse_data"] or tracker.latest_message
        events.append({**replay, "metadata": metadata})
        logger.info("conversation %s: session started late, message replayed", tracker.sender_id)
        return events


class ActionStopForm(Action):
    """Leave the active form cleanly: nothing changed, its slots emptied."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return [ActiveLoop(None), *await adapter.send(dispatcher, conversation.stop_form())]


class ActionStartJourney(Action):
    """Start the journey a request names (or go on with the one under way); leave a form."""

    def name(self) -> str:
        return "action_start_journey"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = conversation.start_journey(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker), _earlier(tracker)
        )
        return [
            ActiveLoop(None),
            *adapter.changes_only(tracker, await adapter.send(dispatcher, reply)),
        ]


def _earlier(tracker: Tracker) -> str:
    """The shopper's message before the latest one (typed, not a button)."""
    said = [
        str(e.get("text") or "")
        for e in tracker.events
        if e.get("event") == "user" and not str(e.get("text") or "").startswith("/")
    ]
    return said[-2] if len(said) >= 2 else ""


class ActionDefaultAskAffirmation(Action):
    """First stage of the fallback: "did you mean ...?" in words, not intent names."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        turn = adapter.turn(tracker)
        asked = _rating_asked(tracker)
        rated = feedback.rating_answer(adapter.shop(), adapter.shopper(tracker), turn, asked)
        # "is my rating public?" at the rating question: answered, the question again
        aside = smalltalk.rating_aside(turn.text) if asked and not rated else None
        answered = rated or aside
        pointed = (
            None
            if answered
            else products.unsure_answer(adapter.shop(), adapter.shopper(tracker), turn)
        )
        reply = answered or pointed or conversation.ask_affirmation(turn)
        events = await adapter.send(dispatcher, reply)
        if pointed is not None:
            # Answered ("the cheaper one", "only Tempora"): the fallback ends here. Left
            # running, the next message ("in black?") would end it by rewinding this answer
            # and its slots. The turn ends here too: no policy has a next step after the
            # fallback left like this (Rasa's core fallback would give up after the answer).
            events += [ActiveLoop(None), FollowupAction(ACTION_LISTEN)]
        return events


def _rating_asked(tracker: Tracker) -> bool:
    """Whether the assistant's last message asked for the 1-5 rating."""
    for event in reversed(list(tracker.events)):
        if event.get("event") == "bot":
            return feedback.RATING_QUESTION in str(event.get("text") or "")
    return False


class ActionDefaultAskRephrase(Action):
    """Second stage of the fallback: ask the shopper to say it differently."""

    def name(self) -> str:
        return "action_default_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # Still at the rating question (asked again after "is my rating public?"): a
        # rating given now ("ok then 2") is stored rather than asked to be rephrased.
        turn = adapter.turn(tracker)
        asked = _rating_asked(tracker)
        rated = feedback.rating_answer(adapter.shop(), adapter.shopper(tracker), turn, asked)
        aside = smalltalk.rating_aside(turn.text) if asked and not rated else None
        return await adapter.send(dispatcher, rated or aside or conversation.ask_rephrase())


class ActionDefaultFallback(Action):
    """Last resort: say what the assistant can do, offer a person and forget the message."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        turn = adapter.turn(tracker)
        rated = feedback.rating_answer(
            adapter.shop(), adapter.shopper(tracker), turn, _rating_asked(tracker)
        )
        reply = rated or conversation.give_up()
        return [*await adapter.send(dispatcher, reply), UserUtteranceReverted()]
