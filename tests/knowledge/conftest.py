"""Shared knowledge-base fixtures: a tiny hand-made shop and a small demo shop.

``store``: a migrated SQLite file in ``tmp_path`` with the :data:`TINY` data below
(2 customers, 8 products, one order per status and edge case, 3 FAQ entries).
``demo_store``: a small deterministic demo shop (200 products, 30 customers,
200 orders, the full FAQ), built once per test session and copied per test.
Dates are fixed relative to :data:`TODAY`.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import pytest

TODAY = date(2026, 3, 16)  # == knowledge.demo.DEMO_TODAY
WINDOW_DAYS = 30


@pytest.fixture
def today() -> date:
    """The fixed date both the tiny shop and the demo shop are relative to."""
    return TODAY


def _d(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


TINY_CUSTOMERS = [
    {
        "id": 1,
        "email": "alice.martin@example.com",
        "name": "Alice Martin",
        "phone": "+49 30 1234567",
    },
    {"id": 2, "email": "bob.nguyen@example.com", "name": "Bob Nguyen", "phone": None},
]

TINY_PRODUCTS = [
    # id, sku, title, brand, category, price, stock, returnable, attributes
    (
        1,
        "RUN-00001",
        "Trailblazer 5 Trail Running Shoe",
        "Stridewell",
        "running shoes",
        119.0,
        12,
        1,
        {"size": "42", "colour": "blue", "material": "mesh"},
    ),
    (
        2,
        "BOO-00002",
        "Highland Leather Hiking Boot",
        "Fjellmark",
        "boots",
        159.0,
        0,
        1,
        {"size": "41", "colour": "brown", "material": "leather"},
    ),
    (
        3,
        "JAC-00003",
        "Stormshell Waterproof Rain Jacket",
        "Northcrest",
        "jackets",
        89.5,
        5,
        1,
        {"size": "M", "colour": "red", "material": "nylon"},
    ),
    (
        4,
        "TSH-00004",
        "Organic Cotton Crew T-Shirt",
        "Basic Threads",
        "t-shirts",
        19.9,
        40,
        1,
        {"size": "L", "colour": "white", "material": "organic cotton"},
    ),
    (
        5,
        "UND-00005",
        "Cotton Boxer Briefs 3-Pack",
        "Basic Threads",
        "underwear",
        24.0,
        30,
        0,
        {"size": "M", "colour": "black", "material": "cotton"},
    ),
    (6, "GFT-00006", "Shopbot Gift Card 50 EUR", "Shopbot", "gift cards", 50.0, 999, 0, {}),
    (
        7,
        "HEA-00007",
        "Pulse ANC Wireless Headphones",
        "Sonara",
        "headphones",
        199.0,
        3,
        1,
        {"colour": "black", "connectivity": "bluetooth 5.3", "battery": "30 h"},
    ),
    (
        8,
        "BAC-00008",
        "Summit 28L Hiking Backpack",
        "Fjellmark",
        "backpacks",
        74.0,
        8,
        1,
        {"colour": "green", "capacity": "28 L", "material": "recycled polyester"},
    ),
]

# order_number, customer, status, placed (days ago), shipped, delivered, estimated, items [(product id, qty, returned)]
TINY_ORDERS = [
    ("SB-100001", 1, "pending", 1, None, None, -4, [(1, 1, 0)]),
    ("SB-100002", 1, "processing", 2, None, None, -3, [(3, 1, 0), (4, 2, 0)]),
    ("SB-100003", 2, "shipped", 6, 4, None, -2, [(7, 1, 0)]),
    ("SB-100004", 1, "delivered", 12, 10, 8, 8, [(1, 1, 0), (5, 1, 0), (4, 3, 0)]),
    ("SB-100005", 2, "delivered", 70, 68, 65, 65, [(2, 1, 0)]),
    ("SB-100006", 1, "cancelled", 20, None, None, 15, [(8, 1, 0)]),
    ("SB-100007", 2, "returned", 40, 38, 25, 25, [(3, 1, 1)]),
    ("SB-100008", 1, "delivered", 15, 13, 10, 10, [(4, 4, 1), (6, 1, 0)]),  # partially returned
    ("SB-100009", 2, "shipped", 14, 12, None, 5, [(8, 1, 0)]),  # late: estimate in the past
]

TINY_FAQ = [
    (
        "return-policy",
        "What is your return policy?",
        "You can return most items within 30 days of delivery for a full refund.",
        "returns",
        ["How do I return something?", "Can I send an item back?"],
    ),
    (
        "shipping-times",
        "How long does shipping take?",
        "Standard shipping takes 2-4 business days; express arrives the next business day.",
        "shipping",
        ["When will my order arrive?", "What are the delivery times?"],
    ),
    (
        "payment-methods",
        "Which payment methods do you accept?",
        "We accept credit cards, PayPal, Klarna and bank transfer.",
        "payment",
        ["Can I pay with PayPal?"],
    ),
]


def seed_tiny(store) -> None:
    """Insert :data:`TINY_*` into a migrated store (row ids as listed)."""
    now = f"{TODAY.isoformat()}T09:00:00+00:00"
    db = store.db
    with store.transaction():
        for c in TINY_CUSTOMERS:
            db.execute(
                "INSERT INTO customers (id, email, name, phone, created_at) VALUES (?, ?, ?, ?, ?)",
                [c["id"], c["email"], c["name"], c["phone"], _d(400)],
            )
        for pid, sku, title, brand, cat, price, stock, ret, attrs in TINY_PRODUCTS:
            desc = f"{title} by {brand}. " + ", ".join(f"{k}: {v}" for k, v in attrs.items())
            db.execute(
                "INSERT INTO products (id, sku, title, description, brand, category, price, currency,"
                " attributes, stock, rating, image_url, product_url, returnable, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'EUR', ?, ?, 4.2, ?, ?, ?, ?)",
                [
                    pid,
                    sku,
                    title,
                    desc,
                    brand,
                    cat,
                    price,
                    json.dumps(attrs),
                    stock,
                    f"/static/img/products/{cat.replace(' ', '-')}.svg",
                    f"/products/{sku}",
                    ret,
                    now,
                ],
            )
        item_id = 0
        for oid, (number, cust, status, placed, shipped, delivered, est, items) in enumerate(
            TINY_ORDERS, 1
        ):
            prices = {p[0]: (p[1], p[2], p[5]) for p in TINY_PRODUCTS}
            subtotal = round(sum(prices[p][2] * q for p, q, _ in items), 2)
            tax = round(subtotal * 0.19, 2)
            shipping = 4.95
            db.execute(
                "INSERT INTO orders (id, order_number, customer_id, status, placed_at, shipped_at, delivered_at,"
                " carrier, tracking_number, estimated_delivery, ship_name, ship_street, ship_city,"
                " ship_postcode, ship_country, subtotal, shipping_cost, tax, total, currency, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'DHL', ?, ?, ?, 'Hauptstrasse 5', 'Berlin', '10115', 'DE',"
                " ?, ?, ?, ?, 'EUR', ?)",
                [
                    oid,
                    number,
                    cust,
                    status,
                    _d(placed),
                    _d(shipped) if shipped is not None else None,
                    _d(delivered) if delivered is not None else None,
                    f"00340434{oid:010d}" if shipped is not None else None,
                    _d(est),
                    TINY_CUSTOMERS[cust - 1]["name"],
                    subtotal,
                    shipping,
                    tax,
                    round(subtotal + shipping + tax, 2),
                    now,
                ],
            )
            for pid, qty, returned in items:
                item_id += 1
                sku, title, price = prices[pid]
                db.execute(
                    "INSERT INTO order_items (id, order_id, product_id, sku, title, quantity, unit_price,"
                    " returned_quantity) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [item_id, oid, pid, sku, title, qty, price, returned],
                )
        for key, q, a, cat, alts in TINY_FAQ:
            db.execute(
                "INSERT INTO faq (key, question, answer, category, alternatives, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [key, q, a, cat, json.dumps(alts), now],
            )


@pytest.fixture
def store(tmp_path):
    """A migrated SQLite file with the tiny hand-made shop (see module docstring)."""
    from knowledge.store import Store

    s = Store.open(tmp_path / "shop.db")
    seed_tiny(s)
    yield s
    s.close()


@pytest.fixture
def empty_store(tmp_path):
    """A migrated, empty SQLite file."""
    from knowledge.store import Store

    s = Store.open(tmp_path / "empty.db")
    yield s
    s.close()


@pytest.fixture(scope="session")
def _demo_db_file(tmp_path_factory):
    from knowledge.demo import build_demo
    from knowledge.store import Store

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    s = Store.open(path)
    build_demo(s, seed=7, products=200, customers=30, orders=200, today=TODAY, progress=False)
    s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    return path


@pytest.fixture
def demo_store(_demo_db_file, tmp_path):
    """A small deterministic demo shop (copied per test, so tests may change it)."""
    from knowledge.store import Store

    path = tmp_path / "demo.db"
    shutil.copyfile(_demo_db_file, path)
    s = Store.open(path)
    yield s
    s.close()


# --------------------------------------------------------------------------- issue 13 data
#: variant id, product id, sku, options, price, stock
TINY_VARIANTS = [
    (1, 1, "RUN-00001-BLUE-41", {"colour": "blue", "size": "41"}, 119.0, 4),
    (2, 1, "RUN-00001-BLUE-42", {"colour": "blue", "size": "42"}, 119.0, 6),
    (3, 1, "RUN-00001-BLUE-43", {"colour": "blue", "size": "43"}, 119.0, 2),
    (4, 1, "RUN-00001-RED-42", {"colour": "red", "size": "42"}, 124.0, 3),
    (5, 1, "RUN-00001-BLUE-44", {"colour": "blue", "size": "44"}, 119.0, 0),
    (6, 3, "JAC-00003-RED-M", {"colour": "red", "size": "M"}, 89.5, 5),
    (7, 3, "JAC-00003-RED-L", {"colour": "red", "size": "L"}, 89.5, 2),
    (8, 3, "JAC-00003-BLACK-M", {"colour": "black", "size": "M"}, 79.5, 4),
    (9, 4, "TSH-00004-S", {"size": "S"}, 19.9, 10),
    (10, 4, "TSH-00004-M", {"size": "M"}, 19.9, 10),
    (11, 4, "TSH-00004-L", {"size": "L"}, 19.9, 10),
]
#: order item id -> variant id (the variant each tiny order item was ordered in)
TINY_ITEM_VARIANTS = {1: 2, 2: 6, 3: 10, 5: 2, 7: 10, 10: 6, 11: 10}
GIFT_CARD_SMALL = "1111-2222-3333-4444"  # Alice, 20.00 left
GIFT_CARD_BIG = "5555-6666-7777-8888"  # Alice, 500.00 left


def seed_commerce(store) -> dict[str, int]:
    """Variants, default addresses, payment methods and payment history for the tiny shop.

    Returns:
        Payment method ids: ``visa``, ``paypal``, ``gift_small``, ``gift_big`` (Alice),
        ``mastercard`` (Bob).
    """
    db = store.db
    stamp = f"{TODAY.isoformat()}T09:00:00+00:00"
    with store.transaction():
        for vid, pid, sku, options, price, stock in TINY_VARIANTS:
            db.execute(
                "INSERT INTO product_variants (id, product_id, sku, options, price, stock, position,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [vid, pid, sku, json.dumps(options), price, stock, vid, stamp],
            )
        db.execute('UPDATE products SET options = \'["colour","size"]\' WHERE id IN (1, 3)')
        db.execute("UPDATE products SET options = '[\"size\"]' WHERE id = 4")
        for item_id, vid in TINY_ITEM_VARIANTS.items():
            variant = store.get_variant(vid)
            db.execute(
                "UPDATE order_items SET variant_id = ?, sku = ?, options = ? WHERE id = ?",
                [vid, variant["sku"], json.dumps(variant["options"]), item_id],
            )
        db.execute(
            "UPDATE customers SET address_name = 'Alice Martin', address_street = 'Hauptstrasse 5',"
            " address_city = 'Berlin', address_postcode = '10115', address_country = 'DE'"
            " WHERE id = 1"
        )
        db.execute(
            "UPDATE customers SET address_name = 'Bob Nguyen', address_street = 'Rue de Rivoli 10',"
            " address_city = 'Paris', address_postcode = '75001', address_country = 'FR'"
            " WHERE id = 2"
        )
        ids = {
            "visa": store.insert_payment_method(
                1, "card", brand="Visa", last4="4242", is_default=True, created_at=stamp
            ),
            "paypal": store.insert_payment_method(
                1, "paypal", paypal_email="alice.martin@example.com", created_at=stamp
            ),
            "gift_small": store.insert_payment_method(
                1, "gift_card", gift_card_code=GIFT_CARD_SMALL, balance=20.0, created_at=stamp
            ),
            "gift_big": store.insert_payment_method(
                1, "gift_card", gift_card_code=GIFT_CARD_BIG, balance=500.0, created_at=stamp
            ),
            "mastercard": store.insert_payment_method(
                2, "card", brand="Mastercard", last4="5555", is_default=True, created_at=stamp
            ),
        }
        for order in store.query("SELECT * FROM orders"):
            method_id = ids["visa"] if order["customer_id"] == 1 else ids["mastercard"]
            db.execute(
                "UPDATE orders SET payment_method_id = ? WHERE id = ?", [method_id, order["id"]]
            )
            method = store.get_payment_method(method_id)
            store.insert_payment(order["id"], "payment", method, order["total"], at=stamp)
            if order["status"] == "cancelled":
                store.insert_payment(order["id"], "refund", method, order["total"], at=stamp)
    return ids


@pytest.fixture
def commerce(store) -> dict[str, int]:
    """The tiny shop with variants, addresses, payment methods and payments; returns the
    payment method ids of :func:`seed_commerce`."""
    return seed_commerce(store)
