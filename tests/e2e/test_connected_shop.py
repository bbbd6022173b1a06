"""The walk-through of docs/connect-a-shop.md through the real chat (issue 15's "Done when").

A stand-in Shopify shop (``shopbot/standin/shopify.py``) on a free port, seeded from the
demo shop; ``shopbot knowledge import-shopify`` into a fresh shop database; the web app's
webhook route; and real Rasa + action servers with ``SHOPBOT_BACKEND=shopify`` pointed at
the stand-in. The shopper talks to the bot over REST, as the widget would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from knowledge.backend.connected import list_changes, sync_status
from knowledge.store import Store
from shopbot.stack import VENV_BIN, RasaStack, start_stack
from tests.support.shop import cached_shop, copy_shop
from tests.support.standin import SECRET, TOKEN, ThreadedApp, http, start_standin

# its own Rasa + action servers: 47-70 s measured here on 2 shared cores (mostly Rasa's start).
# The fast counterparts: tests/knowledge/backend/test_contract.py (real adapter and stand-in),
# tests/knowledge/journeys/test_journey_connected_shop.py, tests/knowledge/backend/shop/.
pytestmark = [pytest.mark.timeout(1800), pytest.mark.slow]


def _wait_for(check, timeout_s: float = 20.0):
    """Poll ``check()`` until it returns something truthy (webhooks arrive asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


class World:
    """The running pieces of the walk-through."""

    def __init__(self, standin: Any, web: Any, stack: RasaStack, data_dir: Path, env: dict):
        self.standin = standin
        self.web = web
        self.stack = stack
        self.data_dir = data_dir
        self.env = env

    @property
    def shop(self) -> Any:
        return self.standin.shop

    def store(self) -> Store:
        return Store.open(self.data_dir / "shop.db")

    def order(self, number: str) -> dict[str, Any]:
        store = self.store()
        try:
            return dict(store.get_order(number))
        finally:
            store.close()

    def standin_order(self, number: str) -> dict[str, Any]:
        order = self.shop.find_order(number)
        assert order is not None, number
        return dict(order)

    def snapshot(self, number: str) -> dict[str, Any]:
        """The order as the mirror holds it: row, items, payments, stock of its variants."""
        store = self.store()
        try:
            order = dict(store.get_order(number))
            oid = order["id"]
            return {
                "order": order,
                "items": store.query("SELECT * FROM order_items WHERE order_id = ?", [oid]),
                "payments": store.query("SELECT * FROM payments WHERE order_id = ?", [oid]),
                "stock": store.query(
                    "SELECT v.id, v.stock FROM product_variants v JOIN order_items i"
                    " ON i.variant_id = v.id WHERE i.order_id = ? ORDER BY v.id",
                    [oid],
                ),
            }
        finally:
            store.close()

    def email_of(self, number: str) -> str:
        store = self.store()
        try:
            order = store.get_order(number)
            return str(store.get_customer(order["customer_id"])["email"])
        finally:
            store.close()

    def calls(self) -> list[dict[str, Any]]:
        status, _, body = http("GET", f"{self.standin.url}/_standin/calls")
        assert status == 200
        return list(body["calls"])

    def verify(self, sender: str, intent: str, number: str) -> str:
        reply = self.stack.say(sender, f'/{intent}{{"order_number":"{number}"}}')
        assert "email" in reply.lower(), reply
        return self.stack.say(sender, f'/inform{{"email":"{self.email_of(number)}"}}')

    def shopbot(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(VENV_BIN / "shopbot"), *argv],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=300,
        )


def _sender(name: str) -> str:
    return f"connected-{name}-{uuid.uuid4().hex[:8]}"


def _pick(shop: Any, store: Store, status: str, taken: set[str]) -> str:
    """A stand-in order whose mirror has ``status``, not used yet by this module."""
    for order in sorted(shop.orders.values(), key=lambda o: o["id"]):
        name = order["name"]
        if name in taken:
            continue
        row = store.get_order(name)
        if row and row["status"] == status:
            taken.add(name)
            return str(name)
    raise LookupError(status)


@pytest.fixture(scope="module")
def world(rasa_model, tmp_path_factory) -> Iterator[World]:
    from shopbot.config import Settings
    from shopbot.secret_store import with_secrets
    from shopbot.standin.shopify import shop_from_store
    from web.app import create_app

    root = tmp_path_factory.mktemp("connected")
    # the shop's own system: the stand-in, seeded from the demo shop
    demo = cached_shop()
    demo_store = Store.open(demo / "shop.db")
    try:
        data = shop_from_store(demo_store)
    finally:
        demo_store.close()
    # shopbot's side: the demo's indexes and stats, and a fresh, empty shop database
    data_dir = copy_shop(demo, root / "data")
    (data_dir / "shop.db").unlink()
    for extra in data_dir.glob("shop.db-*"):
        extra.unlink()
    db = data_dir / "shop.db"
    Store.open(db).close()
    settings = with_secrets(
        Settings(
            data_dir=data_dir,
            artifacts_dir=root / "artifacts",
            db_path=db,
            shopify_webhook_secret=SECRET,
        )
    )
    web = ThreadedApp(create_app(settings, mount_console=False))
    standin = start_standin(data, webhook_url=f"{web.url}/webhooks/shopify")
    env = {
        "SHOPBOT_BACKEND": "shopify",
        "SHOPBOT_SHOPIFY_SHOP": standin.url,
        "SHOPBOT_SHOPIFY_ACCESS_TOKEN": TOKEN,
        "SHOPBOT_SHOPIFY_WEBHOOK_SECRET": SECRET,
        "SHOPBOT_SHOPIFY_TIMEOUT_S": "5",
        "SHOPBOT_DATA_DIR": str(data_dir),
        "RASA_TELEMETRY_ENABLED": "false",
    }
    w = World(standin, web, None, data_dir, env)  # type: ignore[arg-type]
    imported = w.shopbot("knowledge", "import-shopify", "--no-index")
    assert imported.returncode == 0, imported.stderr
    w.imported = imported.stdout  # type: ignore[attr-defined]
    web.start()
    stack = start_stack(data_dir, model=rasa_model, env=env)
    w.stack = stack
    try:
        yield w
    finally:
        stack.stop()
        web.stop()
        standin.stop()
        shutil.rmtree(root / "artifacts", ignore_errors=True)


@pytest.fixture(scope="module")
def taken() -> set[str]:
    return set()


def test_a_the_import_brings_the_whole_shop_with_its_shopify_ids(world):
    shop = world.shop
    assert "customers" in world.imported and "orders" in world.imported
    store = world.store()
    try:
        counts = store.counts()
        assert counts["orders"] == len(shop.orders)
        assert counts["customers"] == len(shop.customers)
        known = {
            r["external_id"]
            for r in store.query(
                "SELECT external_id FROM external_ids WHERE source = 'shopify' AND entity = 'order'"
            )
        }
        assert known == {str(i) for i in shop.orders}
    finally:
        store.close()


def test_b_a_webhook_changes_an_order_and_the_bot_answers_with_it(world, taken):
    store = world.store()
    try:
        number = _pick(world.shop, store, "processing", taken)
    finally:
        store.close()
    status, _, answer = http(
        "POST",
        f"{world.standin.url}/_standin/orders/{number}/change",
        {
            "fulfil": {
                "tracking_company": "DHL",
                "tracking_number": "JJD000111222333",
                "shipment_status": "in_transit",
            }
        },
    )
    assert status == 200, answer
    assert answer["delivery"]["topic"] == "orders/updated"
    assert answer["delivery"]["status"] == 200
    row = world.order(number)
    assert (row["status"], row["tracking_number"]) == ("shipped", "JJD000111222333")
    sender = _sender("track")
    reply = world.verify(sender, "track_order", number)
    assert number in reply and "shipped" in reply.lower(), reply
    assert "JJD000111222333" in reply and "DHL" in reply, reply


def test_c_a_cancel_in_chat_arrives_at_the_shop(world, taken):
    store = world.store()
    try:
        number = _pick(world.shop, store, "pending", taken)
    finally:
        store.close()
    shop_id = world.standin_order(number)["id"]
    sender = _sender("cancel")
    reply = world.verify(sender, "cancel_order", number)
    assert "why you'd like to cancel" in reply and number in reply, reply
    reply = world.stack.say(sender, '/inform{"cancel_reason": "I found a better price"}')
    assert "Shall I cancel it?" in reply, reply
    # a pending order is only authorised at the shop: no refund is promised
    assert "Nothing has been charged yet" in reply and "business days" not in reply, reply
    assert not world.standin_order(number)["cancelled_at"]  # nothing sent before "yes"
    reply = world.stack.say(sender, "/affirm")
    assert "cancelled" in reply.lower() and "couldn't" not in reply, reply
    assert "authorisation" in reply and "business days" not in reply, reply
    # at the shop: cancelled, and the call log shows the cancel call
    assert world.standin_order(number)["cancelled_at"]
    cancels = [
        c
        for c in world.calls()
        if c["method"] == "POST" and c["path"].endswith(f"/orders/{shop_id}/cancel.json")
    ]
    assert [c["status"] for c in cancels] == [200]
    body = cancels[0]["body"]
    body = json.loads(body) if isinstance(body, str) else body
    assert body["reason"] == "customer" and body["email"] is True
    # in the mirror: cancelled, and the change accepted
    assert world.order(number)["status"] == "cancelled"
    store = world.store()
    try:
        [row] = [r for r in list_changes(store, ("accepted",)) if r["order_number"] == number]
        assert row["kind"] == "cancel_order"
    finally:
        store.close()
    # the shop's own orders/cancelled webhook comes back and agrees
    assert _wait_for(
        lambda: any(
            w["topic"] == "orders/cancelled" and w["status"] in ("applied", "duplicate")
            for w in sync_status(world.store())["webhooks"]
        )
    )
    assert world.order(number)["status"] == "cancelled"


def test_d_a_rejected_change_ends_in_a_ticket_and_nothing_changes(world, taken):
    store = world.store()
    try:
        number = _pick(world.shop, store, "pending", taken)
        tickets_before = store.count("tickets")
    finally:
        store.close()
    before = world.snapshot(number)
    sender = _sender("rejected")
    reply = world.verify(sender, "cancel_order", number)
    assert "why you'd like to cancel" in reply, reply
    reply = world.stack.say(sender, '/inform{"cancel_reason": "I ordered by mistake"}')
    assert "Shall I cancel it?" in reply, reply
    status, _, _ = http(
        "POST",
        f"{world.standin.url}/_standin/fail-next",
        {"status": 422, "errors": {"base": ["the warehouse has already packed it"]}},
    )
    assert status == 200
    reply = world.stack.say(sender, "/affirm")
    assert "couldn't cancel" in reply and "colleague will follow up" in reply, reply
    assert not world.standin_order(number)["cancelled_at"]
    assert world.snapshot(number) == before and before["order"]["status"] == "pending"
    store = world.store()
    try:
        assert store.count("tickets") == tickets_before + 1
        [ticket] = store.query(
            "SELECT * FROM tickets WHERE order_number = ? ORDER BY id DESC LIMIT 1", [number]
        )
        assert f"#{ticket['id']}" in reply
        [change] = [r for r in list_changes(store, ("rejected",)) if r["order_number"] == number]
        assert "the warehouse has already packed it" in change["last_error"]
        assert change["ticket_id"] == ticket["id"]
        # what the console's Sync page (and /console/api/sync) lists
        listed = sync_status(store)
    finally:
        store.close()
    assert any(c["id"] == change["id"] and c["status"] == "rejected" for c in listed["changes"]), (
        listed
    )


def test_e_an_unreachable_shop_leaves_the_change_pending_until_a_retry(world, taken):
    store = world.store()
    try:
        number = _pick(world.shop, store, "pending", taken)
    finally:
        store.close()
    sender = _sender("pending")
    world.verify(sender, "cancel_order", number)
    reply = world.stack.say(sender, '/inform{"cancel_reason": "I no longer need it"}')
    assert "Shall I cancel it?" in reply, reply
    http("POST", f"{world.standin.url}/_standin/fail-next", {"status": 429, "retry_after": 1})
    reply = world.stack.say(sender, "/affirm")
    assert "couldn't cancel" in reply and "colleague will follow up" in reply, reply
    assert not world.standin_order(number)["cancelled_at"]
    assert world.order(number)["status"] == "pending"
    store = world.store()
    try:
        [change] = [r for r in list_changes(store, ("pending",)) if r["order_number"] == number]
    finally:
        store.close()
    # `shopbot sync retry`, as in the walk-through, sends it again with the same key
    retried = world.shopbot("sync", "retry")
    assert retried.returncode == 0, retried.stderr
    assert world.standin_order(number)["cancelled_at"]
    assert world.order(number)["status"] == "cancelled"
    store = world.store()
    try:
        row = store.query("SELECT * FROM outgoing_changes WHERE id = ?", [change["id"]])[0]
        assert row["status"] == "accepted"
    finally:
        store.close()
    # a second retry sends nothing: applied once
    cancels_before = [c for c in world.calls() if c["path"].endswith("/cancel.json")]
    again = world.shopbot("sync", "retry")
    assert again.returncode == 0, again.stderr
    assert [c for c in world.calls() if c["path"].endswith("/cancel.json")] == cancels_before
    store = world.store()
    try:
        refunds = store.query(
            "SELECT count(*) AS n FROM payments WHERE order_id = ? AND kind = 'refund'",
            [world.order(number)["id"]],
        )[0]["n"]
    finally:
        store.close()
    assert refunds <= 1


def test_f_an_address_change_refused_then_accepted_by_the_shop(world, taken):
    store = world.store()
    try:
        number = _pick(world.shop, store, "processing", taken)
    finally:
        store.close()
    shop_id = world.standin_order(number)["id"]
    before = world.snapshot(number)
    shop_before = world.standin_order(number)["shipping_address"]
    sender = _sender("address-no")
    world.verify(sender, "change_shipping_address", number)
    reply = world.stack.say(sender, "Jane Doe, Hauptstr. 5, Berlin, 10115, DE")
    assert "Jane Doe, Hauptstr. 5, 10115 Berlin, DE" in reply, reply
    http(
        "POST",
        f"{world.standin.url}/_standin/fail-next",
        {"status": 422, "errors": {"shipping_address": ["cannot be changed after packing"]}},
    )
    reply = world.stack.say(sender, "/affirm")
    assert f"couldn't change the delivery address of order {number}" in reply, reply
    assert "colleague will follow up" in reply, reply
    assert world.snapshot(number) == before
    assert world.standin_order(number)["shipping_address"] == shop_before
    # the shop takes it the next time: a PUT of the order's shipping address
    sender = _sender("address-yes")
    world.verify(sender, "change_shipping_address", number)
    world.stack.say(sender, "Jane Doe, Hauptstr. 5, Berlin, 10115, DE")
    reply = world.stack.say(sender, "/affirm")
    assert "couldn't" not in reply, reply
    puts = [
        c
        for c in world.calls()
        if c["method"] == "PUT" and c["path"].endswith(f"/orders/{shop_id}.json")
    ]
    assert [c["status"] for c in puts] == [422, 200]  # the refused one, then this one
    address = world.standin_order(number)["shipping_address"]
    assert (address["address1"], address["city"], address["zip"]) == (
        "Hauptstr. 5",
        "Berlin",
        "10115",
    )
    row = world.order(number)
    assert (row["ship_name"], row["ship_street"], row["ship_city"]) == (
        "Jane Doe",
        "Hauptstr. 5",
        "Berlin",
    )
