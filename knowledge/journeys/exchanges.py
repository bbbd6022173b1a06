"""Returns with a chosen refund destination, and exchanges of delivered items for other
variants of the same products.

Return: the shopper names the items (not necessarily all), the refund goes to the original
payment method or a gift card on the account (when the policy's ``returns.refund_to``
allows it); the order becomes ``return_requested`` and the return instructions go to the
outbox (the console shows it). Exchange: each item to another available variant of the
same product, the price difference handled like an item change; the order becomes
``exchange_requested``.

Slots read: ``order_number``, ``return_items`` (order item ids, ``"5,7"``), ``return_reason``,
``refund_method_id``, ``return_confirm``; ``exchange_items`` (``"<item id>:<variant id>,..."``),
``exchange_reason``, ``payment_method_id``, ``exchange_confirm``.
"""

from __future__ import annotations

import logging
from typing import Any

from knowledge.journeys.account import order_of
from knowledge.journeys.common import YES_NO, human_button, money
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import clean_text
from knowledge.journeys.variants import (
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
from knowledge.store import payment_label

logger = logging.getLogger(__name__)

RETURN_RESET = (
    "return_items",
    "return_reason",
    "refund_method_id",
    "return_confirm",
    "form_outcome",
)
EXCHANGE_RESET = (
    "exchange_items",
    "exchange_reason",
    "payment_method_id",
    "exchange_confirm",
    "form_outcome",
)


def _policy() -> Any:
    from knowledge.policy import current_policy

    return current_policy()


def eligible(shop: Shop, order: dict[str, Any], change: str = "return") -> list[dict[str, Any]]:
    """Rows of ``knowledge.rules.item_return_status`` for ``return`` or ``exchange``."""
    from knowledge.rules import item_return_status

    items = shop.store.order_items(order["id"])
    products = shop.store.products_by_id(i["product_id"] for i in items if i["product_id"])
    return item_return_status(order, items, products, shop.policy.today, None, None, change)


def _refusal(order: dict[str, Any], rows: list[dict[str, Any]], what: str) -> Reply:
    from knowledge.journeys.payments import alternatives

    reason = next(
        (r["reason"] for r in rows if not r["ok"]), "There is nothing in it to send back."
    )
    return Reply.say(
        f"Sorry, I can't start {what} for order {order['order_number']}. {reason} {alternatives(order)}",
        [human_button()],
        order_number=order["order_number"],
        form_outcome="refused",
    )


# --------------------------------------------------------------------------- returns
def check_return(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Go on when something in the order can be returned; list it; else say why."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(form_outcome="refused")
    assert order is not None
    rows = eligible(shop, order)
    ok = [r for r in rows if r["ok"]]
    if not ok:
        return _refusal(order, rows, "a return")
    lines = "\n".join(
        f"{n}. {r['returnable_quantity']} x {r['title']} (refund {money(r['refund_amount'], order['currency'])})"
        for n, r in enumerate(ok, 1)
    )
    return Reply.say(
        f"These items of order {order['order_number']} can be returned:\n{lines}\nWhich ones?",
        [{"title": "All of them", "payload": "all items"}] if len(ok) > 1 else [],
        order_number=order["order_number"],
    )


def choose_return_items(shop: Shop, shopper: Shopper, turn: Turn, value: Any) -> Reply:
    """The returnable items the shopper names (positions, "all", title words)."""
    from knowledge.journeys.returns import parse_item_choice

    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(return_items=None)
    assert order is not None
    ok = [r for r in eligible(shop, order) if r["ok"]]
    picked = parse_item_choice(str(value or ""), ok)
    if not picked:
        return Reply.say(
            'Please pick the items by their number (e.g. 1 or 1, 2), or say "all".',
            return_items=None,
        )
    return Reply.nothing(return_items=",".join(str(i) for i in picked))


def refund_options(shop: Shop, order: dict[str, Any]) -> list[dict[str, Any]]:
    """Where a return's refund may go: the original method, then the customer's gift cards
    (when the policy allows gift cards)."""
    methods = []
    original = (
        shop.store.get_payment_method(order["payment_method_id"])
        if order.get("payment_method_id")
        else None
    )
    if original is not None and "original" in _policy().refund_to:
        methods.append(original)
    if "gift_card" in _policy().refund_to:
        methods += [
            m
            for m in shop.store.payment_methods(order["customer_id"])
            if m["kind"] == "gift_card" and (original is None or m["id"] != original["id"])
        ]
    return methods


def ask_refund_method(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The refund destinations as buttons, each with when the money arrives (nothing to ask
    when only the original method is possible)."""
    from knowledge.journeys.payments import method_buttons

    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    options = refund_options(shop, order)
    if len(options) <= 1:
        return Reply.nothing(refund_method_id=str(options[0]["id"]) if options else "original")
    lines = "\n".join(
        f"- {payment_label(m)}: {_policy().refund_time(m['kind']).describe()}" for m in options
    )
    return Reply.say(
        f"Where should the refund go? It arrives after we receive the items:\n{lines}",
        method_buttons(options, "/choose_refund_method"),
    )


def choose_refund_method(shop: Shop, shopper: Shopper, turn: Turn, value: Any) -> Reply:
    """The original method or one of the shopper's gift cards; anything else is refused."""
    from knowledge.journeys.payments import read_method

    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(refund_method_id=None)
    assert order is not None
    method = read_method(shop, shopper, value)
    options = refund_options(shop, order)
    if method is None or method["id"] not in {m["id"] for m in options}:
        allowed = " or ".join(payment_label(m) for m in options) or "the original payment method"
        return Reply.say(
            f"A refund can go only to {allowed}. Which one should it be?", refund_method_id=None
        )
    return Reply.nothing(refund_method_id=str(method["id"]))


def _chosen(turn: Turn, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = {int(x) for x in str(turn.slot("return_items") or "").split(",") if x.strip().isdigit()}
    return [r for r in rows if r["ok"] and r["order_item_id"] in ids]


def _refund_method(shop: Shop, order: dict[str, Any], turn: Turn) -> dict[str, Any] | None:
    value = str(turn.slot("refund_method_id") or "")
    if value.isdigit():
        method = shop.store.get_payment_method(int(value))
        if method is not None and method["customer_id"] == order["customer_id"]:
            return dict(method)
    return None


def ask_return_confirm(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """List the items, the reason, the refund, where it goes and when; then ask."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    rows = _chosen(turn, eligible(shop, order))
    total = round(sum(r["refund_amount"] for r in rows), 2)
    items = ", ".join(f"{r['returnable_quantity']} x {r['title']}" for r in rows)
    method = _refund_method(shop, order, turn)
    label = payment_label(method) if method else "your original payment method"
    when = _policy().refund_time(method["kind"] if method else "card").describe()
    return Reply.say(
        f"To confirm: return {items} from order {order['order_number']} (reason: "
        f"{turn.slot('return_reason')}). Once the items arrive you get "
        f"{money(total, order['currency'])} back to {label}, {when}. Shall I register the return?",
        YES_NO,
    )


def register_return(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Register the confirmed return (``knowledge.operations.request_return``): the RMA, the
    refund destination, and what happens next."""
    from knowledge.operations import OperationError, request_return

    reset: dict[str, Any] = dict.fromkeys(RETURN_RESET)
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(**reset)
    assert order is not None
    if turn.slot("return_confirm") is not True:
        return Reply.say("Okay, I haven't registered a return.", **reset)
    rows = _chosen(turn, eligible(shop, order))
    if not rows:
        return Reply.say(
            "Those items can't be returned any more, so I haven't registered a return.", **reset
        )
    method = _refund_method(shop, order, turn)
    try:
        created = request_return(
            shop.store,
            order["order_number"],
            [
                {"order_item_id": r["order_item_id"], "quantity": r["returnable_quantity"]}
                for r in rows
            ],
            str(turn.slot("return_reason") or ""),
            shopper.actor,
            refund_payment_method_id=method["id"] if method else None,
            today=shop.policy.today,
            on_change=shop.index_updater(),
        )
    except OperationError as err:
        logger.info("return for %s refused: %s", order["order_number"], err.code)
        return Reply.say(
            f"Sorry, I couldn't register the return: {err.reason}", [human_button()], **reset
        )
    refund = created["refund"]
    return Reply.say(
        f"Your return {created['rma_id']} is registered and order {order['order_number']} is now "
        f'marked "return requested". I\'ve sent the return instructions to your email: pack '
        f"the items with the number {created['rma_id']}, use the prepaid label and drop the "
        f"parcel at a DHL or Hermes shop within 14 days. Once they arrive you get "
        f"{money(refund['amount'], order['currency'])} back to {refund['label']}, {refund['arrives']}.",
        **reset,
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
    rows = eligible(shop, order, "exchange")
    if not any(r["ok"] for r in rows):
        return _refusal(order, rows, "an exchange")
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
    reason = reason_in(request)
    if reason and not turn.slot("exchange_reason"):
        reply = reply.with_slots(exchange_reason=reason)
    if not turn.slot("exchange_items"):
        said = Turn(request, turn.intent, turn.entities, {**turn.slots, "exchange_items": None})
        added = add_exchange_item(shop, shopper, said)
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
    from knowledge.journeys.payments import refunds_text
    from knowledge.operations import OperationError, request_exchange

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
        updated = request_exchange(
            shop.store,
            order["order_number"],
            swaps,
            str(turn.slot("exchange_reason") or "exchange"),
            shopper.actor,
            method_id(turn.slot("payment_method_id")),
            today=shop.policy.today,
        )
    except OperationError as err:
        logger.info("exchange for %s refused: %s", order["order_number"], err.code)
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
