"""Form validation shared by every form: interruptions, early stop, corrections, prefill.

* A message that is another request than the one the form collects for ("cancle my order
  plz" while an order number for tracking is asked) is never read as an answer: the
  validation rejects the form's turn, and the rules start that request instead
  (``action_start_journey``).
* A ``validate_<slot>`` method that sets ``form_outcome`` to one of :data:`STOP_OUTCOMES`
  ends the form at once (``requested_slot`` = None); the form's submit action then sees
  that its confirmation slot is empty and does nothing more.
* An answer that changes while the form's yes/no question is open ("no, I meant
  SB-204964") empties the yes/no, so the question is asked again about the new answer.
* When a form starts, ``prefill`` may fill what the request already said (the item and
  reason of a return, the new address) so it is not asked again.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import replace
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from knowledge.journeys import conversation
from knowledge.journeys.common import NOT_ON_ACCOUNT
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.orders import choose_order
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import extract_email, extract_order_number

logger = logging.getLogger(__name__)

STOP_OUTCOMES = ("refused", "failed", "nothing_to_do")
__all__ = [
    "NOT_ON_ACCOUNT",
    "AddressFieldsValidation",
    "OrderJourneyValidation",
    "StoppableFormValidation",
]


def _sets(events: list[EventType], name: str, values: tuple[Any, ...]) -> bool:
    return any(
        e.get("event") == "slot" and e.get("name") == name and e.get("value") in values
        for e in events
    )


def journey_texts(tracker: Tracker) -> str:
    """The shopper's messages since the journey under way started (``action_start_journey``),
    one per line; buttons' payloads left out."""
    texts: list[str] = []
    for event in tracker.events:
        if event.get("event") == "action" and event.get("name") == "action_start_journey":
            texts = texts[-1:]  # the request that started it
        elif event.get("event") == "user":
            text = str(event.get("text") or "")
            if text and not text.startswith("/"):
                texts.append(text)
    return "\n".join(texts)


def session_texts(tracker: Tracker) -> str:
    """The shopper's typed messages of this session, one per line (what was said before a
    journey switch: the item named for a return before the exchange came up)."""
    texts: list[str] = []
    for event in tracker.events:
        if event.get("event") in ("restart", "session_started"):
            texts = []
        elif event.get("event") == "user":
            text = str(event.get("text") or "")
            if text and not text.startswith("/"):
                texts.append(text)
    return "\n".join(texts)


def slots_before_turn(tracker: Tracker) -> dict[str, Any]:
    """Slot values as they were before the shopper's latest message (set ones only)."""
    events = list(tracker.events)
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    values: dict[str, Any] = {}
    for event in events[: max(last_user, 0)]:
        if event.get("event") == "slot":
            values[str(event.get("name"))] = event.get("value")
        elif event.get("event") in ("restart", "session_started"):
            values = {}
    return values


class StoppableFormValidation(FormValidationAction, ABC):
    """Validation action whose validators may end the form early via ``form_outcome``."""

    #: The journey the form collects for; a request for another one interrupts it
    #: (``None``: every message is an answer, e.g. the ticket form's free text).
    journey: str | None = None
    #: The form's yes/no slot, asked last.
    confirm_slot: str | None = None

    @abstractmethod
    def name(self) -> str:
        """``validate_<form>`` (abstract: the SDK registers only concrete actions)."""

    def form_journey(self, tracker: Tracker) -> str | None:
        """The journey of the running form (:attr:`journey` unless a subclass knows better)."""
        return self.journey

    def answers_the_question(self, turn: Turn) -> bool:
        """Whether the message answers what the form asks whatever request its words seem
        to name ("found it cheaper somewhere else" is a cancel reason, not an address
        change); such a message never interrupts the form (see subclasses)."""
        return False

    def answers_for(self, tracker: Tracker, turn: Turn) -> bool:
        """:meth:`answers_the_question` for forms whose answers are the shopper's own data
        (the items of their order): the tracker says who is talking (see subclasses)."""
        return self.answers_the_question(turn)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        turn = adapter.turn(tracker)
        before = slots_before_turn(tracker)
        if not self.answers_for(tracker, turn) and conversation.interrupts(
            turn, self.form_journey(tracker)
        ):
            logger.info(
                "conversation %s: %s interrupted by %s",
                tracker.sender_id,
                self.form_name(),
                turn.intent,
            )
            return [
                *self._undo_text_answer(tracker, before),
                ActionExecutionRejected(self.form_name()),
            ]
        if (
            self.form_journey(tracker) is not None
            and not self.answers_for(tracker, turn)
            and conversation.asks_aside(turn)
        ):
            # A question about the catalogue in the middle ("btw do you have running shoes
            # in 42?"): answered; nothing of it is kept as the answer, so the form asks its
            # question again.
            logger.info("conversation %s: question inside %s", tracker.sender_id, self.form_name())
            reply = conversation.answer_aside(adapter.shop(), adapter.shopper(tracker), turn)
            return [
                *self._undo_text_answer(tracker, before),
                *await adapter.send(dispatcher, reply),
            ]
        if self.journey is not None and turn.intent != "stop" and conversation.stops(turn.text):
            # "never mind, the old one is fine" read as an answer: the form ends, nothing
            # changes (its submit action finds no yes and does nothing).
            logger.info("conversation %s: %s called off", tracker.sender_id, self.form_name())
            stopped = conversation.stop_form().with_slots(form_outcome="nothing_to_do")
            return await adapter.send(dispatcher, stopped)
        events = await super().run(dispatcher, tracker, domain)
        events += await self.answers_in_words(dispatcher, tracker, domain, turn, events)
        events += await self.after_validation(dispatcher, tracker, domain, events)
        confirm = self.confirm_slot
        if confirm and tracker.get_slot("requested_slot") == confirm:
            events += conversation.read_confirmation(turn, confirm, events)
            after = {e["name"]: e.get("value") for e in events if e.get("event") == "slot"}
            if conversation.corrected(before, after, confirm):
                events.append(SlotSet(confirm, None))
        if _sets(events, "form_outcome", STOP_OUTCOMES):
            events.append(SlotSet("requested_slot", None))
        return events

    @staticmethod
    def _undo_text_answer(tracker: Tracker, before: dict[str, Any]) -> list[EventType]:
        """The whole message may already sit in the asked slot (taken as the answer by a
        from_text mapping): undo that; an order number it named stays."""
        asked = tracker.get_slot("requested_slot")
        text = (tracker.latest_message or {}).get("text")
        filled = asked is not None and text and tracker.get_slot(asked) == text
        return [SlotSet(asked, before.get(asked))] if filled else []

    async def answers_in_words(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        turn: Turn,
        events: list[EventType],
    ) -> list[EventType]:
        """An order number or email the message holds but no slot mapping took (the entity
        model missed it in "no I meant sb 204964"), validated like any answer."""
        out: list[EventType] = []
        set_now = {e.get("name") for e in events if e.get("event") == "slot"}
        for slot in ("order_number", "email"):
            read = extract_order_number if slot == "order_number" else extract_email
            value = read(turn.entity(slot))
            validate = getattr(self, f"validate_{slot}", None)
            if not value or validate is None or slot in set_now or tracker.get_slot(slot) == value:
                continue
            values = await validate(value, dispatcher, tracker, domain)
            out += [SlotSet(k, v) for k, v in values.items()]
        return out

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

    def prefill(self, shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
        """What the request already said, filled when the form starts (see subclasses)."""
        return Reply.nothing()

    async def validate_order_number(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Accept only an order of the verified shopper (named or described), then run
        the journey's check."""
        shop = adapter.shop()
        asked = tracker.get_slot("requested_slot")
        current = slots_before_turn(tracker).get("order_number")
        if asked not in (None, "order_number") and extract_order_number(slot_value) is None:
            # Something the entity model took for an order number ("1100-053" in an
            # address) while the form asks for something else: the order stays.
            return {"order_number": current}
        listed_orders = adapter.turn(tracker).slot("listed_orders")
        order, reply = choose_order(shop, adapter.shopper(tracker), slot_value, listed_orders)
        if order is not None:
            reply = self.check_order(shop, order)
        return await adapter.say(dispatcher, reply)

    async def after_validation(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> list[EventType]:
        """When the form starts with an accepted order, fill what the request named."""
        starting = tracker.get_slot("requested_slot") is None
        stopped = _sets(events, "form_outcome", STOP_OUTCOMES)
        if not starting or stopped or not tracker.get_slot("order_number"):
            return []
        turn = adapter.turn(tracker)
        said = journey_texts(tracker)
        if said:
            # Everything the shopper said since the request (the item and reason may come
            # with the order number or the email while the identity check asked for them).
            turn = replace(turn, slots={**turn.slots, "request_text": said})
        # and before it, for a request that points back ("ok then just return it")
        turn = replace(turn, slots={**turn.slots, "said_before": session_texts(tracker)})
        reply = self.prefill(adapter.shop(), adapter.shopper(tracker), turn)
        return await adapter.send(dispatcher, reply)


class AddressFieldsValidation:
    """The five ``ship_*`` validators of a form that collects an address (an order's
    delivery address, the profile's default address); each hands its answer to
    :meth:`address_answer`, the form's one reader of address answers."""

    async def address_answer(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """The slot values an answer to ``slot``'s prompt fills (one field, or several)."""
        raise NotImplementedError

    async def validate_ship_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A name, or the whole address in one message."""
        return await self.address_answer("ship_name", value, dispatcher, tracker)

    async def validate_ship_street(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Street and house number."""
        return await self.address_answer("ship_street", value, dispatcher, tracker)

    async def validate_ship_city(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """City."""
        return await self.address_answer("ship_city", value, dispatcher, tracker)

    async def validate_ship_postcode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Postcode."""
        return await self.address_answer("ship_postcode", value, dispatcher, tracker)

    async def validate_ship_country(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Country we ship to (code or name)."""
        return await self.address_answer("ship_country", value, dispatcher, tracker)
