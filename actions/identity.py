"""Identity: order number + the email on the order, checked against the store.

Mismatches never say whether the order exists; after
``settings.max_verification_attempts`` failures the form ends and a person is offered.
(The signed customer token is checked in ``action_session_start``, see ``common.py``.)
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import extract_email, extract_order_number, order_buttons, verified_customer_id
from actions.context import get_context
from actions.forms import StoppableFormValidation

logger = logging.getLogger(__name__)

BAD_ORDER_NUMBER = (
    "That doesn't look like one of our order numbers. They look like SB-123456 "
    "and you'll find yours in the order confirmation email."
)
BAD_EMAIL = (
    "That doesn't look like an email address. Could you type it again, like name@example.com?"
)
MISMATCH = (
    "Sorry, I couldn't match that order number with that email address. "
    "Let's try again, please check both."
)


class ValidateIdentityForm(StoppableFormValidation):
    """Check that the email given is the one on the order (``knowledge.identity.owns_order``)."""

    def name(self) -> str:
        return "validate_identity_form"

    async def validate_order_number(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Keep only well-formed order numbers (existence is not checked here)."""
        number = extract_order_number(slot_value)
        if number is None:
            dispatcher.utter_message(text=BAD_ORDER_NUMBER)
        return {"order_number": number}

    async def validate_email(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Keep only something that looks like one email address."""
        email = extract_email(slot_value)
        if email is None:
            dispatcher.utter_message(text=BAD_EMAIL)
        return {"email": email}

    async def after_validation(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> list[EventType]:
        """Once both are known, check ownership; count failures.

        Only a real mismatch counts. A store error (locked, unavailable) is left to raise:
        the whole validation step then fails, and ``RecoveryPolicy`` undoes it (nothing
        counted, no slot written) and tells the shopper to try again in a moment.
        """
        from knowledge.identity import (
            identity_keys,
            identity_locked,
            owns_order,
            record_identity_failure,
        )

        number, email = tracker.get_slot("order_number"), tracker.get_slot("email")
        if not number or not email or tracker.get_slot("verified") is True:
            return []
        ctx = get_context()
        # Guessing is slow across conversations too: failures count per email, order
        # number and client (the channel's keyed hash of the address), not per sender id.
        metadata = (tracker.latest_message or {}).get("metadata") or {}
        keys = identity_keys(number, email, metadata.get("client"))
        limit, window = ctx.settings.identity_max_failures, ctx.settings.identity_window_s
        if identity_locked(ctx.store, keys, limit, window):
            logger.info("verification locked out in conversation %s", tracker.sender_id)
            return [
                SlotSet("order_number", None),
                SlotSet("email", None),
                SlotSet("verification_failures", int(ctx.settings.max_verification_attempts)),
                SlotSet("form_outcome", "failed"),
            ]
        if owns_order(ctx.store, number, email):
            order = ctx.store.get_order(number)
            logger.info("conversation %s verified for order %s", tracker.sender_id, number)
            return [
                SlotSet("verified", True),
                SlotSet("customer_id", str(order["customer_id"])),
                SlotSet("customer_email", email),
                SlotSet("verification_failures", 0),
            ]
        record_identity_failure(ctx.store, keys)
        failures = int(tracker.get_slot("verification_failures") or 0) + 1
        logger.info("verification failed in conversation %s (%d)", tracker.sender_id, failures)
        events_out: list[EventType] = [
            SlotSet("order_number", None),
            SlotSet("email", None),
            SlotSet("verification_failures", failures),
        ]
        if failures >= int(ctx.settings.max_verification_attempts):
            events_out.append(SlotSet("form_outcome", "failed"))
        else:
            dispatcher.utter_message(text=MISMATCH)
        return events_out


class ActionAskOrderNumber(Action):
    """Ask which order: the verified shopper's orders as buttons, else the number."""

    def name(self) -> str:
        return "action_ask_order_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        customer_id = verified_customer_id(tracker)
        if customer_id is not None:
            orders = get_context().store.orders_for_customer(customer_id)
            if orders:
                dispatcher.utter_message(
                    text="Which order is it about? Pick one or type its number.",
                    buttons=order_buttons(orders, "inform"),
                )
                return []
            dispatcher.utter_message(
                text="I can't see any orders on your account. What's the order number?"
            )
            return []
        dispatcher.utter_message(
            text="Sure. First I need to check the order is yours. What's the order number? "
            "It looks like SB-123456 and is in your confirmation email."
        )
        return []


class ActionAskEmail(Action):
    """Ask for the email address used for the order."""

    def name(self) -> str:
        return "action_ask_email"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text="Thanks. And which email address did you use for that order?")
        return []
