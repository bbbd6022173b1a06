"""Returns and refunds: adapters for ``knowledge.journeys.returns``."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from actions.forms import OrderJourneyValidation, session_texts
from knowledge.journeys import orders, returns
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply

logger = logging.getLogger(__name__)


class ValidateReturnForm(OrderJourneyValidation):
    """Only delivered orders inside the window with returnable items; valid choices, reason
    and refund destination."""

    journey = "return"
    confirm_slot = "return_confirm"

    def name(self) -> str:
        return "validate_return_form"

    def answers_for(self, tracker: Tracker, turn: Turn) -> bool:
        """An item of the order named where the items are asked, or the refund's
        destination or timing at the read-back, is the answer, whatever the NLU read
        (``returns.names_an_item``, ``returns.answers_read_back``)."""
        shop, shopper = adapter.shop(), adapter.shopper(tracker)
        return returns.names_an_item(shop, shopper, turn) or returns.answers_read_back(
            shop, shopper, turn
        )

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
        """At the read-back, another reason (``returns.reason_correction``) or an answer
        about the refund (``returns.refund_answer``); where the reason is asked, a reason
        the NLU read as another intent ("changed my mind" as stop)."""
        asked = tracker.get_slot("requested_slot")
        turn = adapter.turn(tracker)
        shop, shopper = adapter.shop(), adapter.shopper(tracker)
        if asked == "return_reason":
            out = await adapter.send(dispatcher, returns.reason_in_other_words(turn, events))
        elif asked == "return_confirm":
            reply = returns.reason_correction(turn)
            if not reply.slots:
                reply = returns.refund_answer(shop, shopper, turn)
            out = await adapter.send(dispatcher, reply)
        else:
            out = await super().after_validation(dispatcher, tracker, domain, events)
        chosen = any(e.get("name") == "refund_method_id" for e in out if e.get("event") == "slot")
        if (
            tracker.get_slot("order_number")
            and tracker.get_slot("form_outcome") is None
            and not chosen
        ):
            # the original method unless the shopper says otherwise: no separate question
            default = returns.default_refund_option(shop, shopper, turn)
            out += await adapter.send(dispatcher, default)
        return out

    async def validate_return_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes or no."""
        return await adapter.say(dispatcher, orders.confirmation("return_confirm", value))

    async def validate_return_items(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Items by position, "all" or title words; only returnable ones; "yes" for the
        one item named earlier in the conversation."""
        turn = adapter.turn(tracker)
        turn = replace(turn, slots={**turn.slots, "said_before": session_texts(tracker)})
        reply = returns.choose_items(adapter.shop(), adapter.shopper(tracker), turn, value)
        return await adapter.say(dispatcher, reply)

    async def validate_return_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A short reason in words."""
        return await adapter.say(dispatcher, returns.give_reason(value))

    async def validate_refund_method_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The original method or one of the shopper's gift cards."""
        if value == returns.ORIGINAL:
            return {"refund_method_id": value}
        reply = returns.choose_refund_method(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker), value
        )
        return await adapter.say(dispatcher, reply)


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


class ActionAskRefundMethodId(Action):
    """Ask where the refund goes (original method or a gift card), as buttons."""

    def name(self) -> str:
        return "action_ask_refund_method_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = returns.ask_refund_method(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)


class ActionAskReturnConfirm(Action):
    """Read the return back (items, reason, refund and where it goes) and ask."""

    def name(self) -> str:
        return "action_ask_return_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = returns.ask_confirm(adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)


class ActionCreateReturn(Action):
    """Register the return (``knowledge.journeys.returns.register``) and say what's next."""

    def name(self) -> str:
        return "action_create_return"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = returns.register(adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker))
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
