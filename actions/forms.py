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

from actions.common import human_button, order_buttons, owned_order, verified_customer_id
from actions.context import get_context

logger = logging.getLogger(__name__)

STOP_OUTCOMES = ("refused", "failed", "nothing_to_do")
NOT_ON_ACCOUNT = "I couldn't find an order with that number on your account."


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

    async def check_order(
        self, order: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Journey-specific check of an owned order; return slot values (see subclasses)."""
        return {"order_number": order["order_number"]}

    async def validate_order_number(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Accept only an order of the verified shopper, then run the journey's check."""
        order = owned_order(tracker, slot_value if isinstance(slot_value, str) else None)
        if order is None:
            customer_id = verified_customer_id(tracker)
            if customer_id is None:
                dispatcher.utter_message(
                    text="I need to check who you are before I can do that.",
                    buttons=[human_button()],
                )
                return {"order_number": None, "form_outcome": "failed"}
            orders = get_context().store.orders_for_customer(customer_id)
            dispatcher.utter_message(
                text=NOT_ON_ACCOUNT + (" Here are your recent orders:" if orders else ""),
                buttons=order_buttons(orders, "inform"),
            )
            return {"order_number": None}
        return await self.check_order(order, dispatcher, tracker)
