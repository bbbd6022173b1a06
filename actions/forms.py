"""Form validation shared by every form: early stop when a validator refuses or gives up.

A ``validate_<slot>`` method that sets ``form_outcome`` to one of :data:`STOP_OUTCOMES`
ends the form at once (``requested_slot`` = None); the form's submit action then sees
that its confirmation slot is empty and does nothing more.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from knowledge.journeys.common import NOT_ON_ACCOUNT
from knowledge.journeys.inputs import Shop
from knowledge.journeys.orders import choose_order
from knowledge.journeys.reply import Reply

logger = logging.getLogger(__name__)

STOP_OUTCOMES = ("refused", "failed", "nothing_to_do")
__all__ = ["NOT_ON_ACCOUNT", "OrderJourneyValidation", "StoppableFormValidation"]


def _sets(events: list[EventType], name: str, values: tuple[Any, ...]) -> bool:
    return any(
        e.get("event") == "slot" and e.get("name") == name and e.get("value") in values
        for e in events
    )


class StoppableFormValidation(FormValidationAction, ABC):
    """Validation action whose validators may end the form early via ``form_outcome``."""

    @abstractmethod
    def name(self) -> str:
        """``validate_<form>`` (abstract: the SDK registers only concrete actions)."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        events += await self.after_validation(dispatcher, tracker, domain, events)
        if _sets(events, "form_outcome", STOP_OUTCOMES):
            events.append(SlotSet("requested_slot", None))
        return events

    async def validate_confirmation(
        self, slot: str, slot_value: Any, dispatcher: CollectingDispatcher
    ) -> dict[str, Any]:
        """A yes/no answer (set from affirm/deny by the slot mapping) is kept as it is."""
        return {slot: slot_value if isinstance(slot_value, bool) else None}

    async def after_validation(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> list[EventType]:
        """Hook run after the slot validators with the tracker already updated."""
        return []


class OrderJourneyValidation(StoppableFormValidation, ABC):
    """Forms about one of the verified shopper's orders: the order must be theirs."""

    def check_order(self, shop: Shop, order: dict[str, Any]) -> Reply:
        """Journey-specific check of an owned order (see subclasses)."""
        return Reply.nothing(order_number=order["order_number"])

    async def validate_order_number(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Accept only an order of the verified shopper, then run the journey's check."""
        shop = adapter.shop()
        order, reply = choose_order(shop, adapter.shopper(tracker), slot_value)
        if order is not None:
            reply = self.check_order(shop, order)
        return await adapter.say(dispatcher, reply)
