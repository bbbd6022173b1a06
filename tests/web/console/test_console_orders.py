"""The console's order view for agents, on a real SQLite shop (the tiny shop of
``tests/knowledge/conftest.py`` with variants, payments, an item change, a return and a
shipment): staff only, every issue-13 state visible, order numbers in transcripts linked."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest
from console_support import AGENT, action, bot, console_client, conversation, login, user

from knowledge.operations import change_items, request_return
from knowledge.store import Store
from tests.knowledge.conftest import seed_commerce, seed_tiny
from web.console.shop import describe_change, order_numbers_in
from web.console.tracker import write_events

TODAY = date(2026, 3, 16)


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def shop(console_settings, staff_accounts):
    """The console's settings, with a real shop file: SB-100001's items changed (paid by
    PayPal), SB-100004 return requested for one item, shipped in one fulfilment."""
    store = Store.open(console_settings.db_path)
    seed_tiny(store)
    ids = seed_commerce(store)
    change_items(store, "SB-100001", [{"order_item_id": 1, "variant_id": 4}], "test", ids["paypal"])
    with store.transaction():
        store.insert_fulfilment(
            4,
            [{"order_item_id": 5, "quantity": 1}, {"order_item_id": 7, "quantity": 3}],
            "DHL",
            "00340434999900000004",
            status="delivered",
            shipped_at="2026-03-06",
            delivered_at="2026-03-08",
        )
    request_return(store, "SB-100004", [{"order_item_id": 5}], "Too big", "test", today=TODAY)
    store.close()
    return console_settings


def test_not_logged_in_is_refused(shop):
    async def scenario():
        async with console_client(shop) as client:
            page = await client.get("/console/orders/SB-100001", allow_redirects=False)
            assert page.status == 302 and "/console/login" in page.headers["Location"]
            search = await client.get("/console/orders?number=SB-100001", allow_redirects=False)
            assert search.status == 302 and "/console/login" in search.headers["Location"]
            api = await client.get("/console/api/orders/SB-100001")
            assert api.status == 401
            assert "Alice" not in await api.text()

    run(scenario())


def test_items_modified_order_shows_what_was_changed(shop):
    async def scenario():
        async with console_client(shop) as client:
            await login(client, *AGENT)
            resp = await client.get("/console/orders/SB-100001")
            html = await resp.text()
            assert resp.status == 200
            assert 'id="order-status">items modified<' in html
            assert "Items changed" in html
            assert "colour: blue · size: 42 (RUN-00001-BLUE-42) → colour: red · size: 42" in html
            assert "Price difference 5.95 EUR" in html
            assert "Charged 5.95 EUR on PayPal (a***@example.com)" in html
            # The item now in the red variant, the payment history with both payments.
            assert "RUN-00001-RED-42" in html and "colour: red · size: 42" in html
            assert "Visa ending 4242" in html and "items changed" in html
            assert "Alice Martin" in html and "alice.martin@example.com" in html

            api = await client.get("/console/api/orders/sb 100001")
            data = await api.json()
            assert data["order"]["status"] == "items_modified"
            [change] = data["changes"]
            assert change["kind"] == "items" and change["title"] == "Items changed"
            assert [(p["kind"], p["method"], p["amount"]) for p in data["payments"]] == [
                ("payment", "card", 146.56),
                ("payment", "paypal", 5.95),
            ]
            assert data["items"][0]["options"] == {"colour": "red", "size": "42"}
            assert data["payment_method"]["label"] == "Visa ending 4242"

    run(scenario())


def test_return_requested_order_shows_return_fulfilment_and_outbox(shop):
    async def scenario():
        async with console_client(shop) as client:
            await login(client, *AGENT)
            html = await (await client.get("/console/orders/SB-100004")).text()
            assert 'id="order-status">return requested<' in html
            assert "Return requested" in html and "Return RMA-100004-1" in html
            assert "1 x Trailblazer 5 Trail Running Shoe (RUN-00001-BLUE-42)" in html
            # The fulfilment, its tracking number and the items it covers.
            assert "00340434999900000004" in html
            assert "3 x Organic Cotton Crew T-Shirt (size: M)" in html
            # The return row and the instructions sent to the outbox.
            assert "Too big" in html and "requested" in html
            assert "Your return RMA-100004-1" in html and "prepaid label" in html

            data = await (await client.get("/console/api/orders/SB-100004")).json()
            [ful] = data["fulfilments"]
            assert ful["tracking_number"] == "00340434999900000004"
            assert [(i["order_item_id"], i["quantity"]) for i in ful["items"]] == [(5, 1), (7, 3)]
            assert data["returns"][0]["rma_id"] == "RMA-100004-1"
            assert data["outbox"][0]["kind"] == "return_instructions"
            assert (
                "gift_card_code"
                not in await (await client.get("/console/api/orders/SB-100004")).text()
            )

    run(scenario())


def test_order_search_box(shop):
    async def scenario():
        async with console_client(shop) as client:
            await login(client, *AGENT)
            empty = await client.get("/console/orders")
            assert empty.status == 200 and 'name="number"' in await empty.text()
            found = await client.get("/console/orders?number=sb%20100004", allow_redirects=False)
            assert found.status == 302
            assert found.headers["Location"] == "/console/orders/SB-100004"
            bad = await client.get("/console/orders?number=%3Cscript%3E")
            assert bad.status == 400 and "<script>" not in await bad.text()
            missing = await client.get("/console/orders/SB-999999")
            assert missing.status == 404 and "No order SB-999999" in await missing.text()
            assert (await client.get("/console/api/orders/SB-999999")).status == 404

    run(scenario())


def test_nav_links_to_orders_outbox_policy(shop):
    async def scenario():
        async with console_client(shop) as client:
            await login(client, *AGENT)
            html = await (await client.get("/console/")).text()
            for path in ("/console/orders", "/console/outbox", "/console/policy"):
                assert f'href="{path}"' in html

    run(scenario())


def test_transcript_links_order_numbers_to_the_order_view(shop, tracker_engine):
    t0 = time.time() - 300
    sid = "orders-link-0123456789abcdef"
    events = conversation("track", t0)[:4] + [
        user("I want to return sb 100004 please", "request_return", 0.9, t0 + 50),
        action("action_request_return", t0 + 51),
        bot("Your return for SB-100004 is requested.", t0 + 52),
    ]
    write_events(tracker_engine, sid, events)

    async def scenario():
        async with console_client(shop) as client:
            await login(client, *AGENT)
            html = await (await client.get(f"/console/conversations/{sid}")).text()
            assert '<a class="order-link" href="/console/orders/SB-100004">sb 100004</a>' in html
            assert '<a class="order-link" href="/console/orders/SB-100004">SB-100004</a>' in html

    run(scenario())


def test_no_shop_database_is_a_503(console_settings, staff_accounts):
    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *AGENT)
            assert (await client.get("/console/orders/SB-100001")).status == 503
            assert (await client.get("/console/api/orders/SB-100001")).status == 503

    run(scenario())
    assert not console_settings.db_path.exists()  # the console never creates the shop


def test_order_numbers_in_text_and_unknown_change_kinds():
    assert order_numbers_in("SB-100004 and sb 100004, #SB-200001; SB-10042") == [
        "SB-100004",
        "SB-200001",
    ]
    described = describe_change({"kind": "address", "at": "t", "to": "Berlin"})
    assert described["title"] == "Shipping address changed" and described["lines"] == ["to: Berlin"]


@pytest.mark.slow
@pytest.mark.browser
def test_order_view_in_chromium(shop, context):
    """Log in from a deep link to an order, read its state, search another order."""
    from pathlib import Path

    from browser_support import ServerThread

    from web.console import create_console_app

    servers = ServerThread()
    try:
        url = servers.serve(lambda: create_console_app(shop, prefix="", sync_interval_s=0))
        page = context.new_page()
        page.goto(url + "/orders/SB-100004")
        page.wait_for_selector("#email")  # a deep link asks for a login first
        page.fill("#email", AGENT[0])
        page.fill("#password", AGENT[1])
        page.click("button:text('Log in')")
        page.wait_for_selector("#order-status")
        assert page.inner_text("#order-status") == "return requested"
        assert "00340434999900000004" in page.inner_text("#order-fulfilments")
        assert "Return RMA-100004-1" in page.inner_text("#order-changes")
        page.fill("input[name=number]", "sb 100001")
        page.click("button:text('Find order')")
        page.wait_for_selector("h1:has-text('SB-100001')")
        assert page.inner_text("#order-status") == "items modified"
        assert "Charged 5.95 EUR on PayPal" in page.inner_text("#order-changes")
        artifacts = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / "order-view.png"), full_page=True)
    finally:
        servers.stop()
