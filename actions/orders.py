"""Orders: adapters for ``knowledge.journeys.orders`` (track, invoice, address) and the
cancel journey of ``knowledge.journeys.payments`` (reason, refund and when it arrives).

Each class turns the tracker into the journey's inputs and its Reply into messages and
slot events (``actions.adapter``); nothing here decides or words anything.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from actions.forms import AddressFieldsValidation, OrderJourneyValidation
from knowledge.journeys import orders, payments
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply

logger = logging.getLogger(__name__)


class ActionTrackOrder(Action):
    """Where an order is (status sentence and order card), or the shopper's orders."""

    def name(self) -> str:
        return "action_track_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = orders.track(adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)


class ActionGetInvoice(Action):
    """Invoice of a verified order: items, subtotal, shipping, tax and total."""

    def name(self) -> str:
        return "action_get_invoice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = orders.invoice(adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)


class ValidateCancelForm(OrderJourneyValidation):
    """The order must be the shopper's and not shipped yet; the reason one of the policy's
    (in words, or taken from the request); another reason at the read-back is taken."""

    journey = "cancel"
    confirm_slot = "cancel_confirm"

    def name(self) -> str:
        return "validate_cancel_form"

    def check_order(self, shop: Shop, order: dict[str, Any]) -> Reply:
        """``knowledge.journeys.payments.check_cancel_order``."""
        return payments.check_cancel_order(order, shop.policy.today)

    def answers_the_question(self, turn: Turn) -> bool:
        """A reason in words (or none, "whatever, just do it") where the reason is asked
        (``payments.gives_reason``)."""
        return payments.gives_reason(turn, adapter.embedder())

    def prefill(self, shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
        """A reason the request gave (``knowledge.journeys.payments.prefill_cancel``)."""
        return payments.prefill_cancel(turn)

    async def after_validation(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> list[EventType]:
        """At the read-back, another reason in words (``payments.reason_correction``)."""
        if tracker.get_slot("requested_slot") != "cancel_confirm":
            return await super().after_validation(dispatcher, tracker, domain, events)
        return await adapter.send(dispatcher, payments.reason_correction(adapter.turn(tracker)))

    async def extract_cancel_reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A reason the NLU read as another intent (``payments.reason_answer``)."""
        return payments.reason_answer(adapter.turn(tracker), adapter.embedder()).slots

    async def validate_cancel_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One of the policy's reasons (``payments.read_cancel_reason``; by meaning with the
        search indexes' sentence embeddings)."""
        reply = payments.read_cancel_reason(value, adapter.embedder())
        return await adapter.say(dispatcher, reply)

    async def validate_cancel_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes or no."""
        return await adapter.say(dispatcher, orders.confirmation("cancel_confirm", value))


class ActionAskCancelReason(Action):
    """Ask why, with the policy's reasons as buttons."""

    def name(self) -> str:
        return "action_ask_cancel_reason"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await adapter.send(dispatcher, payments.ask_cancel_reason(adapter.turn(tracker)))


class ActionAskCancelConfirm(Action):
    """Read the order, the reason and the refund (where, when) back and ask before cancelling."""

    def name(self) -> str:
        return "action_ask_cancel_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = payments.ask_cancel_confirm(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)


class ActionCancelOrder(Action):
    """Cancel the confirmed order (``knowledge.journeys.payments.cancel``)."""

    def name(self) -> str:
        return "action_cancel_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = payments.cancel(adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)


class ValidateAddressForm(AddressFieldsValidation, OrderJourneyValidation):
    """Order not shipped yet; answers read by ``orders.address_answer`` (one field, several,
    or the shopper's other address); changes to the address read back taken."""

    journey = "change_address"
    confirm_slot = "address_confirm"

    def name(self) -> str:
        return "validate_address_form"

    def check_order(self, shop: Shop, order: dict[str, Any]) -> Reply:
        """``knowledge.journeys.orders.check_address_change``."""
        return orders.check_address_change(order)

    def prefill(self, shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
        """``knowledge.journeys.orders.prefill_address``."""
        return orders.prefill_address(shop, shopper, turn)

    async def after_validation(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> list[EventType]:
        """At the read-back, a changed field or another address (``orders.address_correction``)."""
        if tracker.get_slot("requested_slot") != "address_confirm":
            return await super().after_validation(dispatcher, tracker, domain, events)
        reply = orders.address_correction(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)

    async def address_answer(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """``knowledge.journeys.orders.address_answer``."""
        reply = orders.address_answer(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker), slot, value
        )
        return await adapter.say(dispatcher, reply)

    async def validate_address_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes or no."""
        return await adapter.say(dispatcher, orders.confirmation("address_confirm", value))


class ActionAskAddressField(Action, ABC):
    """Ask for one address field (one concrete subclass per slot)."""

    slot = ""

    @abstractmethod
    def name(self) -> str:
        """``action_ask_<slot>``."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = orders.ask_address_field(self.slot, tracker.get_slot("journey"))
        return await adapter.send(dispatcher, reply)


class ActionAskShipName(ActionAskAddressField):
    """Ask for the recipient's name (or the whole address)."""

    slot = "ship_name"

    def name(self) -> str:
        return "action_ask_ship_name"


class ActionAskShipStreet(ActionAskAddressField):
    """Ask for the street."""

    slot = "ship_street"

    def name(self) -> str:
        return "action_ask_ship_street"


class ActionAskShipCity(ActionAskAddressField):
    """Ask for the city."""

    slot = "ship_city"

    def name(self) -> str:
        return "action_ask_ship_city"


class ActionAskShipPostcode(ActionAskAddressField):
    """Ask for the postcode."""

    slot = "ship_postcode"

    def name(self) -> str:
        return "action_ask_ship_postcode"


class ActionAskShipCountry(ActionAskAddressField):
    """Ask for the country."""

    slot = "ship_country"

    def name(self) -> str:
        return "action_ask_ship_country"


class ActionAskAddressConfirm(Action):
    """Read the new address back and ask for confirmation."""

    def name(self) -> str:
        return "action_ask_address_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await adapter.send(dispatcher, orders.ask_address_confirm(adapter.turn(tracker)))


class ActionChangeAddress(Action):
    """Change the confirmed address (``knowledge.journeys.orders.change_address``)."""

    def name(self) -> str:
        return "action_change_address"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = orders.change_address(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)
