"""The console's sync page for a connected shop: the last webhook per topic, failed
webhooks, and the changes that did not reach the shop yet, with Retry and Drop (staff,
CSRF-checked), on a real SQLite shop and the in-process stand-in shop client."""

from __future__ import annotations

import asyncio
import re

import pytest
from console_support import ADMIN, AGENT, console_client, csrf_of, login

from knowledge.backend.connected import ConnectedBackend, get_change
from knowledge.operations import OperationError
from knowledge.store import Store
from tests.knowledge.conftest import seed_commerce, seed_tiny
from tests.support.shop_client import ScriptedShopClient


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def shop(console_settings, staff_accounts):
    """A connected shop whose system was down for a cancel (change #1, pending) and
    rejected an address change (change #2); three webhooks received, one failed."""
    settings = console_settings.with_overrides(backend="shopify")
    store = Store.open(settings.db_path)
    seed_tiny(store)
    seed_commerce(store)
    client = ScriptedShopClient("unavailable")
    backend = ConnectedBackend(store, None, client)
    with pytest.raises(OperationError):
        backend.cancel_order("SB-100001", "assistant:conv-1", reason="Other")
    client.mode = "reject"
    with pytest.raises(OperationError):
        backend.change_shipping_address(
            "SB-100002",
            {
                "name": "Bob",
                "street": "Rue 1",
                "city": "Paris",
                "postcode": "75001",
                "country": "FR",
            },
            "assistant:conv-2",
        )
    store.db.execute(
        "INSERT INTO webhook_events (source, topic, webhook_id, received_at, status, error)"
        " VALUES ('teststand', 'orders/updated', 'w1', '2026-03-16T09:00:00+00:00', 'applied', NULL),"
        " ('teststand', 'orders/updated', 'w2', '2026-03-16T10:00:00+00:00', 'failed', 'unknown order 99'),"
        " ('teststand', 'products/update', 'w3', '2026-03-16T08:00:00+00:00', 'applied', NULL)"
    )
    store.close()
    return settings


def test_sync_page_needs_staff(shop):
    async def scenario():
        async with console_client(shop, shop_client=ScriptedShopClient()) as client:
            resp = await client.get("/console/sync", allow_redirects=False)
            assert resp.status == 302 and "/console/login" in resp.headers["Location"]
            assert (await client.get("/console/api/sync")).status == 401
            resp = await client.post("/console/sync/changes/1/retry", allow_redirects=False)
            assert resp.status == 302 and "/console/login" in resp.headers["Location"]

    run(scenario())


def test_sync_page_shows_webhooks_failures_and_waiting_changes(shop):
    async def scenario():
        async with console_client(shop, shop_client=ScriptedShopClient()) as client:
            await login(client, *AGENT)
            html = await (await client.get("/console/sync")).text()
            assert 'aria-current="page">Sync' in html and "shopify" in html
            webhooks = html.split('id="webhooks"', 1)[1].split("</table>", 1)[0]
            assert "orders/updated" in webhooks and "2026-03-16T10:00:00" in webhooks
            assert "products/update" in webhooks
            failures = html.split('id="webhook-failures"', 1)[1].split("</table>", 1)[0]
            assert "unknown order 99" in failures and "w2" in failures
            changes = html.split('id="changes"', 1)[1].split("</table>", 1)[0]
            assert "cancel order SB-100001" in changes and "503" in changes
            assert "change the delivery address of order SB-100002" in changes
            assert "rejected" in changes and "pending" in changes
            assert changes.count(">Retry</button>") == 2 and "_apply" not in changes

            data = await (await client.get("/console/api/sync")).json()
            assert [c["id"] for c in data["changes"]] == [1, 2]
            assert data["counts"] == {"pending": 1, "rejected": 1}
            assert {(w["topic"], w["received"], w["failures"]) for w in data["webhooks"]} == {
                ("orders/updated", 2, 1),
                ("products/update", 1, 0),
            }

    run(scenario())


def test_retry_needs_the_csrf_token(shop):
    async def scenario():
        async with console_client(shop, shop_client=ScriptedShopClient()) as client:
            await login(client, *AGENT)
            resp = await client.post("/console/sync/changes/1/retry", data={"csrf_token": "x"})
            assert resp.status == 403

    run(scenario())
    store = Store.open(shop.db_path)
    assert get_change(store, 1)["status"] == "pending"
    store.close()


def test_retry_sends_the_change_again_and_applies_it_once(shop):
    stand_in = ScriptedShopClient("accept", source="teststand")

    async def scenario():
        async with console_client(shop, shop_client=stand_in) as client:
            await login(client, *AGENT)
            token = await csrf_of(client)
            resp = await client.post("/console/sync/changes/1/retry", data={"csrf_token": token})
            html = await resp.text()
            assert "Change #1 was accepted by the shop." in html
            changes = html.split('id="changes"', 1)[1].split("</table>", 1)[0]
            assert "cancel order SB-100001" not in changes
            again = await client.post("/console/sync/changes/1/retry", data={"csrf_token": token})
            assert "Change #1 is accepted." in await again.text()

    run(scenario())
    store = Store.open(shop.db_path)
    order = store.get_order("SB-100001")
    assert order["status"] == "cancelled"
    assert [c["kind"] for c in order["changes"]].count("cancel") == 1
    assert get_change(store, 1)["status"] == "accepted" and stand_in.carried_out == 1
    audit = store.audit_log("outgoing_change", 1)
    assert any(
        r["action"] == "shop_change_retried" and r["actor"] == f"staff:{AGENT[0]}" for r in audit
    )
    store.close()


def test_drop_gives_up_and_notes_the_ticket(shop):
    async def scenario():
        async with console_client(shop, shop_client=ScriptedShopClient()) as client:
            await login(client, *ADMIN)
            token = await csrf_of(client)
            resp = await client.post("/console/sync/changes/2/drop", data={"csrf_token": token})
            assert "Change #2 dropped" in await resp.text()
            bad = await client.post("/console/sync/changes/x1/drop", data={"csrf_token": token})
            assert bad.status in (400, 404)

    run(scenario())
    store = Store.open(shop.db_path)
    row = get_change(store, 2)
    assert row["status"] == "dropped"
    ticket = store.query("SELECT * FROM tickets WHERE id = ?", [row["ticket_id"]])[0]
    assert re.search(r"Dropped by staff:admin@shop\.test", ticket["body"])
    assert store.get_order("SB-100002")["ship_city"] != "Paris"
    store.close()


def test_retry_on_a_local_shop_says_it_is_not_connected(console_settings, staff_accounts):
    store = Store.open(console_settings.db_path)
    seed_tiny(store)
    store.close()

    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *AGENT)
            html = await (await client.get("/console/sync")).text()
            assert "Every change reached the shop." in html and "No webhook received yet." in html
            token = await csrf_of(client)
            resp = await client.post("/console/sync/changes/1/retry", data={"csrf_token": token})
            assert "This shop is not connected" in await resp.text()

    run(scenario())
