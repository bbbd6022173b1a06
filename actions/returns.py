"""Returns and refunds: adapters for ``knowledge.journeys.returns``."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from actions.forms import OrderJourneyValidation
from knowledge.journeys import orders, returns
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply

logger = logging.getLogger(__name__)


class ValidateReturnForm(OrderJourneyValidation):
    """Only delivered orders inside the window with returnable items; valid choices and reason."""

    journey = "return"
    confirm_slot = "return_confirm"

    def name(self) -> str:
        return "validate_return_form"

    def check_order(self, shop: Shop, order: dict[str, Any]) -> Reply:
        """``knowledge.journeys.returns.check_return``."""
        return returns.check_return(shop, order)

    def prefill(self, shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
        """Items and reason the request named (``knowledge.journeys.returns.prefill``)."""
        return returns.prefill(shop, shopper, turn)

    async def after_validation(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> list[EventType]:
        """At the read-back, another reason (``returns.reason_correction``); where the reason
        is asked, a reason the NLU read as another intent ("changed my mind" as stop)."""
        asked = tracker.get_slot("requested_slot")
        if asked == "return_reason":
            reply = returns.reason_in_other_words(adapter.turn(tracker), events)
            return await adapter.send(dispatcher, reply)
        if asked != "return_confirm":
            return await super().after_validation(dispatcher, tracker, domain, events)
        return await adapter.send(dispatcher, returns.reason_correction(adapter.turn(tracker)))

    async def validate_return_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes or no."""
        return await adapter.say(dispatcher, orders.confirmation("return_confirm", value))

    async def validate_return_items(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Items by position, "all" or title words; only returnable ones."""
        reply = returns.choose_items(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker), value
        )
        return await adapter.say(dispatcher, reply)

    async def validate_return_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A short reason in words."""
        return await adapter.say(dispatcher, returns.give_reason(value))


class ActionAskReturnItems(Action):
    """List the returnable items of the order with their refund amounts."""

    def name(self) -> str:
        return "action_ask_return_items"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = returns.ask_items(adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)


class ActionAskReturnReason(Action):
    """Ask why the items go back."""

    def name(self) -> str:
        return "action_ask_return_reason"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await adapter.send(dispatcher, returns.ask_reason())


class ActionAskReturnConfirm(Action):
    """Read the return back (items, reason, refund) and ask before creating it."""

    def name(self) -> str:
        return "action_ask_return_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = returns.ask_confirm(adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)


class ActionCreateReturn(Action):
    """Create the RMA (``knowledge.journeys.returns.create``) and give instructions."""

    def name(self) -> str:
        return "action_create_return"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = returns.create(adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)


class ActionRefundStatus(Action):
    """Refund status of the shopper's returns (one RMA, one order, or the latest ones)."""

    def name(self) -> str:
        return "action_refund_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = returns.refund_status(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)
