"""Shoppers and orders of the support desk's widget tests (``tests/web/test_desk_browser.py``),
imported into a stack's shop through the documented importer (``docs/import-format.md``).

Like :mod:`tests.support.desk`, these shoppers, emails and order numbers are used by no
other test, so the widget journeys (payment method, items, exchange, return, default
address, a refusal) never meet another test's order, whatever ran before in the session.
The variant products come from the demo catalog (:func:`pick_products`): two returnable
products of different kinds whose ordered variant has another size at the same price in
stock, so the item change and the exchange need no payment method and the shopper can
name each item by a plain noun ("the jacket").
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

#: Payment method change and the refused gift card: Mastercard (paying), PayPal, a €5 gift card.
PAYER = "desk.widget.pay@example.com"
PAYER_GIFT = "GC-3931-0000-0005"
#: Item change (pending) and exchange (delivered yesterday).
CHANGER = "desk.widget.items@example.com"
#: Return of one item of a delivered order, refunded to a gift card.
RETURNER = "desk.widget.return@example.com"
RETURNER_GIFT = "GC-3931-0000-7391"
#: Default address change (a processing order whose address must not change).
MOVER = "desk.widget.home@example.com"
#: The orders imported (numbers checked to be free first).
ORDERS = {
    "pay_switch": "SB-393101",  # PAYER, pending, Mastercard -> PayPal
    "pay_refused": "SB-393102",  # PAYER, pending, the €5 gift card is refused
    "items": "SB-393103",  # CHANGER, pending, product A + product B
    "exchange": "SB-393104",  # CHANGER, delivered yesterday, product A
    "return": "SB-393105",  # RETURNER, delivered yesterday, product A + product B
    "address": "SB-393106",  # MOVER, processing
    "exchange_words": "SB-393107",  # CHANGER, delivered yesterday, product A (a phrasing)
}
#: The shopper's noun for a product of each category (must be a word of its title).
NOUNS = {
    "jackets": "jacket",
    "boots": "boot",
    "sneakers": "sneaker",
    "dresses": "dress",
    "jeans": "jeans",
    "running shoes": "shoe",
}


def _size_step(store: Any, product: dict[str, Any]) -> dict[str, Any] | None:
    """A variant of ``product`` and another size of it at the same price with stock to spare."""
    variants = store.variants(product["id"])
    for current in variants:
        for other in variants:
            a, b = current["options"], other["options"]
            if other["id"] == current["id"] or set(a) != set(b) or "size" not in a:
                continue
            differs = [k for k in a if a[k] != b[k]]
            if (
                differs == ["size"]
                and other["stock"] >= 5
                and current["stock"] >= 1
                and abs(other["price"] - current["price"]) < 0.005
            ):
                return {"product": product, "current": current, "target": other}
    return None


def pick_products(store: Any) -> dict[str, dict[str, Any]]:
    """Products A and B (see the module docstring), each with ``current`` and ``target``
    variants, ``noun`` (how the shopper names it) and ``size`` (the target's size)."""
    found: list[dict[str, Any]] = []
    for category, noun in NOUNS.items():
        for product in store.products():
            title = str(product["title"]).lower()
            if str(product["category"]) != category or not product["returnable"]:
                continue
            if noun not in title.replace(",", " ").split():
                continue
            step = _size_step(store, dict(product))
            if step is None:
                continue
            if any(f["noun"] in title or noun in f["product"]["title"].lower() for f in found):
                continue
            found.append({**step, "noun": noun, "size": str(step["target"]["options"]["size"])})
            break
        if len(found) == 2:
            return {"a": found[0], "b": found[1]}
    raise AssertionError("the demo catalog has no two variant products for the widget tests")


def _order(
    number: str,
    email: str,
    status: str,
    method: str,
    lines: list[dict[str, Any]],
    today: date,
) -> dict[str, Any]:
    total = round(sum(float(v["price"]) for v in lines), 2)
    row: dict[str, Any] = {
        "order_number": number,
        "customer_email": email,
        "status": status,
        "placed_at": (today - timedelta(days=6 if status == "delivered" else 1)).isoformat(),
        "ship_name": "Wido Widget",
        "ship_street": "Hauptstr. 7",
        "ship_city": "Berlin",
        "ship_postcode": "10115",
        "ship_country": "DE",
        "payment_method": method,
        "items": [{"sku": v["sku"], "quantity": 1} for v in lines],
        "payments": [{"kind": "payment", "method": method, "amount": total}],
    }
    if status == "delivered":
        row.update(
            shipped_at=(today - timedelta(days=4)).isoformat(),
            delivered_at=(today - timedelta(days=1)).isoformat(),
            carrier="DHL",
            tracking_number="00340434393104",
        )
    return row


def import_widget_shop(db_path: str | Path, folder: Path) -> dict[str, Any]:
    """Import the shoppers and :data:`ORDERS` into the shop at ``db_path``.

    Args:
        db_path: The stack's shop database (real SQLite, the servers keep running).
        folder: An empty folder for the JSON Lines files imported.

    Returns:
        ``{"a": ..., "b": ...}`` (:func:`pick_products`) and ``"total"``, the amount of
        the payment method orders.
    """
    from knowledge.importers import import_files
    from knowledge.store import Store

    today = date.today()
    store = Store.open(db_path)
    try:
        taken = [n for n in ORDERS.values() if store.get_order(n) is not None]
        assert not taken, f"order numbers already in the shop: {taken}"
        picked = pick_products(store)
        a, b = picked["a"], picked["b"]
        plain = store.query(
            "SELECT sku, price FROM products WHERE category != 'gift cards' AND price > 40 "
            "ORDER BY id LIMIT 1"
        )[0]
        plain_line = {"sku": str(plain["sku"]), "price": float(plain["price"])}
        home = {
            "name": "Moritz Mover",
            "street": "Ringstraße 119",
            "city": "Wien",
            "postcode": "1090",
            "country": "AT",
        }
        customers = [
            {
                "email": PAYER,
                "name": "Paula Widget",
                "payment_methods": [
                    {"kind": "card", "brand": "Mastercard", "last4": "5151", "default": True},
                    {"kind": "paypal"},
                    {"kind": "gift_card", "code": PAYER_GIFT, "balance": 5},
                ],
            },
            {
                "email": CHANGER,
                "name": "Chris Widget",
                "payment_methods": [
                    {"kind": "card", "brand": "Visa", "last4": "4711", "default": True}
                ],
            },
            {
                "email": RETURNER,
                "name": "Rita Widget",
                "payment_methods": [
                    {"kind": "card", "brand": "Visa", "last4": "1212", "default": True},
                    {"kind": "gift_card", "code": RETURNER_GIFT, "balance": 10},
                ],
            },
            {
                "email": MOVER,
                "name": "Moritz Mover",
                "address": home,
                "payment_methods": [
                    {"kind": "card", "brand": "Visa", "last4": "8080", "default": True}
                ],
            },
        ]
        pair = [a["current"], b["current"]]
        orders = [
            _order(ORDERS["pay_switch"], PAYER, "pending", "card:5151", [plain_line], today),
            _order(ORDERS["pay_refused"], PAYER, "pending", "card:5151", [plain_line], today),
            _order(ORDERS["items"], CHANGER, "pending", "card:4711", pair, today),
            _order(ORDERS["exchange"], CHANGER, "delivered", "card:4711", [a["current"]], today),
            _order(
                ORDERS["exchange_words"], CHANGER, "delivered", "card:4711", [a["current"]], today
            ),
            _order(ORDERS["return"], RETURNER, "delivered", "card:1212", pair, today),
            _order(ORDERS["address"], MOVER, "processing", "card:8080", [plain_line], today),
        ]
        (folder / "customers.jsonl").write_text("\n".join(json.dumps(c) for c in customers))
        (folder / "orders.jsonl").write_text("\n".join(json.dumps(o) for o in orders))
        report = import_files(
            store, [folder / "customers.jsonl", folder / "orders.jsonl"], progress=False
        )
        assert report.ok, report.summary()
    finally:
        store.close()
    return {**picked, "total": plain_line["price"]}
