"""The payment method change of a pending order: adapters for ``knowledge.journeys.payments``.

Each class turns the tracker into the journey's inputs and its Reply into messages and
slot events (``actions.adapter``); the rules (pending only, the shopper's own methods, a
gift card that covers the total) and the wording live in the journey.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from actions.forms import OrderJourneyValidation
from knowledge.journeys import orders, payments
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply

logger = logging.getLogger(__name__)


class ValidatePaymentForm(OrderJourneyValidation):
    """The order must be the shopper's and allow the change; the method another of theirs
    (picked with a button or named in words) that covers the order."""

    journey = "change_payment"
    confirm_slot = "payment_confirm"

    def name(self) -> str:
        return "validate_payment_form"

    def check_order(self, shop: Shop, order: dict[str, Any]) -> Reply:
        """``knowledge.journeys.payments.check_payment_order``."""
        return payments.check_payment_order(shop, order)

    def prefill(self, shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
        """``knowledge.journeys.payments.prefill_payment``."""
        return payments.prefill_payment(shop, shopper, turn)

    async def after_validation(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> list[EventType]:
        """Where the method is asked, one named in words (``payments.method_in_words``)."""
        if tracker.get_slot("requested_slot") != "payment_method_id":
            return await super().after_validation(dispatcher, tracker, domain, events)
        taken = any(
            e.get("event") == "slot" and e.get("name") == "payment_method_id" for e in events
        )
        reply = payments.method_in_words(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker), taken
        )
        return await adapter.send(dispatcher, reply)

    async def validate_payment_method_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Another of the shopper's methods; a gift card must cover the order."""
        reply = payments.choose_payment_method(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker), value
        )
        return await adapter.say(dispatcher, reply)

    async def validate_payment_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes or no."""
        return await adapter.say(dispatcher, orders.confirmation("payment_confirm", value))


class ActionAskPaymentMethodId(Action):
    """The shopper's other payment methods as buttons (gift cards with their balance)."""

    def name(self) -> str:
        return "action_ask_payment_method_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = payments.ask_payment_method(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)


class ActionAskPaymentConfirm(Action):
    """Read the order, the new method and the refund of the old one back, then ask."""

    def name(self) -> str:
        return "action_ask_payment_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = payments.ask_payment_confirm(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)


class ActionChangePayment(Action):
    """Switch the confirmed order to the chosen method (``payments.change_payment``)."""

    def name(self) -> str:
        return "action_change_payment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = payments.change_payment(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)
