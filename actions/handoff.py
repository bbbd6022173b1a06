"""Human handoff, complaints and tickets: adapters for ``knowledge.journeys.handoff``.

The console finds new requests in the ``handoffs`` table and in the tracker (slot
``handoff_id``).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from actions.context import get_context
from actions.forms import StoppableFormValidation
from knowledge.journeys import feedback, handoff
from knowledge.journeys.text import clean_text

logger = logging.getLogger(__name__)


def last_shopper_message(tracker: Tracker) -> str | None:
    """The last real shopper message (not a button payload), for the agent."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            text = clean_text(event.get("text"), limit=1000)
            if text and not text.startswith("/"):
                return text
    return None


class ActionHandoff(Action):
    """Record a handoff request and tell the shopper what happens next."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        online = handoff.agent_available(get_context().settings.data_dir)
        # "worst experience ever, I'm giving you one star": the rating is kept too
        feedback.rating_in_words(adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker))
        reply = handoff.handoff(
            adapter.shop(),
            adapter.shopper(tracker),
            adapter.turn(tracker),
            last_shopper_message(tracker),
            online,
        )
        return await adapter.send(dispatcher, reply)


class ValidateTicketForm(StoppableFormValidation):
    """The message must have words; the email must look like one."""

    def name(self) -> str:
        return "validate_ticket_form"

    async def validate_ticket_message(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A message with some words in it."""
        return await adapter.say(dispatcher, handoff.ticket_message(value))

    async def validate_ticket_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One email address."""
        return await adapter.say(dispatcher, handoff.ticket_email(value))


class ActionAskTicketMessage(Action):
    """Ask for the message to the team."""

    def name(self) -> str:
        return "action_ask_ticket_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await adapter.send(dispatcher, handoff.ask_ticket_message())


class ActionAskTicketEmail(Action):
    """Ask where the team should answer."""

    def name(self) -> str:
        return "action_ask_ticket_email"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await adapter.send(dispatcher, handoff.ask_ticket_email())


class ActionCreateTicket(Action):
    """Open the ticket (``knowledge.journeys.handoff.create_ticket``)."""

    def name(self) -> str:
        return "action_create_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = handoff.create_ticket(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)
