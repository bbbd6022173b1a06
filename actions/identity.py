"""Identity: adapters for ``knowledge.journeys.identity`` (order number + email on the order;
where the shop allows it, email or full name + the postcode of the account).

The checks, the lockout across conversations and the wording live in the journey; a
store error raises through here so ``RecoveryPolicy`` undoes the step (an outage is never
counted as a failed verification). The signed customer token is checked in
``action_session_start`` (``common.py``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from actions.forms import StoppableFormValidation, journey_texts
from knowledge.journeys import identity
from knowledge.journeys.identity import BAD_EMAIL, BAD_ORDER_NUMBER, MISMATCH

logger = logging.getLogger(__name__)

__all__ = ["BAD_EMAIL", "BAD_ORDER_NUMBER", "MISMATCH", "ValidateIdentityForm"]


class ValidateIdentityForm(StoppableFormValidation):
    """Check that the email given is the one on the order (``identity.verify``)."""

    def name(self) -> str:
        return "validate_identity_form"

    def form_journey(self, tracker: Tracker) -> str | None:
        """The identity check runs for the journey under way (another request interrupts)."""
        journey = tracker.get_slot("journey")
        return str(journey) if journey else None

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Order number and email; or email (or full name) and postcode in the postcode
        check (``identity.required_slots``)."""
        mode = adapter.shop().policy.identity_postcode
        wanted = identity.required_slots(adapter.turn(tracker), mode)
        return domain_slots if wanted == ["order_number", "email"] else wanted

    async def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A well-formed order number (existence is not checked here); an email given
        first is kept, words are answered with where to find the number (or, where the
        shop allows it, the postcode check is offered)."""
        tried = tracker.get_slot("tried_email") if not tracker.get_slot("email") else None
        mode = adapter.shop().policy.identity_postcode
        reply = identity.read_order_number(
            value, tracker.get_slot("candidate_order"), tried, postcode_mode=mode
        )
        return await adapter.say(dispatcher, reply)

    async def extract_postcode(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer while the postcode is asked for."""
        return identity.answer_for("postcode", adapter.turn(tracker)).slots

    async def extract_full_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer while the full name (or email) is asked for."""
        return identity.answer_for("full_name", adapter.turn(tracker)).slots

    async def validate_postcode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A postcode, checked at once with the email or name given before
        (``identity.verify_postcode``): verified, or asked again after a mismatch."""
        reply = identity.read_postcode(value)
        if reply.slots.get("postcode"):
            turn = adapter.turn(tracker)
            turn = replace(turn, slots={**turn.slots, **reply.slots})
            reply = reply.then(
                identity.verify_postcode(adapter.shop(), adapter.shopper(tracker), turn)
            )
        return await adapter.say(dispatcher, reply)

    async def validate_full_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The full name on the account, or an email given instead."""
        return await adapter.say(dispatcher, identity.read_full_name(value))

    async def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One email address (an order number given instead is taken as the number)."""
        return await adapter.say(
            dispatcher, identity.read_email(value, tracker.get_slot("tried_email"))
        )

    async def after_validation(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> list[EventType]:
        """Once both are known, check ownership and count failures (``identity.verify``);
        a yes or no to "is it the order with ...?" the slot mapping missed is read here."""
        turn = adapter.turn(tracker)
        # email (or name) and postcode in one message (also the request itself: "I lost
        # my order number, ..."); one by one they are checked when the postcode is given
        # (validate_postcode)
        both = identity.verify_postcode_message(adapter.shop(), adapter.shopper(tracker), turn)
        if both.slots or turn.slot("identity_method") == identity.BY_POSTCODE:
            return await adapter.send(dispatcher, both)
        answered = identity.answers_candidate(turn, events)
        if (
            answered is not None
            and "order_number" in answered.slots
            and answered.slots["order_number"]
        ):
            # the yes names the order: check it with the email now
            turn = replace(turn, slots={**turn.slots, **answered.slots})
            checked = identity.verify(adapter.shop(), adapter.shopper(tracker), turn)
            return await adapter.send(dispatcher, answered.then(checked))
        if answered is not None:
            return await adapter.send(dispatcher, answered)
        reply = identity.verify(adapter.shop(), adapter.shopper(tracker), turn)
        return await adapter.send(dispatcher, reply)


class ActionAskPostcode(Action):
    """Ask for the postcode of the account's default address."""

    def name(self) -> str:
        return "action_ask_postcode"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await adapter.send(dispatcher, identity.ask_postcode())


class ActionAskFullName(Action):
    """Ask for the email address or full name of the account."""

    def name(self) -> str:
        return "action_ask_full_name"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await adapter.send(dispatcher, identity.ask_full_name())


class ActionAskOrderNumber(Action):
    """Ask which order: the verified shopper's orders as buttons, else the number."""

    def name(self) -> str:
        return "action_ask_order_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = identity.ask_order_number(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker), journey_texts(tracker)
        )
        return await adapter.send(dispatcher, reply)


class ActionAskEmail(Action):
    """Ask for the email address used for the order."""

    def name(self) -> str:
        return "action_ask_email"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await adapter.send(dispatcher, identity.ask_email(adapter.turn(tracker)))
