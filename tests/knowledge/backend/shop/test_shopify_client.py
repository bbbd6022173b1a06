"""ShopifyClient against the stand-in Shopify server on a free port: calls, answers, errors."""

from __future__ import annotations

import json

import pytest

from knowledge.backend.base import OutgoingChange, ShopAck, ShopRejected, ShopUnavailable
from knowledge.backend.shopify import ShopifyClient, parse_link_header
from tests.support.standin import TOKEN, free_port, http, start_standin, unfulfilled_paid


def _calls(standin, path_part: str) -> list[dict]:
    return [c for c in standin.shop.calls if path_part in c["path"]]


def test_cancel_sends_the_documented_calls_and_refunds(standin, client):
    order = unfulfilled_paid(standin.shop)
    change = OutgoingChange(
        "cancel_order",
        "k-cancel-1",
        order_number=order["name"],
        external_order_id=str(order["id"]),
        payload={"reason": "wrong size", "refunds": [{"method": "card", "amount": 10.0}]},
    )
    ack = client.send(change)
    assert isinstance(ack, ShopAck) and not ack.already_done
    assert ack.external_id == str(order["id"])
    assert order["cancelled_at"] and order["cancel_reason"] == "customer"
    (calc,) = _calls(standin, "/refunds/calculate.json")
    (cancel,) = _calls(standin, "/cancel.json")
    assert cancel["method"] == "POST" and cancel["status"] == 200
    body = json.loads(cancel["body"])
    assert body["reason"] == "customer" and body["email"] is True
    assert body["refund"]["transactions"][0]["kind"] == "refund"
    assert {li["line_item_id"] for li in body["refund"]["refund_line_items"]} == {
        li["id"] for li in order["line_items"]
    }
    assert order["financial_status"] == "refunded"


def test_a_second_cancel_is_already_done_and_sends_no_cancel(standin, client):
    order = unfulfilled_paid(standin.shop)
    change = OutgoingChange("cancel_order", "k-2", external_order_id=str(order["id"]))
    assert not client.send(change).already_done
    again = client.send(change)
    assert again.already_done
    assert len(_calls(standin, "/cancel.json")) == 1


def test_cancelling_an_unpaid_order_voids_it_even_with_a_refund_object(standin, client):
    """shopbot's mirror may hold a charge the shop has not captured (``financial_status:
    pending``): the calculated refund has no transactions, and the cancel voids the order
    (the stand-in left it ``pending`` when the body carried a ``refund``)."""
    order = next(
        o
        for o in standin.shop.orders.values()
        if o["financial_status"] == "pending" and not o["cancelled_at"]
    )
    change = OutgoingChange(
        "cancel_order",
        "k-void-1",
        external_order_id=str(order["id"]),
        payload={"refunds": [{"method": "card", "amount": 10.0}]},
    )
    assert not client.send(change).already_done
    (cancel,) = _calls(standin, "/cancel.json")
    assert json.loads(cancel["body"])["refund"]["transactions"] == []
    assert order["cancelled_at"] and order["financial_status"] == "voided"
    txs = client.transactions(order["id"])
    (auth,) = [t for t in txs if t["kind"] == "authorization"]
    assert [(t["kind"], t["parent_id"]) for t in txs if t["kind"] == "void"] == [
        ("void", auth["id"])
    ]


def test_cancel_of_a_fulfilled_order_is_rejected_with_the_shops_422(standin, client):
    order = next(
        o for o in standin.shop.orders.values() if o["fulfillments"] and not o["cancelled_at"]
    )
    with pytest.raises(ShopRejected) as info:
        client.send(OutgoingChange("cancel_order", "k-3", external_order_id=str(order["id"])))
    assert info.value.status == 422
    assert "fulfilled" in info.value.message
    assert not order["cancelled_at"]


def test_order_found_by_name_when_its_shopify_id_is_unknown(standin, client):
    order = unfulfilled_paid(standin.shop)
    ack = client.send(OutgoingChange("cancel_order", "k-4", order_number=order["name"]))
    assert ack.external_id == str(order["id"])
    with pytest.raises(ShopRejected):
        client.send(OutgoingChange("cancel_order", "k-5", order_number="SB-999999"))


def test_address_change_is_a_put_of_the_shipping_address(standin, client):
    order = unfulfilled_paid(standin.shop)
    address = {
        "name": "Ada L",
        "street": "12 Baker Street",
        "city": "London",
        "postcode": "NW1 6XE",
        "country": "gb",
    }
    change = OutgoingChange(
        "change_shipping_address",
        "k-6",
        external_order_id=str(order["id"]),
        payload={"address": address},
    )
    client.send(change)
    assert order["shipping_address"]["address1"] == "12 Baker Street"
    assert order["shipping_address"]["zip"] == "NW1 6XE"
    assert order["shipping_address"]["country_code"] == "GB"
    (put,) = _calls(standin, f"/orders/{order['id']}.json")[-1:]
    assert put["method"] == "PUT"
    assert json.loads(put["body"])["order"]["shipping_address"]["city"] == "London"
    bad = OutgoingChange(
        "change_shipping_address",
        "k-7",
        external_order_id=str(order["id"]),
        payload={"address": {"street": "", "city": "X", "postcode": "1", "country": "GB"}},
    )
    with pytest.raises(ShopRejected) as info:
        client.send(bad)
    assert info.value.status == 422 and "address1" in info.value.message


def test_return_request_is_recorded_on_the_order_once(standin, client):
    order = next(
        o
        for o in standin.shop.orders.values()
        if o["fulfillments"] and not o["cancelled_at"] and not o["tags"]
    )
    change = OutgoingChange(
        "request_return",
        "k-ret-1",
        external_order_id=str(order["id"]),
        payload={
            "items": [{"sku": order["line_items"][0]["sku"], "quantity": 1}],
            "reason": "too small",
            "refund_to": "original",
        },
    )
    assert not client.send(change).already_done
    assert "shopbot-return-requested" in order["tags"]
    (note,) = [n for n in order["note_attributes"] if n["name"] == "shopbot:k-ret-1"]
    assert json.loads(note["value"])["reason"] == "too small"
    assert client.send(change).already_done
    assert len([n for n in order["note_attributes"] if n["name"] == "shopbot:k-ret-1"]) == 1


def test_an_item_change_that_costs_less_is_refunded(standin, client):
    order = unfulfilled_paid(standin.shop)
    change = OutgoingChange(
        "change_items",
        "k-items",
        external_order_id=str(order["id"]),
        payload={"swaps": [], "difference": -5.0},
    )
    client.send(change)
    refunds = _calls(standin, "/refunds.json")
    assert [c["status"] for c in refunds] == [201]
    assert json.loads(refunds[0]["body"])["refund"]["transactions"][0]["amount"] == "5.00"
    assert order["financial_status"] == "partially_refunded"


def test_default_address_is_set_and_then_already_done(standin, client):
    customer = next(c for c in standin.shop.customers.values() if c["default_address"])
    address = {
        "name": "Ada L",
        "street": "1 New Road",
        "city": "Leeds",
        "postcode": "LS1 1AA",
        "country": "GB",
    }
    change = OutgoingChange(
        "set_default_address",
        "k-addr",
        external_customer_id=str(customer["id"]),
        payload={"address": address},
    )
    assert not client.send(change).already_done
    assert customer["default_address"]["address1"] == "1 New Road"
    assert client.send(change).already_done


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_unavailable(standin, client, status):
    order = unfulfilled_paid(standin.shop)
    http("POST", f"{standin.url}/_standin/fail-next", {"status": status})
    with pytest.raises(ShopUnavailable):
        client.send(OutgoingChange("cancel_order", "k-5xx", external_order_id=str(order["id"])))
    assert not order["cancelled_at"]
    client.send(OutgoingChange("cancel_order", "k-5xx", external_order_id=str(order["id"])))
    assert order["cancelled_at"]


def test_an_injected_422_is_rejected_with_the_shops_errors(standin, client):
    order = unfulfilled_paid(standin.shop)
    http(
        "POST",
        f"{standin.url}/_standin/fail-next",
        {"status": 422, "errors": {"base": ["the warehouse already packed it"]}},
    )
    with pytest.raises(ShopRejected) as info:
        client.send(OutgoingChange("cancel_order", "k-422", external_order_id=str(order["id"])))
    assert info.value.status == 422
    assert "the warehouse already packed it" in info.value.message


def test_429_carries_retry_after(standin_data):
    server = start_standin(standin_data, bucket_size=1, leak_per_s=0.001)
    try:
        c = ShopifyClient(server.url, TOKEN)
        order = unfulfilled_paid(server.shop)
        c.get_order(str(order["id"]))  # the bucket's one call
        with pytest.raises(ShopUnavailable) as info:
            c.get_order(str(order["id"]))
        assert info.value.retry_after_s is not None and info.value.retry_after_s >= 1.0
        assert server.shop.calls[-1]["status"] == 429
    finally:
        server.stop()


def test_injected_429_retry_after_is_passed_on(standin, client):
    http("POST", f"{standin.url}/_standin/fail-next", {"status": 429, "retry_after": 7})
    with pytest.raises(ShopUnavailable) as info:
        client.get_order(str(unfulfilled_paid(standin.shop)["id"]))
    assert info.value.retry_after_s == 7.0


def test_wrong_token_is_401_and_rejected(standin):
    bad = ShopifyClient(standin.url, "not-the-token-" + "x" * 20)
    with pytest.raises(ShopRejected) as info:
        bad.get_order(str(unfulfilled_paid(standin.shop)["id"]))
    assert info.value.status == 401
    status, _, body = http("GET", f"{standin.url}/admin/api/2025-01/orders.json")
    assert status == 401 and "errors" in body


def test_unreachable_shop_is_unavailable():
    c = ShopifyClient(f"http://127.0.0.1:{free_port()}", TOKEN, timeout_s=2)
    with pytest.raises(ShopUnavailable):
        c.send(OutgoingChange("cancel_order", "k-x", external_order_id="1"))


def test_paging_follows_link_headers(standin, client):
    pages = list(client.pages("orders", {"status": "any", "limit": 7}))
    total = len(standin.shop.orders)
    assert len(pages) == -(-total // 7)
    ids = [o["id"] for page in pages for o in page]
    assert len(ids) == len(set(ids)) == total
    status, headers, body = http(
        "GET",
        f"{standin.url}/admin/api/2025-01/orders.json?limit=7&status=any",
        headers={"X-Shopify-Access-Token": TOKEN},
    )
    links = parse_link_header(headers["Link"])
    assert status == 200 and set(links) == {"next"} and "page_info=" in links["next"]
    status, headers, _ = http("GET", links["next"], headers={"X-Shopify-Access-Token": TOKEN})
    assert set(parse_link_header(headers["Link"])) == {"previous", "next"}
    assert headers["X-Shopify-Shop-Api-Call-Limit"].endswith("/40")


def test_open_orders_leave_cancelled_ones_out(standin, client):
    open_ids = {o["id"] for page in client.pages("orders") for o in page}
    cancelled = {o["id"] for o in standin.shop.orders.values() if o["cancelled_at"]}
    assert cancelled and not open_ids & cancelled


def test_from_settings_needs_a_token(settings):
    with pytest.raises(ValueError):
        ShopifyClient.from_settings(settings.with_overrides(shopify_shop="x.myshopify.com"))
    c = ShopifyClient.from_settings(
        settings.with_overrides(shopify_shop="x.myshopify.com", shopify_access_token=TOKEN)
    )
    assert c.url("orders.json") == "https://x.myshopify.com/admin/api/2025-01/orders.json"


def test_paging_waits_out_a_429_and_goes_on(standin):
    """A bulk read (the import) that meets Shopify's rate limit waits ``Retry-After`` and
    asks for the same page again, as Shopify documents; it used to abort the whole import."""
    waits: list[float] = []
    client = ShopifyClient(standin.url, TOKEN, sleep=waits.append)
    http("POST", f"{standin.url}/_standin/fail-next", {"status": 429, "retry_after": 3})
    orders = [o for page in client.pages("orders", {"status": "any"}) for o in page]
    assert len(orders) == len(standin.shop.orders)
    assert waits == [3.0]
    assert [c["status"] for c in _calls(standin, "/orders.json")] == [429, 200]


def test_paging_gives_up_after_a_few_waits_or_a_long_one(standin):
    waits: list[float] = []
    client = ShopifyClient(standin.url, TOKEN, sleep=waits.append)
    http(
        "POST",
        f"{standin.url}/_standin/fail-next",
        {"status": 429, "count": ShopifyClient.MAX_PAGE_WAITS + 1},
    )
    with pytest.raises(ShopUnavailable):
        list(client.pages("customers"))
    assert len(waits) == ShopifyClient.MAX_PAGE_WAITS
    http("POST", f"{standin.url}/_standin/fail-next", {"status": 429, "retry_after": 3600})
    with pytest.raises(ShopUnavailable):
        list(client.pages("customers"))
    assert len(waits) == ShopifyClient.MAX_PAGE_WAITS  # not waited an hour
    http("POST", f"{standin.url}/_standin/fail-next", {"status": 503})
    with pytest.raises(ShopUnavailable):  # a 5xx is not a rate limit: no wait
        list(client.pages("customers"))
    assert len(waits) == ShopifyClient.MAX_PAGE_WAITS


def test_a_change_never_waits_on_a_429(standin):
    """The shopper is waiting in chat: a rate-limited change is left pending at once."""
    waits: list[float] = []
    client = ShopifyClient(standin.url, TOKEN, sleep=waits.append)
    http("POST", f"{standin.url}/_standin/fail-next", {"status": 429, "retry_after": 2})
    order = unfulfilled_paid(standin.shop)
    with pytest.raises(ShopUnavailable):
        client.send(OutgoingChange("cancel_order", "k-429", external_order_id=str(order["id"])))
    assert waits == [] and not order["cancelled_at"]
