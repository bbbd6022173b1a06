"""The walk-through of docs/connect-a-shop.md on real servers: the stand-in Shopify shop,
``shopbot knowledge import-shopify`` and the web app's webhook route, each on a free port."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from knowledge.backend.base import OutgoingChange
from knowledge.backend.shopify import ShopifyClient
from knowledge.backend.shopify_sync import sign_webhook
from knowledge.store import Store
from tests.support.standin import SECRET, TOKEN, ThreadedApp, http, start_standin, unfulfilled_paid


def _wait_for(check, timeout_s: float = 15.0):
    """Poll ``check()`` until it returns something truthy (webhooks arrive asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


@pytest.fixture
def world(settings, standin_data, tmp_path, monkeypatch):
    from shopbot.cli import main
    from web.app import create_app

    db = tmp_path / "connected.db"
    web_settings = settings.with_overrides(db_path=db, shopify_webhook_secret=SECRET)
    Store.open(db).close()
    web = ThreadedApp(create_app(web_settings, mount_console=False))
    standin = start_standin(standin_data, webhook_url=f"{web.url}/webhooks/shopify")
    monkeypatch.setenv("SHOPBOT_SHOPIFY_ACCESS_TOKEN", TOKEN)
    code = main(
        ["knowledge", "import-shopify", "--from", standin.url, "--db", str(db), "--no-index"]
    )
    assert code == 0
    # The import read every order's transactions and emptied the rate-limit bucket; a
    # change never waits out a 429 (the shopper is in the chat), so let it refill.
    standin.shop.drain_bucket()
    web.start()
    store = Store.open(db)
    yield {"standin": standin, "web": web, "store": store, "db": Path(db)}
    store.close()
    web.stop()
    standin.stop()


def test_import_then_webhook_then_cancel_round_trip(world):
    standin, store = world["standin"], world["store"]
    shop = standin.shop
    assert store.counts()["orders"] == len(shop.orders)

    # 1. the shop ships an order: its webhook changes the order, and the bot's answer shows it
    order = unfulfilled_paid(shop)
    assert store.get_order(order["name"])["status"] == "processing"
    status, _, answer = http(
        "POST",
        f"{standin.url}/_standin/orders/{order['name']}/change",
        {
            "fulfil": {
                "tracking_company": "DHL",
                "tracking_number": "JJD000111222333",
                "shipment_status": "in_transit",
            }
        },
    )
    assert status == 200 and answer["delivery"]["status"] == 200
    row = store.get_order(order["name"])
    assert (row["status"], row["tracking_number"]) == ("shipped", "JJD000111222333")
    from knowledge.journeys.inputs import Shop
    from knowledge.journeys.orders import describe

    reply = describe(Shop(store), row)
    assert reply.messages[0].facts["tracking_number"] == "JJD000111222333"

    # 2. a cancel sent by shopbot arrives at the shop, and the shop's webhook comes back
    other = unfulfilled_paid(shop)
    client = ShopifyClient(standin.url, TOKEN)
    external = store.query(
        "SELECT external_id FROM external_ids WHERE entity = 'order' AND local_id = ?",
        [store.get_order(other["name"])["id"]],
    )[0]["external_id"]
    client.send(OutgoingChange("cancel_order", "e2e-cancel", external_order_id=external))
    assert shop.orders[int(external)]["cancelled_at"]
    assert _wait_for(lambda: store.get_order(other["name"])["status"] == "cancelled")
    topics = [
        e["topic"] for e in store.query("SELECT topic FROM webhook_events WHERE status = 'applied'")
    ]
    assert topics == ["orders/updated", "orders/cancelled"]


def test_the_route_refuses_a_wrong_signature_and_ignores_a_repeat(world, standin_data):
    web, store = world["web"], world["store"]
    order = dict(next(o for o in standin_data["orders"] if not o["cancelled_at"]))
    order["note"] = "x"
    order["cancelled_at"] = "2026-03-16T09:00:00Z"
    body = json.dumps(order).encode()
    headers = {
        "X-Shopify-Topic": "orders/cancelled",
        "X-Shopify-Webhook-Id": "dup-1",
        "Content-Type": "application/json",
    }
    forged = {**headers, "X-Shopify-Hmac-Sha256": sign_webhook("wrong-secret-" + "w" * 20, body)}
    status, _, _ = http("POST", f"{web.url}/webhooks/shopify", body, forged)
    assert status == 401
    assert store.get_order(order["name"])["status"] != "cancelled"
    signed = {**headers, "X-Shopify-Hmac-Sha256": sign_webhook(SECRET, body)}
    assert http("POST", f"{web.url}/webhooks/shopify", body, signed)[2]["status"] == "applied"
    assert http("POST", f"{web.url}/webhooks/shopify", body, signed)[2]["status"] == "duplicate"
    assert store.get_order(order["name"])["status"] == "cancelled"
    statuses = [e["status"] for e in store.query("SELECT status FROM webhook_events ORDER BY id")]
    assert statuses == ["rejected", "applied", "duplicate"]


def test_webhooks_are_refused_while_no_secret_is_set(settings, tmp_path):
    from web.app import create_app

    web = ThreadedApp(
        create_app(settings.with_overrides(db_path=tmp_path / "s.db"), mount_console=False)
    ).start()
    try:
        body = b"{}"
        headers = {
            "X-Shopify-Topic": "orders/updated",
            "X-Shopify-Hmac-Sha256": sign_webhook("", body),
        }
        assert http("POST", f"{web.url}/webhooks/shopify", body, headers)[0] == 503
    finally:
        web.stop()


def test_the_import_command_rides_out_the_shops_rate_limit(
    settings, standin_data, tmp_path, monkeypatch
):
    from shopbot.cli import main

    standin = start_standin(standin_data)
    try:
        monkeypatch.setenv("SHOPBOT_SHOPIFY_ACCESS_TOKEN", TOKEN)
        http("POST", f"{standin.url}/_standin/fail-next", {"status": 429, "retry_after": 1})
        db = tmp_path / "limited.db"
        code = main(
            ["knowledge", "import-shopify", "--from", standin.url, "--db", str(db), "--no-index"]
        )
        assert code == 0
        store = Store.open(db)
        try:
            assert store.counts()["orders"] == len(standin.shop.orders)
        finally:
            store.close()
        assert [c["status"] for c in standin.shop.calls[:2]] == [429, 200]
    finally:
        standin.stop()
