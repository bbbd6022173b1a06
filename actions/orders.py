"""Orders: track, "my orders", invoice, cancel (confirm first), change the shipping address.

The rules (what may be cancelled or changed, what an address must look like) live in
``knowledge.rules``; the changes go through ``knowledge.operations`` (audited).
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    actor,
    clean_text,
    human_button,
    latest_entity,
    meta,
    money,
    order_buttons,
    owned_order,
    phrase,
    say,
    user_text,
    verified_customer_id,
)
from actions.context import get_context
from actions.forms import NOT_ON_ACCOUNT, OrderJourneyValidation

logger = logging.getLogger(__name__)

YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "i'm",
        "im",
        "my",
        "me",
        "mine",
        "we",
        "our",
        "you",
        "your",
        "it",
        "its",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "where",
        "what",
        "when",
        "which",
        "who",
        "how",
        "why",
        "status",
        "track",
        "tracking",
        "order",
        "orders",
        "ordered",
        "bought",
        "buy",
        "purchased",
        "got",
        "package",
        "parcel",
        "delivery",
        "deliver",
        "delivered",
        "shipping",
        "shipped",
        "ship",
        "arrive",
        "arrived",
        "come",
        "coming",
        "in",
        "on",
        "at",
        "of",
        "for",
        "from",
        "to",
        "with",
        "and",
        "or",
        "but",
        "please",
        "pls",
        "can",
        "could",
        "would",
        "will",
        "hey",
        "hi",
        "hello",
        "there",
        "that",
        "this",
        "these",
        "those",
        "one",
        "last",
        "week",
        "month",
        "year",
        "ago",
        "some",
        "thing",
        "stuff",
        "yet",
        "still",
        "not",
        "no",
        "any",
    ]
)


def order_items_text(store: Any, order: dict[str, Any]) -> list[str]:
    """``["2 x Merino scarf", ...]`` for an order."""
    return [f"{i['quantity']} x {i['title']}" for i in store.order_items(order["id"])]


def order_facts(order: dict[str, Any]) -> dict[str, Any]:
    """Facts of the ``order_status`` generator task for one order."""
    facts: dict[str, Any] = {"order_number": order["order_number"], "status": order["status"]}
    if order["status"] in ("shipped", "delivered", "returned"):
        facts["carrier"] = order.get("carrier")
        facts["tracking_number"] = order.get("tracking_number")
    if order["status"] in ("pending", "processing", "shipped"):
        facts["eta"] = order.get("estimated_delivery")
    if order["status"] in ("delivered", "returned"):
        facts["delivered_on"] = order.get("delivered_at")
    return facts


async def describe_order(dispatcher: CollectingDispatcher, order: dict[str, Any]) -> None:
    """Status, carrier, tracking number, ETA (phrased) and the items of one order."""
    store = get_context().store
    text = await phrase("order_status", order_facts(order))
    items = order_items_text(store, order)
    if items:
        text += " Items: " + ", ".join(items) + "."
    dispatcher.utter_message(text=text, **meta(text))


def list_orders(
    dispatcher: CollectingDispatcher, customer_id: int, intent: str, lead: str = ""
) -> None:
    """The shopper's recent orders as buttons (or a note that there are none)."""
    orders = get_context().store.orders_for_customer(customer_id)
    if not orders:
        dispatcher.utter_message(
            text=(lead + " " if lead else "") + "I can't see any orders on your account yet."
        )
        return
    dispatcher.utter_message(
        text=(lead + " " if lead else "") + "Here are your recent orders. Which one do you mean?",
        buttons=order_buttons(orders, intent),
    )


def find_by_description(text: str, customer_id: int) -> dict[str, Any] | None:
    """The shopper's order that an item description points to ("the jacket I ordered in May")."""
    words = [w for w in re.findall(r"[a-zA-Z][a-zA-Z'-]+", text.lower()) if w not in _STOPWORDS]
    month = next((MONTHS.index(w) + 1 for w in words if w in MONTHS), None)
    content = [w.rstrip("s") for w in words if w not in MONTHS and len(w) >= 3]
    if not content:
        return None
    ctx = get_context()
    hits = ctx.search.search_order_items(" ".join(content), customer_id, k=10)
    for hit in hits:
        row = hit.row
        haystack = (
            f"{row.get('title', '')} {row.get('category') or ''} {row.get('brand') or ''}".lower()
        )
        # Whole words (a plural "s" allowed): "net" from an email must not match "cabinet".
        if not any(re.search(rf"\b{re.escape(w)}", haystack) for w in content):
            continue
        if month is not None and int(str(row.get("placed_at") or "0000-00")[5:7] or 0) != month:
            continue
        order = ctx.store.get_order(row["order_number"])
        if order is not None and int(order["customer_id"]) == customer_id:
            return order
    return None


class ActionTrackOrder(Action):
    """Where an order is (status, carrier, tracking, ETA, items), or the shopper's orders."""

    def name(self) -> str:
        return "action_track_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        customer_id = verified_customer_id(tracker)
        if customer_id is None:
            dispatcher.utter_message(
                text="I need to check who you are first.", buttons=[human_button()]
            )
            return []
        named = latest_entity(tracker, "order_number")
        if named:
            order = owned_order(tracker, named)
            if order is None:
                list_orders(dispatcher, customer_id, "track_order", NOT_ON_ACCOUNT)
                return [SlotSet("order_number", None)]
            await describe_order(dispatcher, order)
            return [SlotSet("order_number", order["order_number"])]
        text = user_text(tracker)
        slot_order = owned_order(tracker, tracker.get_slot("order_number"))
        latest_intent = (tracker.latest_message.get("intent") or {}).get("name")
        if slot_order is not None and latest_intent != "track_order":
            # The identity form just finished (the last message was the email): the
            # order is the one the shopper named, not something described in that message.
            await describe_order(dispatcher, slot_order)
            return [SlotSet("order_number", slot_order["order_number"])]
        if re.search(r"\b(orders|all|everything|history)\b", text.lower()):
            list_orders(dispatcher, customer_id, "track_order")
            return []
        order = find_by_description(text, customer_id) or slot_order
        if order is None:
            list_orders(dispatcher, customer_id, "track_order")
            return []
        await describe_order(dispatcher, order)
        return [SlotSet("order_number", order["order_number"])]


class ActionGetInvoice(Action):
    """Invoice of a verified order: items, subtotal, shipping, tax and total."""

    def name(self) -> str:
        return "action_get_invoice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        customer_id = verified_customer_id(tracker)
        if customer_id is None:
            dispatcher.utter_message(
                text="I need to check who you are first.", buttons=[human_button()]
            )
            return []
        number = latest_entity(tracker, "order_number") or tracker.get_slot("order_number")
        order = owned_order(tracker, number) if number else None
        if order is None:
            list_orders(dispatcher, customer_id, "get_invoice", NOT_ON_ACCOUNT if number else "")
            return [SlotSet("order_number", None)] if number else []
        store = get_context().store
        facts = {
            "order_number": order["order_number"],
            "total": order["total"],
            "placed_on": order.get("placed_at"),
            "products": order_items_text(store, order),
            "subtotal": order.get("subtotal"),
            "shipping_cost": order.get("shipping_cost"),
            "tax": order.get("tax"),
            "currency": order.get("currency"),
        }
        await say(dispatcher, "invoice_summary", facts)
        return [SlotSet("order_number", order["order_number"])]


# --------------------------------------------------------------------------- cancel
class ValidateCancelForm(OrderJourneyValidation):
    """The order must be the shopper's and still pending or processing."""

    def name(self) -> str:
        return "validate_cancel_form"

    async def validate_cancel_confirm(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Yes or no."""
        return await self.validate_confirmation("cancel_confirm", slot_value, dispatcher)

    async def check_order(
        self, order: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Refuse (and offer a return) unless ``knowledge.rules.can_cancel`` allows it."""
        from knowledge.rules import can_cancel

        decision = can_cancel(order)
        if decision.ok:
            return {"order_number": order["order_number"]}
        text = await phrase(
            "cancel_refused", {"order_number": order["order_number"], "status": order["status"]}
        )
        buttons = [human_button()]
        if order["status"] in ("shipped", "delivered"):
            text += " Once it has arrived you can send the items back for a refund."
            buttons.insert(
                0,
                {
                    "title": "Start a return",
                    "payload": f'/request_refund{{"order_number":"{order["order_number"]}"}}',
                },
            )
        dispatcher.utter_message(text=text, buttons=buttons, **meta(text))
        return {"order_number": order["order_number"], "form_outcome": "refused"}


class ActionAskCancelConfirm(Action):
    """Read the order back and ask before cancelling."""

    def name(self) -> str:
        return "action_ask_cancel_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order = owned_order(tracker, tracker.get_slot("order_number"))
        if order is None:  # pragma: no cover - the validator keeps only owned orders
            dispatcher.utter_message(text="Which order should I cancel?")
            return []
        items = ", ".join(order_items_text(get_context().store, order))
        dispatcher.utter_message(
            text=f"Order {order['order_number']} ({items}; total {money(order['total'], order['currency'])}) "
            f"is {order['status']}. Shall I cancel it?",
            buttons=YES_NO,
        )
        return []


class ActionCancelOrder(Action):
    """Cancel the confirmed order through ``knowledge.operations.cancel_order``."""

    def name(self) -> str:
        return "action_cancel_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        from knowledge.operations import OperationError, cancel_order

        reset = [SlotSet("cancel_confirm", None), SlotSet("form_outcome", None)]
        confirmed = tracker.get_slot("cancel_confirm")
        order = owned_order(tracker, tracker.get_slot("order_number"))
        if confirmed is None or order is None:
            return reset
        if confirmed is False:
            dispatcher.utter_message(
                text=f"Okay, I've left order {order['order_number']} as it is."
            )
            return reset
        ctx = get_context()
        try:
            updated = cancel_order(
                ctx.store, order["order_number"], actor(tracker), on_change=_index_updater()
            )
        except OperationError as err:
            logger.info("cancel of %s refused: %s", order["order_number"], err.code)
            current = ctx.store.get_order(order["order_number"]) or order
            text = await phrase(
                "cancel_refused",
                {"order_number": order["order_number"], "status": current["status"]},
            )
            dispatcher.utter_message(text=text, buttons=[human_button()], **meta(text))
            return reset
        text = await phrase(
            "cancel_done",
            {
                "order_number": updated["order_number"],
                "refund_amount": updated["total"],
                "currency": updated["currency"],
            },
        )
        dispatcher.utter_message(text=text, **meta(text))
        return reset


def _index_updater() -> Any:
    """``on_change`` callback that keeps the search indexes current (never raises)."""

    def update(kind: str, ids: list[int]) -> None:
        try:
            get_context().search.update(kind, ids)
        except Exception:  # noqa: BLE001 - the change is committed; the index can be rebuilt
            logger.exception("index update failed for %s", kind)

    return update


# --------------------------------------------------------------------------- address
ADDRESS_SLOTS = ("ship_name", "ship_street", "ship_city", "ship_postcode", "ship_country")
COUNTRY_NAMES = {
    "germany": "DE",
    "deutschland": "DE",
    "france": "FR",
    "austria": "AT",
    "netherlands": "NL",
    "the netherlands": "NL",
    "holland": "NL",
    "belgium": "BE",
    "switzerland": "CH",
    "italy": "IT",
    "spain": "ES",
    "portugal": "PT",
    "ireland": "IE",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "poland": "PL",
    "sweden": "SE",
    "denmark": "DK",
    "norway": "NO",
    "finland": "FI",
    "czechia": "CZ",
    "czech republic": "CZ",
    "luxembourg": "LU",
    "united states": "US",
    "usa": "US",
    "us": "US",
    "canada": "CA",
    "greece": "GR",
    "hungary": "HU",
}
ADDRESS_PROMPTS = {
    "ship_name": "Who should the parcel be addressed to? (You can also type the whole address: "
    "name, street, city, postcode, country.)",
    "ship_street": "What's the street and house number?",
    "ship_city": "Which city?",
    "ship_postcode": "And the postcode?",
    "ship_country": "Which country? (e.g. DE, FR, or the name)",
}


def _country(value: str) -> str:
    return COUNTRY_NAMES.get(value.strip().lower().rstrip("."), value.strip())


def address_from_slots(tracker: Tracker) -> dict[str, str]:
    """The new address collected by the form (``ship_*`` keys)."""
    return {slot: tracker.get_slot(slot) or "" for slot in ADDRESS_SLOTS}


def format_address(address: dict[str, Any]) -> str:
    """One line: ``Jane Doe, 5 Main St, 10115 Berlin, DE``."""
    a = {k.removeprefix("ship_"): v for k, v in address.items()}
    return f"{a.get('name')}, {a.get('street')}, {a.get('postcode')} {a.get('city')}, {a.get('country')}"


def parse_full_address(text: str) -> dict[str, str] | None:
    """``name, street, city, postcode, country`` (or ``name, street, postcode city, country``)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) == 5:
        name, street, city, postcode, country = parts
        if any(ch.isdigit() for ch in city) and not any(ch.isdigit() for ch in postcode):
            city, postcode = postcode, city
    elif len(parts) == 4:
        name, street, place, country = parts
        match = re.match(r"^([A-Za-z0-9-]*\d[A-Za-z0-9-]*(?: [A-Za-z0-9]{3})?)\s+(.+)$", place)
        if not match:
            return None
        postcode, city = match.group(1), match.group(2)
    else:
        return None
    return {
        "ship_name": name,
        "ship_street": street,
        "ship_city": city,
        "ship_postcode": postcode,
        "ship_country": _country(country),
    }


class ValidateAddressForm(OrderJourneyValidation):
    """Order not shipped yet; every address field checked by ``knowledge.rules.validate_address``."""

    def name(self) -> str:
        return "validate_address_form"

    async def validate_address_confirm(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Yes or no."""
        return await self.validate_confirmation("address_confirm", slot_value, dispatcher)

    async def check_order(
        self, order: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Refuse unless ``knowledge.rules.can_change_address`` allows it."""
        from knowledge.rules import can_change_address

        decision = can_change_address(order)
        if decision.ok:
            return {"order_number": order["order_number"]}
        dispatcher.utter_message(
            text=f"Sorry, I can't change the address of order {order['order_number']}: "
            f"{decision.reason}",
            buttons=[human_button()],
        )
        return {"order_number": order["order_number"], "form_outcome": "refused"}

    def _field(self, slot: str, value: Any, dispatcher: CollectingDispatcher) -> dict[str, Any]:
        from knowledge.rules import normalise_address, validate_address

        text = clean_text(value, limit=300)
        if slot == "ship_country":
            text = _country(text)
        short = slot.removeprefix("ship_")
        error = validate_address({short: text}).get(short)
        if error:
            dispatcher.utter_message(text=error)
            return {slot: None}
        return {slot: normalise_address({short: text})[slot]}

    async def validate_ship_name(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """A name, or the whole address in one message."""
        from knowledge.rules import normalise_address, validate_address

        full = parse_full_address(clean_text(slot_value, limit=600))
        if full is not None and not validate_address(full):
            return normalise_address(full)
        return self._field("ship_name", slot_value, dispatcher)

    async def validate_ship_street(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Street and house number."""
        return self._field("ship_street", slot_value, dispatcher)

    async def validate_ship_city(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """City."""
        return self._field("ship_city", slot_value, dispatcher)

    async def validate_ship_postcode(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Postcode."""
        return self._field("ship_postcode", slot_value, dispatcher)

    async def validate_ship_country(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Country we ship to (code or name)."""
        return self._field("ship_country", slot_value, dispatcher)


class ActionAskAddressField(Action, ABC):
    """Ask for one address field (one concrete subclass per slot)."""

    slot = ""

    @abstractmethod
    def name(self) -> str:
        """``action_ask_<slot>``."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=ADDRESS_PROMPTS[self.slot])
        return []


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
        dispatcher.utter_message(
            text=f"The new delivery address for order {tracker.get_slot('order_number')} would be: "
            f"{format_address(address_from_slots(tracker))}. Is that right?",
            buttons=YES_NO,
        )
        return []


class ActionChangeAddress(Action):
    """Change the confirmed address through ``knowledge.operations.change_shipping_address``."""

    def name(self) -> str:
        return "action_change_address"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        from knowledge.operations import OperationError, change_shipping_address

        reset = [SlotSet(s, None) for s in (*ADDRESS_SLOTS, "address_confirm", "form_outcome")]
        confirmed = tracker.get_slot("address_confirm")
        order = owned_order(tracker, tracker.get_slot("order_number"))
        if confirmed is None or order is None:
            return reset
        if confirmed is False:
            dispatcher.utter_message(
                text=f"Okay, I haven't changed anything. Order {order['order_number']} "
                "keeps its current address."
            )
            return reset
        address = address_from_slots(tracker)
        try:
            updated = change_shipping_address(
                get_context().store, order["order_number"], address, actor(tracker)
            )
        except OperationError as err:
            logger.info("address change of %s refused: %s", order["order_number"], err.code)
            problems = " ".join((err.details.get("errors") or {}).values())
            dispatcher.utter_message(
                text=f"Sorry, I couldn't change the address: {err.reason} {problems}".strip(),
                buttons=[human_button()],
            )
            return reset
        text = await phrase(
            "address_changed",
            {"order_number": updated["order_number"], "address": format_address(updated)},
        )
        dispatcher.utter_message(text=text, **meta(text))
        return reset
