"""Account: adapters for ``knowledge.journeys.account`` (payment methods on file, gift card
balances, the default address and the order list; changing the default address)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from actions.forms import AddressFieldsValidation, StoppableFormValidation, journey_texts
from knowledge.journeys import account, orders
from knowledge.journeys.addresses import ADDRESS_SLOTS

logger = logging.getLogger(__name__)


class ActionAccountFacts(Action):
    """Say the payment methods on file, the gift card balance or the default address of the
    verified shopper."""

    def name(self) -> str:
        return "action_account_facts"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = account.account_facts(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)


class ValidateDefaultAddressForm(AddressFieldsValidation, StoppableFormValidation):
    """The new default address (one field, several, or all in one message), read back and
    confirmed (``account.default_address_answer``, ``account.default_address_correction``)."""

    journey = "default_address"
    confirm_slot = "default_address_confirm"

    def name(self) -> str:
        return "validate_default_address_form"

    async def after_validation(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> list[EventType]:
        """When the form starts, the address the request held; at the read-back, a changed
        field; an address the slot mapping missed (read as an order's address change)."""
        shop, shopper, turn = adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        asked = tracker.get_slot("requested_slot")
        if asked is None:
            said = journey_texts(tracker)
            turn = replace(turn, slots={**turn.slots, "request_text": said or turn.text})
            return await adapter.send(
                dispatcher, account.prefill_default_address(shop, shopper, turn)
            )
        if asked == "default_address_confirm":
            reply = account.default_address_correction(shop, shopper, turn)
            return await adapter.send(dispatcher, reply)
        taken = any(e.get("event") == "slot" and e.get("name") == asked for e in events)
        if asked in ADDRESS_SLOTS and not taken:
            reply = account.default_address_answer(shop, shopper, turn, asked, turn.text)
            if len(reply.slots) >= 2:
                return await adapter.send(dispatcher, reply)
        return []

    async def address_answer(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """``knowledge.journeys.account.default_address_answer``."""
        reply = account.default_address_answer(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker), slot, value
        )
        return await adapter.say(dispatcher, reply)

    async def validate_default_address_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes or no."""
        return await adapter.say(dispatcher, orders.confirmation("default_address_confirm", value))


class ActionAskDefaultAddressConfirm(Action):
    """Read the new default address back and ask before saving it."""

    def name(self) -> str:
        return "action_ask_default_address_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = account.ask_default_address_confirm(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)


class ActionChangeDefaultAddress(Action):
    """Save the confirmed default address (``account.change_default_address``)."""

    def name(self) -> str:
        return "action_change_default_address"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = account.change_default_address(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)
