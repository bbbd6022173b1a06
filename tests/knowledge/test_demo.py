"""The demo shop builder: sizes, every status and edge case, coherence, determinism."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlite_utils import Database

from knowledge.demo import (
    CATEGORIES,
    CHANGE_SCENARIOS,
    DEMO_TODAY,
    MIN_PER_SCENARIO,
    SCENARIOS,
    build_demo,
    scenario_of,
)
from knowledge.rules import can_cancel, refund_amount, return_window
from knowledge.schema import ORDER_STATUSES
from knowledge.store import Store

TODAY = DEMO_TODAY  # the conftest builds demo_store with this date
ALL_SCENARIOS = {name for name, _ in SCENARIOS} | {name for name, _, _ in CHANGE_SCENARIOS}

TRACKING = {
    "DHL": r"^00340434\d{12}$",
    "DHL Express": r"^JJD\d{18}$",
    "UPS": r"^1Z[0-9A-Z]{6}\d{10}$",
    "DPD": r"^0\d{13}$",
    "Hermes": r"^H\d{19}$",
}


def dump(store):
    return {
        t: store.query(f"SELECT * FROM {t} ORDER BY id")
        for t in ("products", "customers", "orders", "order_items", "returns", "faq")
    }


def test_small_demo_counts(demo_store):
    counts = demo_store.counts()
    assert counts["products"] == 200 and counts["customers"] == 30 and counts["orders"] == 200
    assert counts["faq"] >= 60
    assert counts["order_items"] >= 200
    assert len(demo_store.categories()) == len(CATEGORIES) >= 15


def test_every_status_and_scenario_is_present(demo_store):
    orders = demo_store.query("SELECT * FROM orders")
    assert {o["status"] for o in orders} == set(ORDER_STATUSES)
    scenarios: dict[str, int] = {}
    for order in orders:
        name = scenario_of(demo_store, order, TODAY, 30)
        scenarios[name] = scenarios.get(name, 0) + 1
    assert set(scenarios) == ALL_SCENARIOS
    assert min(scenarios.values()) >= MIN_PER_SCENARIO


def test_edges_agree_with_the_rules(demo_store):
    today = TODAY
    for order in demo_store.query("SELECT * FROM orders"):
        scenario = scenario_of(demo_store, order, today, 30)
        items = demo_store.order_items(order["id"])
        if scenario in ("pending", "processing"):
            assert can_cancel(order).ok and order["tracking_number"] is None
            assert order["estimated_delivery"] >= today.isoformat()
        elif scenario == "shipped":
            assert (
                order["shipped_at"]
                and order["tracking_number"]
                and order["estimated_delivery"] >= today.isoformat()
            )
        elif scenario == "late":
            assert order["status"] == "shipped" and order["estimated_delivery"] < today.isoformat()
            assert not order["delivered_at"]
        elif scenario == "delivered_recent":
            assert return_window(order, today, 30).ok
        elif scenario == "delivered_old":
            assert return_window(order, today, 30).code == "window_expired"
        elif scenario == "cancelled":
            assert not can_cancel(order).ok and order["shipped_at"] is None
        elif scenario == "returned":
            assert all(i["returned_quantity"] == i["quantity"] for i in items)
            assert demo_store.returns_for_order(order["id"])
        elif scenario == "partially_returned":
            assert order["status"] == "delivered"
            assert any(i["returned_quantity"] for i in items)
            assert any(i["returned_quantity"] < i["quantity"] for i in items)
            ret = demo_store.returns_for_order(order["id"])[0]
            by_id = {i["id"]: i for i in items}
            for line in ret["items"]:
                assert line["amount"] == refund_amount(
                    order, by_id[line["order_item_id"]], line["quantity"]
                )
        if order["shipped_at"]:
            assert order["shipped_at"] >= order["placed_at"][:10]
        if order["delivered_at"]:
            assert order["shipped_at"] < order["delivered_at"] <= today.isoformat() + "T23:59:59"


def test_money_adds_up(demo_store):
    for order in demo_store.query("SELECT * FROM orders"):
        items = demo_store.order_items(order["id"])
        assert order["subtotal"] == pytest.approx(
            sum(i["unit_price"] * i["quantity"] for i in items), abs=0.011
        )
        assert order["total"] == pytest.approx(
            order["subtotal"] + order["shipping_cost"] + order["tax"], abs=0.011
        )
        assert 0 < order["tax"] < order["subtotal"] * 0.25 + 0.01


def test_people_and_formats_look_real(demo_store):
    customers = demo_store.query("SELECT * FROM customers")
    emails = [c["email"] for c in customers]
    assert len(set(emails)) == len(emails)
    assert all(re.match(r"^[a-z0-9._]+@(mail\.)?example\.(com|org|net)$", e) for e in emails)
    assert all(" " in c["name"] for c in customers)
    for order in demo_store.query("SELECT * FROM orders"):
        assert re.match(r"^SB-\d{6}$", order["order_number"])
        assert order["ship_country"] and order["ship_postcode"] and order["ship_street"]
        if order["tracking_number"]:
            assert re.match(TRACKING[order["carrier"]], order["tracking_number"]), order
    numbers = [
        o["order_number"]
        for o in demo_store.query("SELECT order_number FROM orders ORDER BY placed_at, id")
    ]
    assert numbers == sorted(numbers)


def test_products_are_coherent(demo_store):
    products = demo_store.products()
    assert len({p["sku"] for p in products}) == len(products)
    for p in products:
        assert p["brand"] and p["title"] and p["description"] and p["price"] > 0
        assert p["product_url"] == f"/products/{p['sku']}"
        assert p["image_url"] == f"/static/img/products/{p['category'].replace(' ', '-')}.svg"
        assert p["brand"] in p["title"]
        if p["category"] in ("underwear", "gift cards"):
            assert p["returnable"] == 0
        if p["attributes"].get("final_sale") or p["attributes"].get("personalised"):
            assert p["returnable"] == 0
        if "material" in p["attributes"]:
            assert p["attributes"]["material"] in p["description"]
    assert any(p["stock"] == 0 for p in products) and any(p["stock"] > 0 for p in products)
    shoes = [p for p in products if p["category"] == "running shoes"]
    assert shoes and all(
        set(p["attributes"]["sizes"]) <= {str(s) for s in range(36, 48)} for p in shoes
    )


def test_build_is_deterministic_and_seed_dependent():
    a, b, c = (Store(Database(memory=True)) for _ in range(3))
    sa = build_demo(a, seed=3, products=120, customers=10, orders=60, today=TODAY, progress=False)
    sb = build_demo(b, seed=3, products=120, customers=10, orders=60, today=TODAY, progress=False)
    build_demo(c, seed=4, products=120, customers=10, orders=60, today=TODAY, progress=False)
    assert dump(a) == dump(b) and sa == sb
    assert dump(a)["products"] != dump(c)["products"]
    # a tiny build has only MIN_PER_SCENARIO orders of some kinds to change
    assert {name for name, _ in SCENARIOS} <= set(sa["examples"]) <= ALL_SCENARIOS


def test_full_size_demo():
    store = Store(Database(memory=True))
    stats = build_demo(store, progress=False)
    assert stats["products"] >= 2000 and stats["customers"] >= 300 and stats["orders"] >= 2000
    assert stats["faq"] >= 60 and stats["categories"] >= 15
    assert set(stats["statuses"]) == set(ORDER_STATUSES)
    assert min(stats["scenarios"].values()) >= 10


def test_real_today_option_and_refusals():
    store = Store(Database(memory=True))
    stats = build_demo(
        store, products=60, customers=5, orders=30, today=None, faq_path=None, progress=False
    )
    assert stats["today"] == date.today().isoformat() and stats["faq"] == 0
    with pytest.raises(ValueError, match="not empty"):
        build_demo(store, products=60, customers=5, orders=30, progress=False)
    with pytest.raises(ValueError):
        build_demo(Store(Database(memory=True)), products=10, progress=False)
