"""The console's outbox page (what the shop would have emailed) and policy page (the rules
the assistant enforces), on a real SQLite shop and real policy files; staff only."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from console_support import AGENT, console_client, login

from knowledge.operations import request_exchange, request_return
from knowledge.policy import load_policy
from knowledge.store import Store
from tests.knowledge.conftest import seed_commerce, seed_tiny

TODAY = date(2026, 3, 16)
POLICY = Path(__file__).resolve().parents[3] / "knowledge" / "data" / "policy.yml"


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def shop(console_settings, staff_accounts):
    """A real shop file with two outbox messages: a return on SB-100004 (older), then an
    exchange on SB-100008 (newer)."""
    store = Store.open(console_settings.db_path)
    seed_tiny(store)
    seed_commerce(store)
    request_return(store, "SB-100004", [{"order_item_id": 5}], "Too big", "test", today=TODAY)
    request_exchange(
        store,
        "SB-100008",
        [{"order_item_id": 11, "variant_id": 9}],
        "Too small",
        "test",
        today=TODAY,
    )
    store.close()
    return console_settings


def test_outbox_and_policy_refuse_anonymous_requests(shop):
    async def scenario():
        async with console_client(shop) as client:
            for path in ("/console/outbox", "/console/policy"):
                resp = await client.get(path, allow_redirects=False)
                assert resp.status == 302 and "/console/login" in resp.headers["Location"]
            for path in ("/console/api/outbox", "/console/api/policy"):
                resp = await client.get(path)
                assert resp.status == 401 and "alice" not in (await resp.text()).lower()

    run(scenario())


def test_outbox_lists_messages_newest_first_with_order_and_recipient(shop):
    async def scenario():
        async with console_client(shop) as client:
            await login(client, *AGENT)
            resp = await client.get("/console/outbox")
            html = await resp.text()
            assert resp.status == 200
            assert html.index("SB-100008") < html.index("SB-100004")  # newest first
            assert 'href="/console/orders/SB-100004"' in html
            assert "alice.martin@example.com" in html
            assert "Your return RMA-100004-1" in html and "prepaid label" in html

            data = await (await client.get("/console/api/outbox")).json()
            assert [m["order_number"] for m in data["items"]] == ["SB-100008", "SB-100004"]
            assert [m["kind"] for m in data["items"]][1] == "return_instructions"
            assert {m["to_email"] for m in data["items"]} == {"alice.martin@example.com"}

    run(scenario())


def test_empty_outbox(console_settings, staff_accounts):
    Store.open(console_settings.db_path).close()

    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *AGENT)
            assert "The outbox is empty." in await (await client.get("/console/outbox")).text()

    run(scenario())


def test_policy_page_shows_the_policy_in_force_and_its_file(shop):
    policy = load_policy(shop.policy_path)

    async def scenario():
        async with console_client(shop) as client:
            await login(client, *AGENT)
            html = await (await client.get("/console/policy")).text()
            assert str(shop.policy_path) in html
            assert f"{policy.return_window_days} days after delivery" in html
            for reason in policy.cancellation_reasons:
                assert reason in html
            assert policy.refund_time("card").describe() in html
            assert "<form" not in html.split("</header>", 1)[1]  # read-only

            data = await (await client.get("/console/api/policy")).json()
            assert data["policy"] == policy.to_dict()
            assert data["source"] == str(shop.policy_path) and data["error"] is None

    run(scenario())


def test_policy_page_follows_the_configured_file(shop, tmp_path):
    edited = tmp_path / "policy.yml"
    edited.write_text(
        POLICY.read_text(encoding="utf-8").replace("window_days: 30", "window_days: 14", 1),
        encoding="utf-8",
    )
    settings = shop.with_overrides(policy_path=edited)

    async def scenario():
        async with console_client(settings) as client:
            await login(client, *AGENT)
            html = await (await client.get("/console/policy")).text()
            assert "14 days after delivery" in html and str(edited) in html

    run(scenario())


def test_a_broken_policy_file_is_reported(shop, tmp_path):
    broken = tmp_path / "policy.yml"
    broken.write_text(
        POLICY.read_text(encoding="utf-8").replace("window_days: 30", "window_days: lots", 1),
        encoding="utf-8",
    )
    settings = shop.with_overrides(policy_path=broken)

    async def scenario():
        async with console_client(settings) as client:
            await login(client, *AGENT)
            html = await (await client.get("/console/policy")).text()
            assert "The policy file cannot be used" in html and "returns.window_days" in html
            api = await client.get("/console/api/policy")
            assert api.status == 500 and (await api.json())["policy"] is None

    run(scenario())
