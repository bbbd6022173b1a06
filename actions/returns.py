"""Returns and refunds: eligible items only, choose items and reason, create the RMA;
the refund status of existing returns.

Eligibility and amounts come from ``knowledge.rules``; the RMA is created by
``knowledge.operations.create_return`` (audited).
"""

from __future__ import annotations

import logging
import re
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
    money,
    owned_order,
    say,
    today,
    user_text,
    verified_customer_id,
)
from actions.context import get_context
from actions.forms import OrderJourneyValidation

logger = logging.getLogger(__name__)

YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
REASONS = ("It doesn't fit", "It arrived damaged", "Not as described", "I changed my mind")
_ALL_RE = re.compile(r"\b(all|everything|both|whole order|every item|all of them)\b", re.IGNORECASE)
_RMA_RE = re.compile(r"\bRMA-\d{6}-\d{1,3}\b", re.IGNORECASE)


def eligible_items(order: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(returnable rows, all rows)`` of ``knowledge.rules.item_return_status`` for an order."""
    from knowledge.rules import item_return_status

    ctx = get_context()
    items = ctx.store.order_items(order["id"])
    products = ctx.store.products_by_id(
        i["product_id"] for i in items if i["product_id"] is not None
    )
    rows = item_return_status(order, items, products, today(), int(ctx.settings.return_window_days))
    return [r for r in rows if r["ok"]], rows


def parse_item_choice(text: str, eligible: list[dict[str, Any]]) -> list[int]:
    """Order-item ids the shopper picked: "all", positions ("1, 3") or words of titles."""
    text = clean_text(text, limit=300)
    if _ALL_RE.search(text):
        return [r["order_item_id"] for r in eligible]
    positions = [int(n) for n in re.findall(r"\b\d{1,2}\b", text)]
    if positions and all(1 <= p <= len(eligible) for p in positions):
        return sorted({eligible[p - 1]["order_item_id"] for p in positions})
    words = [w.rstrip("s") for w in re.findall(r"[a-zA-Z]{3,}", text.lower())]
    picked = [
        r["order_item_id"] for r in eligible if any(w in str(r["title"]).lower() for w in words)
    ]
    return picked


def chosen_rows(tracker: Tracker, eligible: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Eligible rows whose ids are in the ``return_items`` slot."""
    ids = {
        int(x)
        for x in str(tracker.get_slot("return_items") or "").split(",")
        if x.strip().isdigit()
    }
    return [r for r in eligible if r["order_item_id"] in ids]


class ValidateReturnForm(OrderJourneyValidation):
    """Only delivered orders inside the window with returnable items; valid choices and reason."""

    def name(self) -> str:
        return "validate_return_form"

    async def validate_return_confirm(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Yes or no."""
        return await self.validate_confirmation("return_confirm", slot_value, dispatcher)

    async def check_order(
        self, order: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Refuse with the rule's reason when nothing in the order can be returned."""
        eligible, rows = eligible_items(order)
        if eligible:
            return {"order_number": order["order_number"]}
        reason = next(
            (r["reason"] for r in rows if not r["ok"]), "There is nothing in this order to return."
        )
        dispatcher.utter_message(
            text=f"Sorry, I can't start a return for order {order['order_number']}. {reason}",
            buttons=[human_button()],
        )
        return {"order_number": order["order_number"], "form_outcome": "refused"}

    async def validate_return_items(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Items by position, "all" or title words; only returnable ones."""
        order = owned_order(tracker, tracker.get_slot("order_number"))
        eligible = eligible_items(order)[0] if order else []
        picked = parse_item_choice(str(slot_value or ""), eligible)
        if not picked:
            dispatcher.utter_message(
                text='Please pick the items by their number (e.g. 1 or 1, 2), or say "all".'
            )
            return {"return_items": None}
        return {"return_items": ",".join(str(i) for i in picked)}

    async def validate_return_reason(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """A short reason in words."""
        text = clean_text(slot_value, limit=500)
        if len(text) < 2 or not any(ch.isalpha() for ch in text):
            dispatcher.utter_message(
                text="Could you tell me in a few words why you're returning them?"
            )
            return {"return_reason": None}
        return {"return_reason": text}


class ActionAskReturnItems(Action):
    """List the returnable items of the order with their refund amounts."""

    def name(self) -> str:
        return "action_ask_return_items"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order = owned_order(tracker, tracker.get_slot("order_number"))
        eligible = eligible_items(order)[0] if order else []
        lines = (
            [
                f"{n}. {r['returnable_quantity']} x {r['title']} (refund {money(r['refund_amount'], order['currency'])})"
                for n, r in enumerate(eligible, 1)
            ]
            if order
            else []
        )
        buttons = [
            {"title": f"{n}. {r['title'][:40]}", "payload": f"item {n}"}
            for n, r in enumerate(eligible, 1)
        ]
        if len(eligible) > 1:
            buttons.append({"title": "All of them", "payload": "all items"})
        dispatcher.utter_message(
            text="Which items would you like to return?\n" + "\n".join(lines), buttons=buttons
        )
        return []


class ActionAskReturnReason(Action):
    """Ask why the items go back."""

    def name(self) -> str:
        return "action_ask_return_reason"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            text="What's the reason for the return?",
            buttons=[{"title": r, "payload": r} for r in REASONS],
        )
        return []


class ActionAskReturnConfirm(Action):
    """Read the return back (items, reason, refund) and ask before creating it."""

    def name(self) -> str:
        return "action_ask_return_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order = owned_order(tracker, tracker.get_slot("order_number"))
        rows = chosen_rows(tracker, eligible_items(order)[0]) if order else []
        total = round(sum(r["refund_amount"] for r in rows), 2)
        items = ", ".join(f"{r['returnable_quantity']} x {r['title']}" for r in rows)
        currency = order["currency"] if order else None
        dispatcher.utter_message(
            text=f"To confirm: return {items} from order {tracker.get_slot('order_number')} "
            f"(reason: {tracker.get_slot('return_reason')}), refund {money(total, currency)}. "
            "Shall I register the return?",
            buttons=YES_NO,
        )
        return []


class ActionCreateReturn(Action):
    """Create the RMA through ``knowledge.operations.create_return`` and give instructions."""

    def name(self) -> str:
        return "action_create_return"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        from knowledge.operations import OperationError, create_return

        reset = [
            SlotSet(s, None)
            for s in ("return_items", "return_reason", "return_confirm", "form_outcome")
        ]
        confirmed = tracker.get_slot("return_confirm")
        order = owned_order(tracker, tracker.get_slot("order_number"))
        if confirmed is None or order is None:
            return reset
        if confirmed is False:
            dispatcher.utter_message(text="Okay, I haven't registered a return. Anything else?")
            return reset
        ctx = get_context()
        rows = chosen_rows(tracker, eligible_items(order)[0])
        if not rows:
            dispatcher.utter_message(
                text="Those items can't be returned any more, so I haven't registered a return."
            )
            return reset
        items = [
            {"order_item_id": r["order_item_id"], "quantity": r["returnable_quantity"]}
            for r in rows
        ]
        try:
            created = create_return(
                ctx.store,
                order["order_number"],
                items,
                tracker.get_slot("return_reason"),
                actor(tracker),
                today=today(),
                window_days=int(ctx.settings.return_window_days),
            )
        except OperationError as err:
            logger.info("return for %s refused: %s", order["order_number"], err.code)
            dispatcher.utter_message(
                text=f"Sorry, I couldn't register the return: {err.reason}",
                buttons=[human_button()],
            )
            return reset
        facts = {
            "rma_id": created["rma_id"],
            "order_number": order["order_number"],
            "refund_amount": created["refund_amount"],
            "currency": order["currency"],
            "products": [
                f"{i.get('quantity')} x {i.get('title')}" for i in created.get("items") or []
            ],
        }
        await say(dispatcher, "return_created", facts)
        return reset


class ActionRefundStatus(Action):
    """Refund status of the shopper's returns (one RMA, one order, or the latest ones)."""

    def name(self) -> str:
        return "action_refund_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        customer_id = verified_customer_id(tracker)
        if customer_id is None:
            dispatcher.utter_message(
                text="I need to check who you are first.", buttons=[human_button()]
            )
            return []
        store = get_context().store
        returns = self._returns(tracker, customer_id, store)
        if not returns:
            dispatcher.utter_message(
                text="I can't find any returns on your orders. Would you like to start one?",
                buttons=[{"title": "Start a return", "payload": "/request_refund"}, human_button()],
            )
            return []
        for ret, order in returns[:3]:
            facts = {
                "rma_id": ret["rma_id"],
                "refund_status": ret["refund_status"],
                "order_number": order["order_number"],
                "refund_amount": ret["refund_amount"],
                "currency": order["currency"],
            }
            if ret["refund_status"] == "refunded":
                facts["refunded_on"] = str(ret.get("updated_at") or "")[:10] or None
            await say(dispatcher, "refund_status", facts)
        return []

    @staticmethod
    def _returns(
        tracker: Tracker, customer_id: int, store: Any
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        match = _RMA_RE.search(user_text(tracker))
        if match:
            ret = store.get_return(match.group(0))
            order = store.get_order_by_id(ret["order_id"]) if ret else None
            if ret and order and int(order["customer_id"]) == customer_id:
                return [(ret, order)]
            return []
        number = latest_entity(tracker, "order_number")
        order = owned_order(tracker, number) if number else None
        if number and order is None:
            return []
        orders = [order] if order else store.orders_for_customer(customer_id)
        found = [(ret, o) for o in orders for ret in store.returns_for_order(o["id"])]
        return sorted(found, key=lambda pair: str(pair[0].get("created_at") or ""), reverse=True)
