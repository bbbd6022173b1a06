"""Payment history from Shopify: order transactions served by the stand-in, read by the
client and the import, and written into ``payments`` idempotently."""

from __future__ import annotations

import json

from knowledge.backend.shopify_sync import (
    Batch,
    apply_batch,
    external_id_of,
    map_transactions,
    receive_webhook,
    sign_webhook,
)
from tests.support.standin import SECRET, TOKEN, http


def _payment_rows(store):
    return store.query(
        "SELECT order_id, kind, method, method_label, amount, status FROM payments ORDER BY id"
    )


def test_standin_serves_an_orders_transactions_with_auth_and_paging(standin, client, demo_store):
    refunded = demo_store.query(
        "SELECT order_id FROM payments WHERE kind = 'refund' AND method = 'card' LIMIT 1"
    )[0]["order_id"]
    order_id = 5_000_000_000 + refunded
    url = f"{standin.url}/admin/api/2025-01/orders/{order_id}/transactions.json"
    status, _, body = http("GET", url)
    assert status == 401 and "errors" in body
    status, headers, body = http("GET", f"{url}?limit=1", headers={"X-Shopify-Access-Token": TOKEN})
    assert status == 200 and len(body["transactions"]) == 1
    assert 'rel="next"' in headers["Link"]
    txs = client.transactions(order_id)
    assert [t["kind"] for t in txs][-1] == "refund"
    sale = txs[0]
    assert sale["kind"] in ("sale", "authorization") and sale["status"] == "success"
    card = demo_store.query(
        "SELECT m.brand, m.last4 FROM payments p JOIN payment_methods m"
        " ON m.id = p.payment_method_id WHERE p.order_id = ? AND p.kind = 'payment'",
        [refunded],
    )[0]
    assert sale["payment_details"]["credit_card_company"] == card["brand"]
    assert sale["payment_details"]["credit_card_number"].endswith(card["last4"])
    assert txs[-1]["parent_id"] == sale["id"]


def test_import_records_payment_history_and_methods_once(standin_data, empty_store, demo_store):
    batch = Batch(**standin_data)
    assert batch.transactions
    apply_batch(empty_store, batch, actor="test")
    rows = _payment_rows(empty_store)
    assert len(rows) == len(standin_data["transactions"])
    by_status = {}
    for o in demo_store.query("SELECT order_number, status FROM orders"):
        by_status[o["order_number"]] = o["status"]
    # a card payment names the card, and the card is the customer's and the order's method
    card = empty_store.query(
        "SELECT p.*, o.payment_method_id AS paying, o.order_number FROM payments p"
        " JOIN orders o ON o.id = p.order_id WHERE p.kind = 'payment' AND p.method = 'card'"
        " LIMIT 1"
    )[0]
    method = empty_store.get_payment_method(card["payment_method_id"])
    assert card["method_label"] == f"{method['brand']} ending {method['last4']}"
    assert card["paying"] == method["id"]
    # a pending (authorised-only) order's payment is pending: nothing was captured
    pending = [r for r in rows if r["kind"] == "payment" and r["status"] == "pending"]
    assert pending
    assert all(
        by_status[empty_store.get_order_by_id(r["order_id"])["order_number"]] == "pending"
        for r in pending
    )
    first = external_id_of(
        empty_store,
        "transaction",
        empty_store.query("SELECT id FROM payments ORDER BY id LIMIT 1")[0]["id"],
    )
    assert first is not None
    methods = empty_store.count("payment_methods")
    # the same import again: no new row
    apply_batch(empty_store, Batch(**standin_data), actor="test")
    assert _payment_rows(empty_store) == rows
    assert empty_store.count("payment_methods") == methods


def test_import_into_the_database_it_came_from_adopts_its_payments(demo_store):
    from shopbot.standin.shopify import shop_from_store

    before = demo_store.query(
        "SELECT id, kind, amount, payment_method_id FROM payments ORDER BY id"
    )
    methods = demo_store.count("payment_methods")
    apply_batch(demo_store, Batch(**shop_from_store(demo_store)), actor="test")
    after = demo_store.query("SELECT id, kind, amount, payment_method_id FROM payments ORDER BY id")
    assert after == before
    assert demo_store.count("payment_methods") == methods
    assert external_id_of(demo_store, "transaction", before[0]["id"]) is not None


def test_map_transactions_follows_captures_and_voids():
    txs = [
        {"id": 1, "kind": "authorization", "status": "success", "amount": "50.00"},
        {"id": 2, "kind": "capture", "status": "success", "amount": "50.00", "parent_id": 1},
        {"id": 3, "kind": "authorization", "status": "success", "amount": "20.00"},
        {"id": 4, "kind": "void", "status": "success", "amount": "20.00", "parent_id": 3},
        {"id": 5, "kind": "authorization", "status": "success", "amount": "9.00"},
        {"id": 6, "kind": "refund", "status": "pending", "amount": "5.00", "parent_id": 2},
        {"id": 7, "kind": "sale", "status": "failure", "amount": "1.00"},
    ]
    got = [(e["external_id"], e["kind"], e["status"], e["amount"]) for e in map_transactions(txs)]
    assert got == [
        ("2", "payment", "completed", 50.0),
        ("3", "payment", "failed", 20.0),
        ("5", "payment", "pending", 9.0),
        ("6", "refund", "pending", 5.0),
        ("7", "payment", "failed", 1.0),
    ]


def test_order_webhooks_record_their_refund_transactions_once(standin_data, empty_store):
    apply_batch(
        empty_store,
        Batch(customers=standin_data["customers"], products=standin_data["products"], orders=[]),
        actor="test",
    )
    order = next(o for o in standin_data["orders"] if not o["cancelled_at"] and not o["refunds"])
    order = json.loads(json.dumps(order))
    order["refunds"] = [
        {
            "id": 77,
            "refund_line_items": [],
            "transactions": [
                {
                    "id": 78,
                    "kind": "refund",
                    "status": "success",
                    "amount": "12.50",
                    "gateway": "paypal",
                    "created_at": "2026-01-02T10:00:00+00:00",
                }
            ],
        }
    ]
    body = json.dumps(order).encode()
    for n in range(2):
        headers = {
            "X-Shopify-Topic": "orders/updated",
            "X-Shopify-Webhook-Id": f"w-{n}",
            "X-Shopify-Hmac-Sha256": sign_webhook(SECRET, body),
        }
        assert receive_webhook(empty_store, SECRET, headers, body).status == "applied"
    rows = _payment_rows(empty_store)
    assert [(r["kind"], r["method"], r["amount"], r["status"]) for r in rows] == [
        ("refund", "paypal", 12.5, "completed")
    ]
    local = empty_store.get_order(order["name"])
    assert empty_store.payment_methods(local["customer_id"])[0]["kind"] == "paypal"
