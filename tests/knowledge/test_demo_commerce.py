"""The demo shop's variants, payment methods, payment history, fulfilments and changed
orders (issue 13)."""

from __future__ import annotations

from knowledge.demo import CATEGORIES, VARIANT_SIZINGS
from knowledge.operations import net_paid

VARIANT_CATEGORIES = {c.name for c in CATEGORIES if c.sizing in VARIANT_SIZINGS}


def test_clothing_and_shoes_have_colour_and_size_variants(demo_store):
    products = demo_store.products()
    with_variants = [p for p in products if demo_store.variants(p["id"])]
    assert with_variants and {p["category"] for p in with_variants} <= VARIANT_CATEGORIES
    for product in with_variants[:40]:
        variants = demo_store.variants(product["id"])
        assert product["options"] and set(variants[0]["options"]) == set(product["options"])
        assert len({v["sku"] for v in variants}) == len(variants)
        assert len({tuple(v["options"].items()) for v in variants}) == len(variants)
        assert all(v["price"] > 0 and v["stock"] >= 0 for v in variants)
    colours = {
        len({v["options"].get("colour") for v in demo_store.variants(p["id"])})
        for p in with_variants
    }
    assert max(colours) >= 2  # several colours of one product
    assert any(v["stock"] == 0 for p in with_variants for v in demo_store.variants(p["id"]))


def test_customers_have_addresses_and_payment_methods(demo_store):
    customers = demo_store.query("SELECT * FROM customers")
    kinds = set()
    for customer in customers:
        assert demo_store.default_address(customer)["ship_postcode"]
        methods = demo_store.payment_methods(customer["id"])
        assert methods[0]["kind"] == "card" and methods[0]["is_default"] == 1
        assert len(methods[0]["last4"]) == 4 and methods[0]["brand"]
        kinds |= {m["kind"] for m in methods}
        for card in (m for m in methods if m["kind"] == "gift_card"):
            assert card["balance"] > 0 and demo_store.get_gift_card(card["gift_card_code"])
    assert kinds == {"card", "paypal", "gift_card"}


def test_orders_have_payments_fulfilments_and_variants(demo_store):
    for order in demo_store.query("SELECT * FROM orders"):
        order = demo_store.get_order(order["order_number"])
        payments = demo_store.payments(order["id"])
        assert payments[0]["kind"] == "payment" and payments[0]["amount"] == order["total"]
        assert order["payment_method_id"] == payments[0]["payment_method_id"]
        if order["status"] == "cancelled":
            assert net_paid(demo_store, order) == 0
        items = demo_store.order_items(order["id"])
        fulfilments = demo_store.fulfilments(order["id"])
        if order["shipped_at"]:
            covered = sorted(i["order_item_id"] for f in fulfilments for i in f["items"])
            assert covered == sorted(i["id"] for i in items)
            assert fulfilments[0]["tracking_number"] == order["tracking_number"]
        else:
            assert fulfilments == []
        for item in items:
            if item["variant_id"] is not None:
                variant = demo_store.get_variant(item["variant_id"])
                assert variant["product_id"] == item["product_id"]
                if order["status"] != "items_modified":
                    assert item["options"] == variant["options"]


def test_changed_orders_keep_what_changed(demo_store):
    by_status = {
        s: demo_store.orders_by_status(s)
        for s in ("return_requested", "exchange_requested", "items_modified")
    }
    assert all(by_status.values())
    for order in by_status["return_requested"]:
        assert order["changes"][0]["kind"] == "return"
        assert demo_store.get_return(order["changes"][0]["rma_id"])["status"] == "requested"
    for order in by_status["exchange_requested"]:
        swap = order["changes"][0]["items"][0]
        assert order["changes"][0]["kind"] == "exchange"
        old, new = (demo_store.get_variant(swap[k]["variant_id"]) for k in ("from", "to"))
        assert old["product_id"] == new["product_id"] and old["id"] != new["id"]
    for order in by_status["items_modified"]:
        swap = order["changes"][0]["items"][0]
        item = next(
            i for i in demo_store.order_items(order["id"]) if i["id"] == swap["order_item_id"]
        )
        assert item["variant_id"] == swap["to"]["variant_id"] and item["sku"] == swap["to"]["sku"]


def test_demo_window_is_the_policy_window():
    from knowledge.demo import RETURN_WINDOW_DAYS
    from knowledge.policy import load_policy

    assert load_policy().return_window_days == RETURN_WINDOW_DAYS
