"""Shoppers and orders of the support desk's end-to-end and browser tests (cancel with a
reason, payment method change), imported into a stack's shop through the documented
importer (``docs/import-format.md``).

The demo shop has few pending orders and other tests cancel or change them; these
shoppers and order numbers are used by no other test. Each test module imports them into
its own stack's shop (a private copy), so one module's cancel never meets another's. The
imported shoppers have the highest customer ids: a module that also uses ``spare_orders``
(``tests/e2e/conftest.py``) must let it choose first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: A shopper with a Visa card and a gift card that covers any of their orders.
CANCELLER = "desk.cancel.e2e@example.com"
#: A shopper with a Mastercard, PayPal and a gift card of €5.
PAYER = "desk.pay.e2e@example.com"
SMALL_GIFT = "GC-3900-0000-0005"
BIG_GIFT = "GC-3900-0000-0500"
#: The orders imported (numbers checked to be free first).
ORDERS = {
    "cancel_card": "SB-390001",  # CANCELLER, pending, paid by card
    "shipped": "SB-390002",  # CANCELLER, shipped, paid by card
    "cancel_gift": "SB-390003",  # CANCELLER, pending, paid by the big gift card
    "browser": "SB-390004",  # CANCELLER, pending, paid by card (the widget test)
    "switch": "SB-390011",  # PAYER, pending, paid by card
    "gift_small": "SB-390012",  # PAYER, pending, paid by card (more than the small gift card)
}


def _order(number: str, email: str, status: str, method: str, sku: str, total: float) -> dict:
    row: dict[str, Any] = {
        "order_number": number,
        "customer_email": email,
        "status": status,
        "placed_at": "2026-12-01",
        "ship_name": "Dana Desk",
        "ship_street": "Hauptstr. 5",
        "ship_city": "Berlin",
        "ship_postcode": "10115",
        "ship_country": "DE",
        "payment_method": method,
        "items": [{"sku": sku, "quantity": 1}],
        "payments": [{"kind": "payment", "method": method, "amount": total}],
    }
    if status == "shipped":
        row.update(
            shipped_at="2026-12-03",
            estimated_delivery="2026-12-30",
            carrier="DHL",
            tracking_number="00340434390002",
        )
    return row


def import_desk_shop(db_path: str | Path, folder: Path) -> dict[str, Any]:
    """Import :data:`CANCELLER`, :data:`PAYER` and :data:`ORDERS` into the shop at ``db_path``.

    Args:
        db_path: The stack's shop database (real SQLite, the servers keep running).
        folder: An empty folder for the JSON Lines files imported.

    Returns:
        ``{"total": the amount of every imported order}``.
    """
    from knowledge.importers import import_files
    from knowledge.store import Store

    store = Store.open(db_path)
    try:
        taken = [n for n in ORDERS.values() if store.get_order(n) is not None]
        assert not taken, f"order numbers already in the shop: {taken}"
        product = store.query(
            "SELECT sku, price FROM products WHERE category != 'gift cards' AND price > 40 "
            "ORDER BY id LIMIT 1"
        )[0]
        sku, total = str(product["sku"]), float(product["price"])
        customers = [
            {
                "email": CANCELLER,
                "name": "Dana Desk",
                "payment_methods": [
                    {"kind": "card", "brand": "Visa", "last4": "4242", "default": True},
                    {"kind": "gift_card", "code": BIG_GIFT, "balance": 500},
                ],
            },
            {
                "email": PAYER,
                "name": "Pat Payer",
                "payment_methods": [
                    {"kind": "card", "brand": "Mastercard", "last4": "5555", "default": True},
                    {"kind": "paypal"},
                    {"kind": "gift_card", "code": SMALL_GIFT, "balance": 5},
                ],
            },
        ]
        orders = [
            _order(ORDERS["cancel_card"], CANCELLER, "pending", "card:4242", sku, total),
            _order(ORDERS["shipped"], CANCELLER, "shipped", "card:4242", sku, total),
            _order(
                ORDERS["cancel_gift"], CANCELLER, "pending", f"gift_card:{BIG_GIFT}", sku, total
            ),
            _order(ORDERS["browser"], CANCELLER, "pending", "card:4242", sku, total),
            _order(ORDERS["switch"], PAYER, "pending", "card:5555", sku, total),
            _order(ORDERS["gift_small"], PAYER, "pending", "card:5555", sku, total),
        ]
        (folder / "customers.jsonl").write_text("\n".join(json.dumps(c) for c in customers))
        (folder / "orders.jsonl").write_text("\n".join(json.dumps(o) for o in orders))
        report = import_files(
            store, [folder / "customers.jsonl", folder / "orders.jsonl"], progress=False
        )
        assert report.ok, report.summary()
    finally:
        store.close()
    return {"total": total}
