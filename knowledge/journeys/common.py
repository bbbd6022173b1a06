"""Pieces every journey uses: the ownership check, order buttons, the person button."""

from __future__ import annotations

import logging
from typing import Any

from knowledge.journeys.inputs import Shop, Shopper
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import extract_order_number

logger = logging.getLogger(__name__)

HUMAN_BUTTON = {"title": "Talk to a person", "payload": "/human_handoff"}
YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
NOT_VERIFIED = "I need to check who you are first."
NOT_ON_ACCOUNT = "I couldn't find an order with that number on your account."


def human_button() -> dict[str, str]:
    """The "talk to a person" button."""
    return dict(HUMAN_BUTTON)


#: OperationError codes of a connected shop whose system said no or did not answer.
SHOP_SYSTEM_CODES = ("shop_rejected", "shop_unavailable")


def shop_system_refusal(err: Any, **slots: Any) -> Reply | None:
    """The honest reply when the shop's system rejected a change or could not be reached.

    The error's reason already says what did not happen and that a colleague follows up
    (a ticket is open; see :mod:`knowledge.backend.connected`), so it is said as it is.

    Returns:
        ``None`` for any other refusal (the journey words those itself).
    """
    if getattr(err, "code", None) not in SHOP_SYSTEM_CODES:
        return None
    return Reply.say(str(err.reason), [human_button()], **slots)


def not_verified() -> Reply:
    """The reply when a journey needs a verified shopper and has none."""
    return Reply.say(NOT_VERIFIED, [human_button()])


def owned_order(shop: Shop, shopper: Shopper, order_number: Any) -> dict[str, Any] | None:
    """The order if it belongs to the verified shopper; ``None`` otherwise (never says why).

    This is the one ownership check of the journeys: every order shown or changed
    passes through it.
    """
    number = extract_order_number(order_number) if isinstance(order_number, str) else None
    if shopper.customer_id is None or number is None:
        return None
    order = shop.store.get_order(number)
    if order is None or int(order["customer_id"]) != shopper.customer_id:
        return None
    return dict(order)


def order_buttons(
    orders: list[dict[str, Any]], intent: str, limit: int = 5
) -> list[dict[str, str]]:
    """Buttons that pick one of the shopper's orders for ``intent``."""
    buttons = []
    for order in orders[:limit]:
        number = order["order_number"]
        placed = str(order.get("placed_at") or "")[:10]
        buttons.append(
            {
                "title": f"{number} ({order['status']}, {placed})",
                "payload": f'/{intent}{{"order_number":"{number}"}}',
            }
        )
    return buttons


def listed(orders: list[dict[str, Any]], limit: int = 5) -> dict[str, str]:
    """The ``listed_orders`` slot for the orders :func:`order_buttons` shows, in order."""
    return {"listed_orders": ",".join(str(o["order_number"]) for o in orders[:limit])}


def pick_listed(text: Any, listed_orders: Any) -> str | None:
    """The order number a short answer picks from the last list ("the second one")."""
    from knowledge.journeys.text import list_position

    numbers = [n for n in str(listed_orders or "").split(",") if n]
    position = list_position(text, len(numbers))
    return numbers[position] if position is not None else None


def money(amount: Any, currency: str | None) -> str:
    """``59.9, "EUR"`` -> ``€59.90`` (the generator's formatting, so replies agree)."""
    from models.generator.tasks import format_money

    return format_money(amount, currency)
