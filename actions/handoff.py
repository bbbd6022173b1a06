"""Human handoff and complaints: record the request for the support console, say what
happens next; when no agent is online, take a message and a contact email as a ticket.

Agent presence: the support console touches ``<data_dir>/agents_online`` while a staff
member is signed in; a file touched within :data:`PRESENCE_TTL_S` seconds means an
agent is available. The console finds new requests in the ``handoffs`` table and in the
tracker (slot ``handoff_id``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import actor, clean_text, extract_email, say, verified_customer_id
from actions.context import get_context
from actions.forms import StoppableFormValidation

logger = logging.getLogger(__name__)

PRESENCE_FILE = "agents_online"
PRESENCE_TTL_S = 120.0


def agent_available(settings: Any, now: float | None = None) -> bool:
    """Whether a support agent is signed in to the console right now."""
    path = Path(settings.data_dir) / PRESENCE_FILE
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError:
        return False
    return age <= PRESENCE_TTL_S


def handoff_reason(tracker: Tracker) -> str:
    """Why the shopper wants a person (the console shows it)."""
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    if intent == "complaint":
        return "complaint"
    if int(tracker.get_slot("verification_failures") or 0) >= int(
        get_context().settings.max_verification_attempts
    ):
        return "verification_failed"
    return "asked_for_human"


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
        from knowledge.operations import OperationError, record_handoff

        ctx = get_context()
        reason = handoff_reason(tracker)
        events: list[EventType] = []
        try:
            row = record_handoff(
                ctx.store,
                tracker.sender_id,
                reason,
                contact_email=tracker.get_slot("customer_email"),
                message=last_shopper_message(tracker),
                actor=actor(tracker),
            )
            events.append(SlotSet("handoff_id", str(row["id"])))
        except OperationError as err:
            logger.warning("handoff not recorded: %s", err)
        if reason == "complaint":
            dispatcher.utter_message(
                text="I'm sorry to hear that, and I want to make sure it's put right."
            )
        if agent_available(ctx.settings):
            await say(dispatcher, "handoff", {})
            return events + [SlotSet("agent_available", True)]
        dispatcher.utter_message(
            text="Our team isn't online right now, so I'll take a message and they'll "
            "answer you by email, usually within one business day."
        )
        email = tracker.get_slot("customer_email")
        events.append(SlotSet("agent_available", False))
        if email:
            events.append(SlotSet("ticket_email", email))
        return events


class ValidateTicketForm(StoppableFormValidation):
    """The message must have words; the email must look like one."""

    def name(self) -> str:
        return "validate_ticket_form"

    async def validate_ticket_message(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """A message with some words in it."""
        text = clean_text(slot_value, limit=4000)
        if not any(ch.isalpha() for ch in text):
            dispatcher.utter_message(text="Could you describe the problem in a few words?")
            return {"ticket_message": None}
        return {"ticket_message": text}

    async def validate_ticket_email(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """One email address."""
        email = extract_email(slot_value)
        if email is None:
            dispatcher.utter_message(
                text="That doesn't look like an email address. Could you type it again?"
            )
        return {"ticket_email": email}


class ActionAskTicketMessage(Action):
    """Ask for the message to the team."""

    def name(self) -> str:
        return "action_ask_ticket_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text="What should I tell the team? Please describe the problem.")
        return []


class ActionAskTicketEmail(Action):
    """Ask where the team should answer."""

    def name(self) -> str:
        return "action_ask_ticket_email"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text="Which email address should they answer to?")
        return []


class ActionCreateTicket(Action):
    """Open the ticket through ``knowledge.operations.open_ticket``."""

    def name(self) -> str:
        return "action_create_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        from knowledge.operations import OperationError, open_ticket

        reset = [SlotSet("ticket_message", None), SlotSet("form_outcome", None)]
        message, email = tracker.get_slot("ticket_message"), tracker.get_slot("ticket_email")
        if not message or not email:
            return reset
        reason = tracker.get_slot("handoff_id") and "handoff" or "message"
        try:
            ticket = open_ticket(
                get_context().store,
                subject=f"Chat {reason}: {message[:80]}",
                body=f"{message}\n\nContact: {email}",
                actor=actor(tracker),
                sender_id=tracker.sender_id,
                customer_id=verified_customer_id(tracker),
                order_number=tracker.get_slot("order_number")
                if verified_customer_id(tracker)
                else None,
            )
        except OperationError as err:
            logger.warning("ticket not opened: %s", err)
            dispatcher.utter_message(
                text="Sorry, I couldn't save your message. Please email our support team."
            )
            return reset
        dispatcher.utter_message(
            text=f"Thanks! I've passed your message on (ticket #{ticket['id']}). "
            f"The team will answer at {email}."
        )
        return reset
