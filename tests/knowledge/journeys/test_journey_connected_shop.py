"""Every journey that changes the shop, against a connected shop that says no or does not
answer: the shopper is told honestly that nothing happened yet and a colleague follows up,
the order is unchanged, and a ticket is open."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from knowledge.backend.connected import ConnectedBackend, list_changes
from knowledge.journeys import account, exchanges, orders, payments, returns, variants
from knowledge.journeys.inputs import Policy, Shop
from knowledge.journeys.reply import Reply
from tests.knowledge.journeys.commerce import ALICE, TODAY, turn
from tests.support.shop_client import ScriptedShopClient

NEW_ADDRESS = {
    "ship_name": "Alice Martin",
    "ship_street": "Torstrasse 1",
    "ship_city": "Berlin",
    "ship_postcode": "10119",
    "ship_country": "DE",
}

#: journey -> (its final step, what the shopper is told it could not do, the order)
JOURNEYS: dict[str, tuple[Callable[[Shop, dict[str, int]], Reply], str, str]] = {
    "cancel": (
        lambda s, m: payments.cancel(
            s,
            ALICE,
            turn(order_number="SB-100001", cancel_reason="Other", cancel_confirm=True),
        ),
        "cancel order SB-100001",
        "SB-100001",
    ),
    "address": (
        lambda s, m: orders.change_address(
            s, ALICE, turn(order_number="SB-100001", address_confirm=True, **NEW_ADDRESS)
        ),
        "change the delivery address of order SB-100001",
        "SB-100001",
    ),
    "payment": (
        lambda s, m: payments.change_payment(
            s,
            ALICE,
            turn(
                order_number="SB-100001",
                payment_method_id=str(m["paypal"]),
                payment_confirm=True,
            ),
        ),
        "change the payment method of order SB-100001",
        "SB-100001",
    ),
    "items": (
        lambda s, m: variants.change(
            s,
            ALICE,
            turn(
                order_number="SB-100001",
                item_changes="1:4",
                payment_method_id=str(m["paypal"]),
                items_confirm=True,
            ),
        ),
        "change the items of order SB-100001",
        "SB-100001",
    ),
    "return": (
        lambda s, m: returns.register(
            s,
            ALICE,
            turn(
                order_number="SB-100004",
                return_items="5",
                return_reason="Too small",
                return_confirm=True,
            ),
        ),
        "register the return for order SB-100004",
        "SB-100004",
    ),
    "exchange": (
        lambda s, m: exchanges.register_exchange(
            s,
            ALICE,
            turn(
                order_number="SB-100004",
                exchange_items="5:3",
                exchange_reason="too small",
                payment_method_id=variants.NO_DIFFERENCE,
                exchange_confirm=True,
            ),
        ),
        "register the exchange for order SB-100004",
        "SB-100004",
    ),
    "default address": (
        lambda s, m: account.change_default_address(
            s, ALICE, turn(default_address_confirm=True, **NEW_ADDRESS)
        ),
        "save your new address",
        "SB-100001",
    ),
}


def connected_shop(store: Any, mode: str) -> tuple[Shop, ScriptedShopClient]:
    client = ScriptedShopClient(mode)
    shop = Shop(
        store=store, policy=Policy(today=TODAY), backend=ConnectedBackend(store, None, client)
    )
    return shop, client


@pytest.mark.parametrize("mode", ["reject", "unavailable"])
@pytest.mark.parametrize("journey", list(JOURNEYS))
def test_the_shopper_hears_honestly_that_it_did_not_happen(store, commerce, journey, mode):
    step, what, number = JOURNEYS[journey]
    shop, client = connected_shop(store, mode)
    before = store.get_order(number)
    customer = store.get_customer(1)
    reply = step(shop, commerce)
    assert reply.text.startswith(f"I couldn't {what} right now"), reply.text
    assert "a colleague will follow up" in reply.text
    assert reply.buttons == [{"title": "Talk to a person", "payload": "/human_handoff"}]
    assert len(client.sent) == 1
    after = store.get_order(number)
    assert (after["status"], after["changes"], after["ship_street"]) == (
        before["status"],
        before["changes"],
        before["ship_street"],
    )
    assert store.get_customer(1) == customer
    [ticket] = store.query("SELECT * FROM tickets")
    assert ticket["sender_id"] == ALICE.sender_id and f"#{ticket['id']}" in reply.text
    status = "rejected" if mode == "reject" else "pending"
    assert len(list_changes(store, (status,))) == 1


@pytest.mark.parametrize("journey", list(JOURNEYS))
def test_an_accepting_shop_confirms_as_the_embedded_one_does(store, commerce, journey):
    step, _, _ = JOURNEYS[journey]
    shop, client = connected_shop(store, "accept")
    reply = step(shop, commerce)
    assert "couldn't" not in reply.text and "Sorry" not in reply.text, reply.text
    assert client.carried_out == 1


# ----------------------------------------------------- the real Shopify adapter and stand-in
@pytest.fixture
def standin_shop(store, commerce) -> Any:
    """The stand-in Shopify server seeded from the tiny shop, with the ids an import keeps."""
    from tests.knowledge.backend.test_contract import start_shopify

    server = start_shopify(store)
    yield server
    server.stop()


def shopify_shop(store: Any, server: Any) -> Shop:
    from tests.knowledge.backend.test_contract import shopify_backend

    return Shop(store=store, policy=Policy(today=TODAY), backend=shopify_backend(store, server))


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 422, "errors": {"base": ["the warehouse has already packed it"]}},
        {"status": 503},
        {"status": 429, "retry_after": 1},
    ],
    ids=["422", "503", "429"],
)
@pytest.mark.parametrize("journey", ["cancel", "address", "return", "default address"])
def test_with_shopify_a_refused_call_is_told_honestly(
    store, commerce, standin_shop, journey, answer
):
    from tests.support.standin import http

    step, what, number = JOURNEYS[journey]
    before = store.get_order(number)
    shop_before = json.dumps(
        [standin_shop.shop.orders, standin_shop.shop.customers], sort_keys=True, default=str
    )
    assert http("POST", f"{standin_shop.url}/_standin/fail-next", answer)[0] == 200
    reply = step(shopify_shop(store, standin_shop), commerce)
    assert reply.text.startswith(f"I couldn't {what} right now"), reply.text
    assert "a colleague will follow up" in reply.text
    after = store.get_order(number)
    assert (after["status"], after["changes"], after["ship_street"]) == (
        before["status"],
        before["changes"],
        before["ship_street"],
    )
    assert (
        json.dumps(
            [standin_shop.shop.orders, standin_shop.shop.customers], sort_keys=True, default=str
        )
        == shop_before
    )
    [ticket] = store.query("SELECT * FROM tickets")
    assert f"#{ticket['id']}" in reply.text
    status = "rejected" if answer["status"] == 422 else "pending"
    assert len(list_changes(store, (status,))) == 1


@pytest.mark.parametrize("journey", ["cancel", "address", "return", "default address"])
def test_with_shopify_an_accepted_change_is_confirmed(store, commerce, standin_shop, journey):
    step, _, _ = JOURNEYS[journey]
    reply = step(shopify_shop(store, standin_shop), commerce)
    assert "couldn't" not in reply.text and "Sorry" not in reply.text, reply.text
    assert len(list_changes(store, ("accepted",))) == 1
    assert any(c["method"] != "GET" for c in standin_shop.shop.calls)
