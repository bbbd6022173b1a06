"""Issue 13 operations against a real SQLite file: cancel with reason and refunds, payment
and item changes, returns with a refund destination, exchanges, the default address."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.operations import (
    OperationError,
    cancel_order,
    change_items,
    change_payment_method,
    net_paid,
    request_exchange,
    request_return,
    set_default_address,
)

TODAY = date(2026, 3, 16)


def snapshot(store):
    return {
        t: store.query(f"SELECT * FROM {t} ORDER BY id")
        for t in ("orders", "order_items", "product_variants", "payment_methods", "payments")
    }


def refused(store, code, call, *args, **kwargs):
    before = snapshot(store)
    audit = store.count("audit")
    with pytest.raises(OperationError) as info:
        call(store, *args, **kwargs)
    assert info.value.code == code, info.value
    assert snapshot(store) == before and store.count("audit") == audit
    return info.value


# --------------------------------------------------------------------------- cancel
def test_cancel_with_reason_refunds_the_card_and_says_when(store, commerce):
    order = cancel_order(store, "SB-100001", "test", reason="i ordered by mistake")
    assert order["status"] == "cancelled"
    change = order["changes"][-1]
    assert change["kind"] == "cancel" and change["reason"] == "I ordered by mistake"
    [refund] = change["refunds"]
    assert refund["label"] == "Visa ending 4242" and refund["amount"] == order["total"]
    assert refund["arrives"] == "in 3-5 business days"
    history = store.payments(order["id"])
    assert history[-1]["kind"] == "refund" and history[-1]["status"] == "pending"
    assert net_paid(store, order) == 0
    assert store.get_variant(2)["stock"] == 7  # the variant back in stock
    assert store.audit_log("order", "SB-100001")[0]["details"]["reason"] == "I ordered by mistake"


def test_cancel_refused_for_a_reason_not_in_the_policy(store, commerce):
    err = refused(store, "invalid_reason", cancel_order, "SB-100001", "t", reason="just because")
    assert "I ordered by mistake" in err.details["reasons"]


def test_cancel_of_a_gift_card_order_refunds_at_once(store, commerce):
    change_payment_method(store, "SB-100001", commerce["gift_big"], "test")
    before = store.get_payment_method(commerce["gift_big"])["balance"]
    order = cancel_order(store, "SB-100001", "test", reason="Other")
    [refund] = order["changes"][-1]["refunds"]
    assert refund["arrives"] == "at once" and refund["label"] == "gift card ending 8888"
    assert store.get_payment_method(commerce["gift_big"])["balance"] == round(
        before + order["total"], 2
    )


def test_cancel_refused_after_shipping(store, commerce):
    refused(store, "already_shipped", cancel_order, "SB-100003", "t", reason="Other")


# --------------------------------------------------------------------------- payment
def test_change_payment_to_paypal_refunds_the_card(store, commerce):
    order = change_payment_method(store, "SB-100001", commerce["paypal"], "test")
    change = order["changes"][-1]
    assert order["payment_method_id"] == commerce["paypal"] and order["status"] == "pending"
    assert change["from"] == "Visa ending 4242" and change["to"].startswith("PayPal (a***@")
    assert change["refunds"][0]["label"] == "Visa ending 4242"
    kinds = [(p["kind"], p["payment_method_id"]) for p in store.payments(order["id"])]
    assert kinds[-2:] == [("refund", commerce["visa"]), ("payment", commerce["paypal"])]
    assert net_paid(store, order) == order["total"]


def test_gift_card_must_cover_the_total(store, commerce):
    err = refused(
        store,
        "gift_card_insufficient",
        change_payment_method,
        "SB-100001",
        commerce["gift_small"],
        "t",
    )
    assert "20.00" in err.reason


def test_gift_card_payment_takes_the_balance(store, commerce):
    order = change_payment_method(store, "SB-100001", commerce["gift_big"], "test")
    assert store.get_payment_method(commerce["gift_big"])["balance"] == round(
        500 - order["total"], 2
    )


@pytest.mark.parametrize(
    "number,method,code",
    [
        ("SB-100002", "paypal", "not_allowed"),  # processing: the policy says pending only
        ("SB-100003", "mastercard", "already_shipped"),
        ("SB-100001", "mastercard", "not_your_method"),  # Bob's card
        ("SB-100001", "visa", "same_method"),
    ],
)
def test_payment_change_refusals(store, commerce, number, method, code):
    refused(store, code, change_payment_method, number, commerce[method], "t")


def test_payment_changes_only_as_often_as_the_policy_allows(store, commerce):
    change_payment_method(store, "SB-100001", commerce["paypal"], "test")
    refused(store, "already_modified", change_payment_method, "SB-100001", commerce["visa"], "t")


# --------------------------------------------------------------------------- items
def test_change_items_to_other_variants_settles_the_difference(store, commerce):
    before = store.get_order("SB-100001")
    order = change_items(
        store, "SB-100001", [{"order_item_id": 1, "variant_id": 4}], "test", commerce["paypal"]
    )
    change = order["changes"][-1]
    assert order["status"] == "items_modified" and change["kind"] == "items"
    assert change["difference"] == round(5.0 * 1.19, 2)
    assert change["settlement"]["charged"]["label"].startswith("PayPal")
    item = store.order_items(order["id"])[0]
    assert (
        item["variant_id"] == 4 and item["sku"] == "RUN-00001-RED-42" and item["unit_price"] == 124
    )
    assert item["options"] == {"colour": "red", "size": "42"}
    assert order["subtotal"] == before["subtotal"] + 5 and order["total"] > before["total"]
    assert store.get_variant(4)["stock"] == 2 and store.get_variant(2)["stock"] == 7


def test_cheaper_variant_refunds_the_difference(store, commerce):
    # SB-100002 is processing: make it pending for the item change
    store.db.execute("UPDATE orders SET status = 'pending' WHERE id = 2")
    order = change_items(
        store, "SB-100002", [{"order_item_id": 2, "variant_id": 8}], "test", commerce["gift_small"]
    )
    settlement = order["changes"][-1]["settlement"]["refunded"]
    assert settlement["arrives"] == "at once" and settlement["amount"] == round(10 * 1.19, 2)
    assert store.get_payment_method(commerce["gift_small"])["balance"] == round(20 + 11.9, 2)


@pytest.mark.parametrize(
    "swaps,method,code",
    [
        ([{"order_item_id": 1, "variant_id": 6}], "visa", "other_product"),  # a jacket variant
        ([{"order_item_id": 1, "variant_id": 2}], "visa", "same_variant"),
        ([{"order_item_id": 1, "variant_id": 5}], "visa", "out_of_stock"),
        ([{"order_item_id": 3, "variant_id": 9}], "visa", "invalid_items"),  # not this order's
        ([{"order_item_id": 1, "variant_id": 4}], None, "payment_method_required"),
        ([{"order_item_id": 1, "variant_id": 4}], "gift_small", "gift_card_insufficient"),
        ([{"order_item_id": 1, "variant_id": 4}], "mastercard", "not_your_method"),
    ],
)
def test_item_change_refusals(store, commerce, swaps, method, code):
    method_id = commerce[method] if method else None
    if code == "gift_card_insufficient":
        store.db.execute("UPDATE payment_methods SET balance = 1 WHERE id = ?", [method_id])
    refused(store, code, change_items, "SB-100001", swaps, "t", method_id)


def test_second_item_change_is_refused(store, commerce):
    change_items(store, "SB-100001", [{"order_item_id": 1, "variant_id": 1}], "test")
    err = refused(
        store,
        "already_modified",
        change_items,
        "SB-100001",
        [{"order_item_id": 1, "variant_id": 3}],
        "t",
    )
    assert "only once" in err.reason


def test_item_change_refused_after_shipping(store, commerce):
    refused(
        store,
        "already_shipped",
        change_items,
        "SB-100003",
        [{"order_item_id": 5, "variant_id": 1}],
        "t",
    )


# --------------------------------------------------------------------------- returns
def test_return_to_a_gift_card_goes_to_the_outbox(store, commerce):
    created = request_return(
        store,
        "SB-100004",
        [{"order_item_id": 5}],
        "Too small",
        "test",
        refund_payment_method_id=commerce["gift_small"],
        today=TODAY,
    )
    order = store.get_order("SB-100004")
    assert (
        order["status"] == "return_requested"
        and order["changes"][-1]["rma_id"] == created["rma_id"]
    )
    assert created["refund"]["label"] == "gift card ending 4444"
    assert created["refund"]["arrives"] == "at once"
    assert store.get_return(created["rma_id"])["refund_payment_method_id"] == commerce["gift_small"]
    [mail] = store.outbox(order_id=order["id"])
    assert mail["to_email"] == "alice.martin@example.com" and created["rma_id"] in mail["body"]
    assert "Trailblazer" in mail["body"] and "at once" in mail["body"]
    # the other items can still be returned later
    again = request_return(store, "SB-100004", [{"order_item_id": 7}], "Too big", "t", today=TODAY)
    assert again["refund"]["label"] == "Visa ending 4242"


def test_return_refund_only_to_original_or_gift_card(store, commerce):
    refused(
        store,
        "refund_destination",
        request_return,
        "SB-100004",
        [{"order_item_id": 5}],
        "Too small",
        "t",
        refund_payment_method_id=commerce["paypal"],
        today=TODAY,
    )
    refused(
        store,
        "not_your_method",
        request_return,
        "SB-100004",
        [{"order_item_id": 5}],
        "Too small",
        "t",
        refund_payment_method_id=commerce["mastercard"],
        today=TODAY,
    )


@pytest.mark.parametrize(
    "number,items,code",
    [
        ("SB-100001", None, "not_delivered"),
        ("SB-100005", None, "window_expired"),
        ("SB-100004", [{"order_item_id": 6}], "not_returnable"),  # underwear
    ],
)
def test_return_refusals(store, commerce, number, items, code):
    refused(store, code, request_return, number, items, "Too small", "t", today=TODAY)


# --------------------------------------------------------------------------- exchanges
def test_exchange_for_another_size(store, commerce):
    order = request_exchange(
        store,
        "SB-100004",
        [{"order_item_id": 5, "variant_id": 3}],
        "Too small",
        "test",
        today=TODAY,
    )
    change = order["changes"][-1]
    assert order["status"] == "exchange_requested" and change["kind"] == "exchange"
    assert change["items"][0]["to"]["sku"] == "RUN-00001-BLUE-43" and change["difference"] == 0
    assert store.get_variant(3)["stock"] == 1
    [mail] = store.outbox(order_id=order["id"])
    assert change["exchange_id"] in mail["subject"] and "blue / 42 -> blue / 43" in mail["body"]


@pytest.mark.parametrize(
    "number,swaps,code",
    [
        ("SB-100004", [{"order_item_id": 5, "variant_id": 7}], "other_product"),
        ("SB-100004", [{"order_item_id": 6, "variant_id": 1}], "not_returnable"),
        ("SB-100005", [{"order_item_id": 8, "variant_id": 1}], "window_expired"),
        ("SB-100001", [{"order_item_id": 1, "variant_id": 1}], "not_delivered"),
        ("SB-100004", [{"order_item_id": 5, "variant_id": 5}], "out_of_stock"),
        ("SB-100004", [{"order_item_id": 5, "variant_id": 4}], "payment_method_required"),
    ],
)
def test_exchange_refusals(store, commerce, number, swaps, code):
    refused(store, code, request_exchange, number, swaps, "Too small", "t", today=TODAY)


# --------------------------------------------------------------------------- profile
def test_set_default_address(store, commerce):
    customer = set_default_address(
        store,
        1,
        {
            "name": "Alice Martin",
            "street": "Torstrasse 1",
            "city": "Berlin",
            "postcode": "10119",
            "country": "de",
        },
        "test",
    )
    assert store.default_address(customer)["ship_street"] == "Torstrasse 1"
    assert customer["address_country"] == "DE"
    assert store.audit_log("customer", 1)[0]["action"] == "set_default_address"
    assert store.get_order("SB-100001")["ship_street"] == "Hauptstrasse 5"  # orders untouched
    with pytest.raises(OperationError) as info:
        set_default_address(store, 1, {"street": "x"}, "t")
    assert info.value.code == "invalid_address" and "postcode" in info.value.details["errors"]


def test_order_view_for_agents(store, commerce):
    view = store.order_view("SB-100004")
    assert view["customer"]["email"] == "alice.martin@example.com"
    assert view["payment_method"]["last4"] == "4242" and view["payments"][0]["kind"] == "payment"
    assert view["items"][0]["options"] == {"colour": "blue", "size": "42"}
    assert store.order_view("SB-999999") is None
