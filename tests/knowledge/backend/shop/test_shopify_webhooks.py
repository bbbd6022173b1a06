"""Shopify webhooks into the store: signature, duplicates, logging, and the mapped changes."""

from __future__ import annotations

import copy
import json

import pytest

from knowledge.backend.shopify_sync import (
    Batch,
    apply_batch,
    external_id_of,
    local_id_of,
    receive_webhook,
    sign_webhook,
    verify_webhook,
)
from tests.support.standin import SECRET


def _headers(topic: str, body: bytes, webhook_id: str = "wh-1", secret: str = SECRET) -> dict:
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_webhook(secret, body),
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Shop-Domain": "standin.myshopify.com",
    }


def _events(store) -> list[dict]:
    return store.query("SELECT topic, webhook_id, status, error FROM webhook_events ORDER BY id")


def _shop_order(data, status: str) -> dict:
    """A deep copy of a stand-in order of the given shopbot status."""
    from knowledge.backend.shopify_sync import order_status

    return copy.deepcopy(next(o for o in data["orders"] if order_status(o) == status))


def test_signature_is_base64_hmac_sha256_of_the_raw_body():
    import base64
    import hashlib
    import hmac

    body = b'{"id": 1}'
    expected = base64.b64encode(hmac.new(b"k", body, hashlib.sha256).digest()).decode()
    assert sign_webhook("k", body) == expected
    assert verify_webhook("k", body, expected)
    assert not verify_webhook("k", body + b" ", expected)
    assert not verify_webhook("", body, sign_webhook("", body))
    assert not verify_webhook("k", body, None)


def test_orders_updated_changes_the_order_in_the_store(demo_store, standin_data):
    order = _shop_order(standin_data, "processing")
    order["shipping_address"].update(
        address1="12 Baker Street", city="London", zip="NW1 6XE", country_code="GB"
    )
    order["fulfillments"] = [
        {
            "id": 1,
            "status": "success",
            "tracking_company": "Royal Mail",
            "tracking_number": "RM123456789GB",
            "shipment_status": "in_transit",
            "created_at": "2026-03-15T10:00:00Z",
            "updated_at": "2026-03-15T10:00:00Z",
            "line_items": [
                {"id": li["id"], "quantity": li["quantity"]} for li in order["line_items"]
            ],
        }
    ]
    body = json.dumps(order).encode()
    outcome = receive_webhook(demo_store, SECRET, _headers("orders/updated", body), body)
    assert (outcome.http_status, outcome.status) == (200, "applied")
    row = demo_store.get_order(order["name"])
    assert row["status"] == "shipped"
    assert (row["ship_street"], row["ship_city"], row["ship_country"]) == (
        "12 Baker Street",
        "London",
        "GB",
    )
    assert row["tracking_number"] == "RM123456789GB"
    fulfilments = demo_store.fulfilments(row["id"])
    assert [f["carrier"] for f in fulfilments] == ["Royal Mail"]
    assert local_id_of(demo_store, "order", order["id"]) == row["id"]
    assert external_id_of(demo_store, "order", row["id"]) == str(order["id"])
    assert _events(demo_store) == [
        {"topic": "orders/updated", "webhook_id": "wh-1", "status": "applied", "error": None}
    ]


def test_wrong_signature_is_401_logged_and_changes_nothing(demo_store, standin_data):
    order = _shop_order(standin_data, "processing")
    before = demo_store.get_order(order["name"])
    order["cancelled_at"] = "2026-03-16T10:00:00Z"
    body = json.dumps(order).encode()
    headers = _headers("orders/cancelled", body, secret="another-secret-" + "z" * 20)
    outcome = receive_webhook(demo_store, SECRET, headers, body)
    assert (outcome.http_status, outcome.status) == (401, "rejected")
    assert demo_store.get_order(order["name"]) == before
    (event,) = _events(demo_store)
    assert event["status"] == "rejected" and event["webhook_id"] is None
    assert "wh-1" in event["error"]
    unsigned = {k: v for k, v in headers.items() if "Hmac" not in k}
    assert receive_webhook(demo_store, SECRET, unsigned, body).http_status == 401
    # a later, well-signed delivery with the same id is not blocked by the forged one
    good = receive_webhook(demo_store, SECRET, _headers("orders/cancelled", body), body)
    assert good.status == "applied"
    assert demo_store.get_order(order["name"])["status"] == "cancelled"


def test_a_duplicate_webhook_id_is_ignored(demo_store, standin_data):
    order = _shop_order(standin_data, "processing")
    order["cancelled_at"] = "2026-03-16T10:00:00Z"
    body = json.dumps(order).encode()
    assert (
        receive_webhook(demo_store, SECRET, _headers("orders/cancelled", body, "same"), body).status
        == "applied"
    )
    # the shop changes the order again, but the delivery repeats an id already applied
    order["cancelled_at"] = None
    body2 = json.dumps(order).encode()
    dup = receive_webhook(demo_store, SECRET, _headers("orders/updated", body2, "same"), body2)
    assert (dup.http_status, dup.status) == (200, "duplicate")
    assert demo_store.get_order(order["name"])["status"] == "cancelled"
    assert [e["status"] for e in _events(demo_store)] == ["applied", "duplicate"]


def test_an_invalid_payload_is_logged_failed_and_changes_nothing(demo_store, standin_data):
    order = _shop_order(standin_data, "processing")
    before = demo_store.get_order(order["name"])
    order["line_items"] = []
    order["shipping_address"]["city"] = "Nowhere"
    body = json.dumps(order).encode()
    outcome = receive_webhook(demo_store, SECRET, _headers("orders/updated", body, "bad-1"), body)
    assert outcome.status == "failed" and "items" in outcome.message
    assert demo_store.get_order(order["name"]) == before
    (event,) = _events(demo_store)
    assert event["status"] == "failed" and "items" in event["error"]
    # Shopify's retry of the same delivery, once the data is fixed, is applied
    fixed = _shop_order(standin_data, "processing")
    fixed["shipping_address"]["city"] = "Somewhere"
    body = json.dumps(fixed).encode()
    assert (
        receive_webhook(demo_store, SECRET, _headers("orders/updated", body, "bad-1"), body).status
        == "applied"
    )
    assert demo_store.get_order(order["name"])["ship_city"] == "Somewhere"


def test_unknown_topic_and_broken_json(demo_store):
    body = b"{}"
    assert (
        receive_webhook(demo_store, SECRET, _headers("app/uninstalled", body), body).http_status
        == 400
    )
    body = b"not json"
    assert (
        receive_webhook(demo_store, SECRET, _headers("orders/create", body, "j"), body).http_status
        == 400
    )
    assert [e["status"] for e in _events(demo_store)] == ["failed", "failed"]


def test_orders_create_brings_a_new_customer_along(demo_store, standin_data):
    order = _shop_order(standin_data, "processing")
    order.update(id=42, name="SB-777777", email="new.shopper@example.org")
    order["customer"] = {
        "id": 4242,
        "email": "new.shopper@example.org",
        "first_name": "New",
        "last_name": "Shopper",
    }
    body = json.dumps(order).encode()
    assert (
        receive_webhook(demo_store, SECRET, _headers("orders/create", body, "c1"), body).status
        == "applied"
    )
    row = demo_store.get_order("SB-777777")
    customer = demo_store.get_customer(row["customer_id"])
    assert (customer["email"], customer["name"]) == ("new.shopper@example.org", "New Shopper")
    assert local_id_of(demo_store, "customer", 4242) == customer["id"]
    assert len(demo_store.order_items(row["id"])) == len(order["line_items"])


def test_customers_update_sets_the_default_address(demo_store, standin_data):
    customer = copy.deepcopy(next(c for c in standin_data["customers"] if c["default_address"]))
    customer["default_address"].update(
        address1="1 New Road", city="Leeds", zip="LS1 1AA", country_code="GB"
    )
    customer["phone"] = "+44 113 496 0000"
    body = json.dumps(customer).encode()
    assert (
        receive_webhook(demo_store, SECRET, _headers("customers/update", body), body).status
        == "applied"
    )
    row = demo_store.get_customer_by_email(customer["email"])
    assert (row["address_street"], row["address_city"], row["phone"]) == (
        "1 New Road",
        "Leeds",
        "+44 113 496 0000",
    )


def test_products_update_changes_price_and_stock(demo_store, standin_data):
    product = copy.deepcopy(next(p for p in standin_data["products"] if len(p["variants"]) > 1))
    product["title"] = "Renamed in the shop"
    product["variants"][0]["price"] = "1.50"
    product["variants"][0]["inventory_quantity"] = 0
    body = json.dumps(product).encode()
    assert (
        receive_webhook(demo_store, SECRET, _headers("products/update", body), body).status
        == "applied"
    )
    row = demo_store.get_product(product["handle"])
    assert row["title"] == "Renamed in the shop"
    variant = demo_store.get_variant(product["variants"][0]["sku"])
    assert (variant["price"], variant["stock"]) == (1.5, 0)
    assert local_id_of(demo_store, "variant", product["variants"][0]["id"]) == variant["id"]


def test_bulk_apply_of_the_whole_shop_is_all_or_nothing(empty_store, standin_data):
    broken = copy.deepcopy(standin_data)
    broken["orders"][-1]["line_items"] = []
    from knowledge.importers import ImportFailed

    with pytest.raises(ImportFailed):
        apply_batch(empty_store, Batch(**broken), actor="test")
    assert empty_store.counts()["orders"] == 0
    assert empty_store.query("SELECT COUNT(*) AS n FROM external_ids") == [{"n": 0}]
    report = apply_batch(empty_store, Batch(**standin_data), actor="test")
    assert report.counts["orders"]["inserted"] == len(standin_data["orders"])


def test_importing_the_shop_into_the_database_it_came_from_changes_no_order(demo_store):
    from shopbot.standin.shopify import shop_from_store

    tables = ("customers", "product_variants", "orders", "order_items", "fulfilments")
    before = {t: demo_store.query(f"SELECT * FROM {t} ORDER BY id") for t in tables}
    report = apply_batch(demo_store, Batch(**shop_from_store(demo_store)), actor="test")
    assert report.counts["orders"]["unchanged"] == len(before["orders"])
    assert report.counts["customers"]["unchanged"] == len(before["customers"])
    for table in tables:
        assert demo_store.query(f"SELECT * FROM {table} ORDER BY id") == before[table], table
    order = before["orders"][0]
    assert external_id_of(demo_store, "order", order["id"]) is not None
    item = before["order_items"][0]
    assert external_id_of(demo_store, "line_item", item["id"]) is not None


def test_map_product_reads_default_title_tags_and_html():
    from knowledge.backend.shopify_sync import map_product

    single = map_product(
        {
            "id": 1,
            "handle": "gift-card",
            "title": "Gift card",
            "body_html": "<p>Give <b>joy</b></p>",
            "vendor": "Shop",
            "product_type": "Gift Cards",
            "tags": "final-sale, colour:red, sizes:S|M",
            "variants": [
                {
                    "id": 2,
                    "sku": "GC-1",
                    "title": "Default Title",
                    "price": "25.00",
                    "inventory_quantity": 9,
                }
            ],
        }
    )
    assert (single["sku"], single["price"], single["stock"]) == ("GC-1", 25.0, 9)
    assert single["returnable"] is False and "variants" not in single
    assert single["attributes"] == {"colour": "red", "sizes": ["S", "M"]}
    assert single["description"].split() == ["Give", "joy"]
