"""End-to-end: change the items of a pending order and exchange delivered items (issue 13),
over REST against the session's real Rasa and action servers and its real SQLite shop.

The small test shop has a single pending order whose items come in other sizes and
colours, and it belongs to the example customer many tests share. So this module gives
itself a customer of its own (card + a gift card with little left) with orders made from
the demo catalog's variant products, inserted into the stack's shop after
``spare_orders`` has chosen its customers (so no other test picks this one): two pending
orders, one pending order whose items were already changed once, and one delivered
yesterday. Each test checks what the assistant said and what the store holds.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

pytestmark = [pytest.mark.timeout(1800)]

EMAIL = "desk.items.e2e@example.com"
NUMBERS = {
    "change": "SB-713301",
    "refusals": "SB-713302",
    "changed_once": "SB-713303",
    "delivered": "SB-713304",
}


def _sender(name: str) -> str:
    return f"e2e-desk-{name}-{uuid.uuid4().hex[:8]}"


def _label(variant: dict[str, Any]) -> str:
    return " / ".join(str(v) for v in variant["options"].values())


def _differs_in(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [k for k in a["options"] if a["options"].get(k) != b["options"].get(k)]


def _words(option: str, value: str) -> str:
    """How a shopper names one option value ("size M", "in green")."""
    return f"size {value}" if option == "size" else f"in {value}"


def _pick_products(store: Any) -> dict[str, Any]:
    """Two variant products of the catalog: A has a same-price variant in stock and a sold
    out one that differ from an ordered variant in one option; B has a pricier variant in
    stock that differs in one option."""
    a = b = None
    for product in store.products():
        if not product["returnable"]:
            continue  # A is exchanged once delivered
        variants = store.variants(product["id"])
        for current in variants:
            others = [
                v
                for v in variants
                if v["id"] != current["id"] and len(_differs_in(current, v)) == 1
            ]
            same = [
                v for v in others if v["stock"] >= 5 and abs(v["price"] - current["price"]) < 0.005
            ]
            sold_out = [v for v in others if v["stock"] == 0]
            pricier = [v for v in others if v["stock"] >= 5 and v["price"] > current["price"]]
            if a is None and same and sold_out:
                a = {
                    "product": product,
                    "current": current,
                    "same": same[0],
                    "sold_out": sold_out[0],
                }
                break
            if b is None and pricier and (a is None or product["id"] != a["product"]["id"]):
                b = {"product": product, "current": current, "pricier": pricier[0]}
                break
        if a and b and a["product"]["id"] != b["product"]["id"]:
            return {"a": a, "b": b}
    pytest.fail("the test shop has no variant products for the item-change tests")


def _word(title: str, other: str) -> str:
    """A word of ``title`` that ``other`` lacks (how the shopper names the item)."""
    theirs = set(other.lower().replace(",", " ").split())
    for word in title.lower().replace(",", " ").split():
        if len(word) > 3 and word not in theirs and word.isalpha():
            return word
    pytest.fail(f"no word tells {title!r} from {other!r}")


def _insert_desk(
    store: Any, a: dict[str, Any], b: dict[str, Any]
) -> tuple[int, int, int, dict[str, dict[str, Any]]]:
    """Insert the module's customer, payment methods, orders and payments (one transaction
    opened by the caller)."""
    now = date.today()
    stamp = f"{now.isoformat()}T08:00:00+00:00"
    cid = store.db.execute(
        "INSERT INTO customers (email, name, created_at, address_name, address_street,"
        " address_city, address_postcode, address_country) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [EMAIL, "Dana Desk", stamp, "Dana Desk", "Hauptstr. 1", "Berlin", "10115", "DE"],
    ).lastrowid
    card = store.insert_payment_method(
        cid, "card", brand="Visa", last4="4711", is_default=True, created_at=stamp
    )
    gift = store.insert_payment_method(
        cid, "gift_card", gift_card_code="9999-8888-7777-6543", balance=1.0, created_at=stamp
    )
    orders: dict[str, dict[str, Any]] = {}
    for key, number in NUMBERS.items():
        delivered = key == "delivered"
        placed = now - timedelta(days=6 if delivered else 1)
        lines = [(a, 1)] if delivered else [(a, 2), (b, 1)]
        subtotal = round(sum(p["current"]["price"] * q for p, q in lines), 2)
        tax = round(subtotal * 0.19, 2)
        oid = store.db.execute(
            "INSERT INTO orders (order_number, customer_id, status, placed_at, shipped_at,"
            " delivered_at, carrier, tracking_number, ship_name, ship_street, ship_city,"
            " ship_postcode, ship_country, subtotal, shipping_cost, tax, total, currency,"
            " updated_at, payment_method_id, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?, ?, ?, ?, 'EUR', ?, ?, '[]')",
            [
                number,
                cid,
                "delivered" if delivered else "pending",
                f"{placed.isoformat()}T09:00:00+00:00",
                f"{(placed + timedelta(days=2)).isoformat()}T09:00:00+00:00" if delivered else None,
                f"{(now - timedelta(days=1)).isoformat()}T12:00:00+00:00" if delivered else None,
                "DHL" if delivered else None,
                "00340434161234567890" if delivered else None,
                "Dana Desk",
                "Hauptstr. 1",
                "Berlin",
                "10115",
                "DE",
                subtotal,
                0.0,
                tax,
                round(subtotal + tax, 2),
                stamp,
                card,
            ],
        ).lastrowid
        for part, quantity in lines:
            v = part["current"]
            store.db.execute(
                "INSERT INTO order_items (order_id, product_id, sku, title, quantity,"
                " unit_price, variant_id, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    oid,
                    part["product"]["id"],
                    v["sku"],
                    part["product"]["title"],
                    quantity,
                    v["price"],
                    v["id"],
                    json.dumps(v["options"]),
                ],
            )
        store.insert_payment(
            oid, "payment", store.get_payment_method(card), round(subtotal + tax, 2), at=stamp
        )
        orders[key] = {"order_number": number, "id": oid}
    return cid, card, gift, orders


@pytest.fixture(scope="module")
def desk(rasa_stack, spare_orders) -> dict[str, Any]:
    """This module's customer and orders in the stack's shop (see the module docstring)."""
    from knowledge.operations import change_items
    from knowledge.store import Store

    store = Store.open(rasa_stack.db_path)
    try:
        picked = _pick_products(store)
        a, b = picked["a"], picked["b"]
        with store.transaction():
            cid, card, gift, orders = _insert_desk(store, a, b)
        # the third order's items were changed once already (the policy allows one change)
        first = store.order_items(orders["changed_once"]["id"])[0]
        change_items(
            store,
            NUMBERS["changed_once"],
            [{"order_item_id": first["id"], "variant_id": a["same"]["id"]}],
            "test:setup",
        )
    finally:
        store.close()
    title_a, title_b = a["product"]["title"], b["product"]["title"]
    return {
        "customer_id": cid,
        "card": card,
        "gift": gift,
        "orders": orders,
        "a": a,
        "b": b,
        "word_a": _word(title_a, title_b),
        "word_b": _word(title_b, title_a),
        "other_sku": b["pricier"]["sku"],
    }


def _rows(stack, sql: str, params: list) -> list[sqlite3.Row]:
    con = sqlite3.connect(stack.db_path)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _order(stack, number: str) -> sqlite3.Row:
    return _rows(stack, "SELECT * FROM orders WHERE order_number = ?", [number])[0]


def _items(stack, number: str) -> list[sqlite3.Row]:
    return _rows(
        stack,
        "SELECT i.* FROM order_items i JOIN orders o ON o.id = i.order_id"
        " WHERE o.order_number = ? ORDER BY i.id",
        [number],
    )


def _option_words(part: dict[str, Any], target: str) -> str:
    [option] = _differs_in(part["current"], part[target])
    return _words(option, str(part[target]["options"][option]))


def _start(stack, sender: str, number: str, intent: str = "change_items") -> str:
    """Start with a button payload naming the order, then prove who we are."""
    stack.say(sender, f'/{intent}{{"order_number":"{number}"}}')
    return stack.say(sender, f'/inform{{"email":"{EMAIL}"}}')


def test_item_change_in_words_charges_the_difference_and_changes_the_items(rasa_stack, desk):
    """The request names order, item, option and email at once: taken without asking
    again; a second item is added; the difference goes to the card; the order changes."""
    sender = _sender("change")
    number = desk["orders"]["change"]["order_number"]
    a, b = desk["a"], desk["b"]
    first = rasa_stack.say(
        sender,
        f"hi, can I change the {desk['word_a']} in {number} to "
        f"{_option_words(a, 'same')}? my email is {EMAIL}",
    )
    assert f"Noted: {a['product']['title']} in {_label(a['same'])}" in first, first
    assert "Anything else to change" in first and "changed only once" in first
    # both items that can change are noted: no "anything else?", the difference is asked
    second = rasa_stack.chat(
        sender, f"and the {desk['word_b']} {_option_words(b, 'pricier')} please"
    )
    text = "\n".join(m.get("text") or "" for m in second)
    assert f"Noted: {b['product']['title']} in {_label(b['pricier'])}" in text, text
    assert "more. Which payment method should pay it?" in text, text
    titles = [btn["title"] for m in second for btn in m.get("buttons") or []]
    assert "Visa ending 4711" in titles and not any("gift card" in t for t in titles)
    confirm = rasa_stack.say(
        sender, f'/choose_payment_method{{"payment_method_id":"{desk["card"]}"}}'
    )
    assert f"{a['product']['title']}: {_label(a['current'])} -> {_label(a['same'])}" in confirm
    assert f"{b['product']['title']}: {_label(b['current'])} -> {_label(b['pricier'])}" in confirm
    assert "will be charged to Visa ending 4711" in confirm and "changed only once" in confirm
    before = _order(rasa_stack, number)["total"]
    done = rasa_stack.say(sender, "yes")
    assert f"Done: in order {number}" in done, done
    order = _order(rasa_stack, number)
    assert order["status"] == "items_modified" and order["total"] > before
    assert [i["variant_id"] for i in _items(rasa_stack, number)] == [
        a["same"]["id"],
        b["pricier"]["id"],
    ]
    change = json.loads(order["changes"])[-1]
    assert change["kind"] == "items" and len(change["items"]) == 2
    (payment,) = _rows(
        rasa_stack,
        "SELECT * FROM payments WHERE order_id = ? AND kind = 'payment' AND note = ?",
        [order["id"], "items changed"],
    )
    assert payment["amount"] == pytest.approx(change["difference"])
    assert payment["payment_method_id"] == desk["card"]


def test_a_variant_of_another_product_is_refused(rasa_stack, desk):
    """A bare answer the NLU may read as nlu_fallback is still the form's answer
    (``variants.answers_swap_question``), refused as another product's variant."""
    sender = _sender("other-product")
    number = desk["orders"]["refusals"]["order_number"]
    listing = _start(rasa_stack, sender, number)
    assert "can change to another size or colour" in listing, listing
    reply = rasa_stack.say(sender, f"the {desk['word_a']} to {desk['other_sku']}")
    assert "not for a different product" in reply, reply
    assert _order(rasa_stack, number)["status"] == "pending"
    assert rasa_stack.tracker(sender)["slots"]["item_changes"] is None
    rasa_stack.say(sender, "stop")


def test_an_unavailable_variant_is_refused(rasa_stack, desk):
    """A bare answer the NLU reads as ask_faq (the FAQ router) is still the form's
    answer (``variants.answers_swap_question``), refused as sold out."""
    sender = _sender("sold-out")
    number = desk["orders"]["refusals"]["order_number"]
    _start(rasa_stack, sender, number)
    a = desk["a"]
    reply = rasa_stack.say(sender, f"the {desk['word_a']} {_option_words(a, 'sold_out')} please")
    assert f"in {_label(a['sold_out'])} isn't available right now" in reply, reply
    assert rasa_stack.tracker(sender)["slots"]["item_changes"] is None
    rasa_stack.say(sender, "stop")
    assert [i["variant_id"] for i in _items(rasa_stack, number)][0] == a["current"]["id"]


def test_a_gift_card_that_does_not_cover_the_difference_is_refused(rasa_stack, desk):
    sender = _sender("gift-card")
    number = desk["orders"]["refusals"]["order_number"]
    b = desk["b"]
    _start(rasa_stack, sender, number)
    noted = rasa_stack.say(sender, f"the {desk['word_b']} {_option_words(b, 'pricier')}")
    assert "Noted" in noted, noted
    rasa_stack.say(sender, "/deny")  # "That's all"
    refused = rasa_stack.say(
        sender, f'/choose_payment_method{{"payment_method_id":"{desk["gift"]}"}}'
    )
    assert "gift card ending 6543 has €1.00 left, which doesn't cover" in refused, refused
    slots = rasa_stack.tracker(sender)["slots"]
    assert slots["payment_method_id"] is None and slots["requested_slot"] == "payment_method_id"
    rasa_stack.say(sender, "stop")
    assert _order(rasa_stack, number)["status"] == "pending"
    gift = _rows(rasa_stack, "SELECT balance FROM payment_methods WHERE id = ?", [desk["gift"]])
    assert gift[0]["balance"] == pytest.approx(1.0)


def test_a_second_item_change_is_refused_when_the_policy_allows_one(rasa_stack, desk):
    sender = _sender("second")
    number = desk["orders"]["changed_once"]["order_number"]
    reply = _start(rasa_stack, sender, number)
    assert f"Sorry, I can't change the items of order {number}" in reply, reply
    assert "already" in reply
    order = _order(rasa_stack, number)
    assert order["status"] == "items_modified" and len(json.loads(order["changes"])) == 1
    assert not (rasa_stack.tracker(sender).get("active_loop") or {}).get("name")


def test_two_item_changes_in_one_message(rasa_stack, desk):
    """ "the jacket in black and the tee in L": both noted at once (``variants.add_each``),
    then the price difference is asked; stopping changes nothing."""
    sender = _sender("two-at-once")
    number = desk["orders"]["refusals"]["order_number"]
    a, b = desk["a"], desk["b"]
    _start(rasa_stack, sender, number)
    both = rasa_stack.say(
        sender,
        f"the {desk['word_a']} {_option_words(a, 'same')} and the {desk['word_b']} "
        f"{_option_words(b, 'pricier')}",
    )
    assert f"Noted: {a['product']['title']} in {_label(a['same'])}" in both, both
    assert f"Noted: {b['product']['title']} in {_label(b['pricier'])}" in both, both
    assert "Which payment method should pay it?" in both, both
    rasa_stack.say(sender, "stop")
    assert _order(rasa_stack, number)["status"] == "pending"


def test_exchange_of_a_delivered_item(rasa_stack, desk):
    sender = _sender("exchange")
    number = desk["orders"]["delivered"]["order_number"]
    a = desk["a"]
    listing = _start(rasa_stack, sender, number, "exchange_item")
    assert "can be exchanged for another size or colour" in listing, listing
    noted = rasa_stack.say(sender, f"the {desk['word_a']} {_option_words(a, 'same')}")
    # its only item is noted: no "anything else?", the reason comes next
    assert f"Noted: {a['product']['title']} for {_label(a['same'])}" in noted, noted
    assert "reason for the exchange" in noted
    confirm = rasa_stack.say(sender, "too small")
    assert f"{_label(a['current'])} -> {_label(a['same'])}" in confirm, confirm
    assert "no price difference" in confirm
    done = rasa_stack.say(sender, "yes please")
    assert "is registered" in done and "exchange requested" in done, done
    order = _order(rasa_stack, number)
    assert order["status"] == "exchange_requested"
    change = json.loads(order["changes"])[-1]
    assert change["kind"] == "exchange" and change["reason"] == "too small"
    assert [(s["from"]["variant_id"], s["to"]["variant_id"]) for s in change["items"]] == [
        (a["current"]["id"], a["same"]["id"])
    ]


def test_exchange_of_a_pending_order_is_refused(rasa_stack, desk):
    sender = _sender("exchange-pending")
    number = desk["orders"]["refusals"]["order_number"]
    reply = _start(rasa_stack, sender, number, "exchange_item")
    # not an exchange yet: the item change is offered instead, nothing changes
    assert f"Order {number} hasn't been delivered yet" in reply, reply
    assert "change the size or colour" in reply, reply
    assert _order(rasa_stack, number)["status"] == "pending"
    assert not (rasa_stack.tracker(sender).get("active_loop") or {}).get("name")
