"""Items of an order: adapters for the item change of a pending order
(``knowledge.journeys.variants``) and the exchange of delivered items
(``knowledge.journeys.exchanges``).

Both forms gather the swaps one answer at a time: the validator hands the answer, with the
swaps gathered before it, to the journey, which says whether to ask "anything else?"
again (``requested_slot``) or go on. Nothing here decides or words anything.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from actions.forms import OrderJourneyValidation, slots_before_turn
from knowledge.journeys import conversation, exchanges, orders, variants
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply

logger = logging.getLogger(__name__)


def _asked_before(tracker: Tracker, slot: str) -> bool:
    """Whether ``slot`` was already the form's question before the shopper's latest
    message (it is asked again: an answer not taken, which said why, or a question in
    between)."""
    return slots_before_turn(tracker).get("requested_slot") == slot


class SwapFormValidation(OrderJourneyValidation, ABC):
    """A form that gathers item swaps (``swaps_slot``), then a payment method for the
    price difference (only when there is one), then a yes/no."""

    swaps_slot = ""
    #: The other swap journey: "the jeans in a 32" reads alike in both, so its intent is
    #: an answer here, not another request.
    sibling = ""

    @abstractmethod
    def name(self) -> str:
        """``validate_<form>``."""

    def form_journey(self, tracker: Tracker) -> str | None:
        """The sibling journey's request counts as this journey's (an answer)."""
        if conversation.journey_of(adapter.turn(tracker).intent) == self.sibling:
            return self.sibling
        return self.journey

    def answers_for(self, tracker: Tracker, turn: Turn) -> bool:
        """A message naming one of the order's items or an option or SKU of its products
        while the swaps are asked is the answer, whatever the NLU read
        (``variants.answers_swap_question``)."""
        return variants.answers_swap_question(
            adapter.shop(), adapter.shopper(tracker), turn, self.swaps_slot
        )

    def extract_swaps(self, tracker: Tracker) -> dict[str, Any]:
        """Such an answer that the slot mapping left out (an FAQ-looking "the indigo size
        W36/L34 please"), put in the swaps slot (``variants.swap_answer``)."""
        reply = variants.swap_answer(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker), self.swaps_slot
        )
        return reply.slots

    def gathering_turn(self, tracker: Tracker) -> Turn:
        """The answer, with the swaps gathered before it (the from_text mapping put the
        whole message in the slot)."""
        turn = adapter.turn(tracker)
        before = slots_before_turn(tracker).get(self.swaps_slot)
        return replace(turn, slots={**turn.slots, self.swaps_slot: before})

    async def validate_payment_method_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One of the shopper's methods that can take the difference (a gift card must cover
        a charge); the "no difference" mark is kept."""
        if value == variants.NO_DIFFERENCE:
            return {"payment_method_id": value}
        reply = variants.choose_difference_method(
            adapter.shop(),
            adapter.shopper(tracker),
            adapter.turn(tracker),
            value,
            self.swaps_slot,
        )
        return await adapter.say(dispatcher, reply)

    async def after_validation(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> list[EventType]:
        """Where the payment method is asked, one named in words ("paypal please") that no
        button sent; else the prefill when the form starts."""
        if tracker.get_slot("requested_slot") != "payment_method_id" or any(
            e.get("event") == "slot" and e.get("name") == "payment_method_id" for e in events
        ):
            return await super().after_validation(dispatcher, tracker, domain, events)
        reply = variants.difference_method_in_words(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker), self.swaps_slot
        )
        return await adapter.send(dispatcher, reply)


class ValidateChangeItemsForm(SwapFormValidation):
    """A pending order the policy lets change; each item to an available variant of the
    same product; the difference's payment method; yes or no."""

    journey = "change_items"
    confirm_slot = "items_confirm"
    swaps_slot = "item_changes"
    sibling = "exchange"

    def name(self) -> str:
        return "validate_change_items_form"

    def check_order(self, shop: Shop, order: dict[str, Any]) -> Reply:
        """``knowledge.journeys.variants.item_change_check``."""
        return variants.item_change_check(shop, order)

    def prefill(self, shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
        """The change the request named (``variants.prefill_item_change``)."""
        return variants.prefill_item_change(shop, shopper, turn)

    async def extract_item_changes(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An answer the NLU misread (:meth:`SwapFormValidation.extract_swaps`)."""
        return self.extract_swaps(tracker)

    async def validate_item_changes(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One more change, a refusal, or "that's all" (``variants.gather_item_change``)."""
        reply = variants.gather_item_change(
            adapter.shop(), adapter.shopper(tracker), self.gathering_turn(tracker)
        )
        return await adapter.say(dispatcher, reply)

    async def validate_items_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes or no."""
        return await adapter.say(dispatcher, orders.confirmation("items_confirm", value))


class ActionAskItemChanges(Action):
    """The items that can change (with the policy's reminder), or "anything else?"."""

    def name(self) -> str:
        return "action_ask_item_changes"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = variants.ask_item_changes(
            adapter.shop(),
            adapter.shopper(tracker),
            adapter.turn(tracker),
            again=_asked_before(tracker, "item_changes"),
        )
        return await adapter.send(dispatcher, reply)


class ActionAskDifferenceMethod(Action, ABC):
    """Which payment method pays or gets the price difference (one subclass per form)."""

    swaps_slot = ""

    @abstractmethod
    def name(self) -> str:
        """``action_ask_<form>_payment_method_id``."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        turn = adapter.turn(tracker)
        reply = variants.ask_difference_method(
            adapter.shop(), adapter.shopper(tracker), turn, self.swaps_slot
        )
        if not reply.messages:
            # the swaps cost the same after all: nothing to pick
            return [SlotSet("payment_method_id", variants.NO_DIFFERENCE)]
        return await adapter.send(dispatcher, reply)


class ActionAskItemsDifferenceMethod(ActionAskDifferenceMethod):
    """The payment method for the difference of an item change."""

    swaps_slot = "item_changes"

    def name(self) -> str:
        return "action_ask_change_items_form_payment_method_id"


class ActionAskItemsConfirm(Action):
    """Every change, the money and the once-only rule; then ask."""

    def name(self) -> str:
        return "action_ask_items_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = variants.ask_items_confirm(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)


class ActionChangeItems(Action):
    """Make the confirmed item changes (``knowledge.journeys.variants.change``)."""

    def name(self) -> str:
        return "action_change_items"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = variants.change(adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)


class ValidateExchangeForm(SwapFormValidation):
    """A delivered order inside the exchange window; each item to an available variant of
    the same product; a reason; the difference's payment method; yes or no."""

    journey = "exchange"
    confirm_slot = "exchange_confirm"
    swaps_slot = "exchange_items"
    sibling = "change_items"

    def name(self) -> str:
        return "validate_exchange_form"

    def check_order(self, shop: Shop, order: dict[str, Any]) -> Reply:
        """``knowledge.journeys.exchanges.exchange_check``."""
        return exchanges.exchange_check(shop, order)

    def prefill(self, shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
        """The item and reason the request named (``exchanges.prefill_exchange``)."""
        return exchanges.prefill_exchange(shop, shopper, turn)

    async def extract_exchange_items(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An answer the NLU misread (:meth:`SwapFormValidation.extract_swaps`)."""
        return self.extract_swaps(tracker)

    async def validate_exchange_items(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One more exchange, a refusal, or "that's all" (``exchanges.gather_exchange_item``)."""
        reply = exchanges.gather_exchange_item(
            adapter.shop(), adapter.shopper(tracker), self.gathering_turn(tracker)
        )
        return await adapter.say(dispatcher, reply)

    async def validate_exchange_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A short reason in words."""
        return await adapter.say(dispatcher, exchanges.read_exchange_reason(value))

    async def validate_exchange_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes or no."""
        return await adapter.say(dispatcher, orders.confirmation("exchange_confirm", value))


class ActionAskExchangeItems(Action):
    """The items that can be exchanged and for what, or "anything else?"."""

    def name(self) -> str:
        return "action_ask_exchange_items"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = exchanges.ask_exchange_items(
            adapter.shop(),
            adapter.shopper(tracker),
            adapter.turn(tracker),
            again=_asked_before(tracker, "exchange_items"),
        )
        return await adapter.send(dispatcher, reply)


class ActionAskExchangeReason(Action):
    """Ask why the items are exchanged."""

    def name(self) -> str:
        return "action_ask_exchange_reason"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await adapter.send(dispatcher, exchanges.ask_exchange_reason())


class ActionAskExchangeDifferenceMethod(ActionAskDifferenceMethod):
    """The payment method for the difference of an exchange."""

    swaps_slot = "exchange_items"

    def name(self) -> str:
        return "action_ask_exchange_form_payment_method_id"


class ActionAskExchangeConfirm(Action):
    """Every exchange and the money; then ask."""

    def name(self) -> str:
        return "action_ask_exchange_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = exchanges.ask_exchange_confirm(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)


class ActionRegisterExchange(Action):
    """Register the confirmed exchange (``knowledge.journeys.exchanges.register_exchange``)."""

    def name(self) -> str:
        return "action_register_exchange"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = exchanges.register_exchange(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)
