"""Exchanges of delivered items for other variants of the same products.

Each item goes to another available variant of the same product, the price difference
handled like an item change; the order becomes ``exchange_requested``. (Returns, with the
refund to the original method or a gift card, are ``knowledge.journeys.returns``.)

Slots read: ``order_number``, ``exchange_items`` (``"<item id>:<variant id>,..."``),
``exchange_reason``, ``payment_method_id``, ``exchange_confirm``.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from knowledge.journeys.account import order_of
from knowledge.journeys.common import YES_NO, human_button, money
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import clean_text
from knowledge.journeys.variants import (
    add_each,
    another_product,
    format_changes,
    gather,
    method_id,
    named_product,
    noted,
    options_in,
    parse_changes,
    pick_item,
    pick_variant,
    swap_summary,
    variant_label,
)

logger = logging.getLogger(__name__)

EXCHANGE_RESET = (
    "exchange_items",
    "exchange_reason",
    "payment_method_id",
    "exchange_confirm",
    "form_outcome",
)


def eligible(shop: Shop, order: dict[str, Any], change: str = "return") -> list[dict[str, Any]]:
    """Rows of ``knowledge.rules.item_return_status`` for ``return`` or ``exchange``."""
    from knowledge.rules import item_return_status

    items = shop.store.order_items(order["id"])
    products = shop.store.products_by_id(i["product_id"] for i in items if i["product_id"])
    return item_return_status(order, items, products, shop.policy.today, None, None, change)


def _refusal(
    order: dict[str, Any], rows: list[dict[str, Any]], what: str, today: date | None = None
) -> Reply:
    from knowledge.journeys.payments import alternatives

    reason = next(
        (r["reason"] for r in rows if not r["ok"]), "There is nothing in it to send back."
    )
    return Reply.say(
        f"Sorry, I can't start {what} for order {order['order_number']}. {reason} {alternatives(order, today)}",
        [human_button()],
        order_number=order["order_number"],
        form_outcome="refused",
    )


# --------------------------------------------------------------------------- exchanges
def _exchangeable(shop: Shop, order: dict[str, Any]) -> list[tuple[dict[str, Any], list[str]]]:
    """The order's items that can be exchanged, each with its other variants in stock."""
    ok = {r["order_item_id"]: r for r in eligible(shop, order, "exchange") if r["ok"]}
    out = []
    for item in shop.store.order_items(order["id"]):
        if item["id"] not in ok or item.get("product_id") is None:
            continue
        others = [
            variant_label(v)
            for v in shop.store.variants(item["product_id"])
            if v["id"] != item.get("variant_id")
            and int(v["stock"]) >= ok[item["id"]]["returnable_quantity"]
        ]
        if others:
            out.append((item, others))
    return out


def exchange_check(shop: Shop, order: dict[str, Any]) -> Reply:
    """Go on (``order_number`` set) when items of the shopper's ``order`` can be exchanged
    for another variant in stock; else say why and what is possible instead."""
    from knowledge.rules import can_change

    rows = eligible(shop, order, "exchange")
    if not any(r["ok"] for r in rows) and can_change("item_change", order).ok:
        # "exchange it for an M" about an order not delivered yet: that is an item change
        return Reply.say(
            f"Order {order['order_number']} hasn't been delivered yet, so it isn't an exchange: "
            "I can change the size or colour of its items in the order right away instead.",
            [{"title": "Change an item", "payload": "/change_items"}, human_button()],
            order_number=order["order_number"],
            form_outcome="refused",
        )
    if not any(r["ok"] for r in rows):
        return _refusal(order, rows, "an exchange", shop.policy.today)
    if not _exchangeable(shop, order):
        return Reply.say(
            f"The items of order {order['order_number']} have no other size or colour in stock "
            "right now, so I can't exchange them. You can return them for a refund instead.",
            [{"title": "Start a return", "payload": "/request_refund"}],
            order_number=order["order_number"],
            form_outcome="refused",
        )
    return Reply.nothing(order_number=order["order_number"])


def check_exchange(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Go on when items of the order can be exchanged; list them with their other
    variants in stock; else say why and what is possible instead."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(form_outcome="refused")
    assert order is not None
    checked = exchange_check(shop, order)
    if checked.slots.get("form_outcome"):
        return checked
    return ask_exchange_items(shop, shopper, turn).with_slots(**checked.slots)


def ask_exchange_items(shop: Shop, shopper: Shopper, turn: Turn, again: bool = False) -> Reply:
    """The exchangeable items with their other variants in stock; once one is noted,
    whether there is anything else; ``again`` (after an answer that was not taken): the
    question alone."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    if parse_changes(turn.slot("exchange_items")):
        return Reply.say(
            "Anything else to exchange?", [{"title": "That's all", "payload": "/deny"}]
        )
    if again:
        return Reply.say("Which item would you like to exchange, and for what?")
    lines = [
        f"- {item['title']}: {', '.join(others[:12])}"
        for item, others in _exchangeable(shop, order)
    ]
    return Reply.say(
        f"These items of order {order['order_number']} can be exchanged for another size or "
        "colour of the same product:\n" + "\n".join(lines) + "\nWhich item, and for what?"
    )


def gather_exchange_item(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """An answer to "which item, and for what?" / "anything else?"
    (:func:`knowledge.journeys.variants.gather`)."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(exchange_items=None)
    assert order is not None
    everything = len(_exchangeable(shop, order))
    return gather(shop, shopper, turn, "exchange_items", add_exchange_item, everything)


def prefill_exchange(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The item and the reason the request already named ("exchange the jacket from
    SB-204966 for an L, it's too small"), so they are not asked again."""
    from knowledge.journeys.returns import reason_in

    request = str(turn.slot("request_text") or "")
    if not request or turn.slot("form_outcome"):
        return Reply.nothing()
    order, _ = order_of(shop, shopper, turn.slot("order_number"))
    if order is None:
        return Reply.nothing()
    reply = Reply.nothing()
    titles = [str(i["title"]) for i in shop.store.order_items(order["id"])]
    reason = reason_in(request, titles)
    if reason and not turn.slot("exchange_reason"):
        reply = reply.with_slots(exchange_reason=reason)
    if not turn.slot("exchange_items"):
        said = Turn(request, turn.intent, turn.entities, {**turn.slots, "exchange_items": None})
        added = add_each(shop, shopper, said, "exchange_items", add_exchange_item)
        if added.slots.get("exchange_items"):
            everything = len(_exchangeable(shop, order))
            picked = noted(shop, shopper, said, "exchange_items", added, everything)
            reply = Reply(picked.messages, {**picked.slots, **reply.slots})
    return reply


def ask_exchange_reason() -> Reply:
    """Why the items are exchanged."""
    return Reply.say("What's the reason for the exchange (e.g. too small, wrong colour)?")


def read_exchange_reason(value: Any) -> Reply:
    """A short reason in words."""
    text = clean_text(value, limit=500)
    if len(text) < 2 or not any(ch.isalpha() for ch in text):
        return Reply.say(
            "Could you tell me in a few words why you're exchanging them?", exchange_reason=None
        )
    return Reply.nothing(exchange_reason=text)


def add_exchange_item(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Read one exchange ("the shoes for a 43") into ``exchange_items``; refuse another
    product, an unavailable variant or an item that can't go back."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    text = clean_text(turn.text, limit=300)
    rows = {r["order_item_id"]: r for r in eligible(shop, order, "exchange")}
    items = [i for i in shop.store.order_items(order["id"]) if i.get("product_id")]
    item = pick_item(text, items)
    if item is None:
        return Reply.say("Which item do you want to exchange? Please name it.")
    row = rows.get(item["id"])
    if row is None or not row["ok"]:
        reason = row["reason"] if row else "It can't be exchanged."
        return Reply.say(f"Sorry, {item['title']} can't be exchanged: {reason}")
    named, text = named_product(shop, text)
    if named is not None and named != item["product_id"]:
        return another_product(item["title"], "exchange")
    variants = shop.store.variants(item["product_id"])
    variant = pick_variant(variants, options_in(text, variants), item.get("options") or {})
    if variant is None:
        return Reply.say(f"Which size or colour would you like instead of {item['title']}?")
    if variant["id"] == item.get("variant_id"):
        return Reply.say(f"{item['title']} is already {variant_label(variant)}.")
    if int(variant["stock"]) < int(row["returnable_quantity"]):
        return Reply.say(
            f"Sorry, {item['title']} in {variant_label(variant)} isn't available right now."
        )
    swaps = [
        s for s in parse_changes(turn.slot("exchange_items")) if s["order_item_id"] != item["id"]
    ]
    swaps.append({"order_item_id": item["id"], "variant_id": variant["id"]})
    return Reply.say(
        f"Noted: {item['title']} for {variant_label(variant)}.",
        exchange_items=format_changes(swaps),
    )


def ask_exchange_confirm(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """List every exchange, the price difference and its method; then ask."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    lines, money_line = swap_summary(
        shop,
        order,
        parse_changes(turn.slot("exchange_items")),
        turn.slot("payment_method_id"),
        quantities=False,
        same_price="There's no price difference.",
    )
    return Reply.say(
        f"To confirm the exchange for order {order['order_number']}:\n"
        + "\n".join(lines)
        + f"\n{money_line} You send the old items back with the prepaid label; the new ones "
        "are reserved for you. Shall I register the exchange?",
        YES_NO,
    )


def register_exchange(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Register the confirmed exchange (``knowledge.operations.request_exchange``)."""
    from knowledge.journeys.common import shop_system_refusal
    from knowledge.journeys.payments import refunds_text
    from knowledge.operations import OperationError

    reset: dict[str, Any] = dict.fromkeys(EXCHANGE_RESET)
    if turn.slot("form_outcome") in ("refused", "failed"):
        return Reply.nothing(**reset)  # the refusal already said why
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(**reset)
    assert order is not None
    swaps = parse_changes(turn.slot("exchange_items"))
    if turn.slot("exchange_confirm") is not True or not swaps:
        return Reply.say("Okay, I haven't registered an exchange.", **reset)
    try:
        updated = shop.backend.request_exchange(
            order["order_number"],
            swaps,
            str(turn.slot("exchange_reason") or "exchange"),
            shopper.actor,
            method_id(turn.slot("payment_method_id")),
            today=shop.policy.today,
        )
    except OperationError as err:
        logger.info("exchange for %s refused: %s", order["order_number"], err.code)
        if (honest := shop_system_refusal(err, **reset)) is not None:
            return honest
        return Reply.say(
            f"Sorry, I couldn't register the exchange: {err.reason}", [human_button()], **reset
        )
    entry = updated["changes"][-1]
    text = (
        f"Your exchange {entry['exchange_id']} is registered and order {order['order_number']} is "
        'now marked "exchange requested". I\'ve sent the instructions to your email: send the '
        f"old items back with the number {entry['exchange_id']} within 14 days; the new ones ship "
        "as soon as we have them."
    )
    settlement = entry.get("settlement") or {}
    if "charged" in settlement:
        text += f" {money(settlement['charged']['amount'], updated['currency'])} was charged to {settlement['charged']['label']}."
    if "refunded" in settlement:
        text += f" You'll get {refunds_text([settlement['refunded']], updated['currency'])}."
    return Reply.say(text, **reset)
