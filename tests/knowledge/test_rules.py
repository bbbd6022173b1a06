"""Business rules: every allowed and refused branch."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from knowledge.rules import (
    Decision,
    can_cancel,
    can_change_address,
    item_return_status,
    refund_amount,
    return_window,
    returnable_items,
    validate_address,
)

TODAY = date(2026, 3, 16)


def order(status, delivered_days_ago=None, subtotal=100.0, tax=19.0):
    delivered = (
        (TODAY - timedelta(days=delivered_days_ago)).isoformat() + "T10:00:00+00:00"
        if delivered_days_ago is not None
        else None
    )
    return {
        "id": 1,
        "order_number": "SB-000001",
        "status": status,
        "delivered_at": delivered,
        "subtotal": subtotal,
        "tax": tax,
    }


@pytest.mark.parametrize("status", ["pending", "processing"])
def test_cancel_and_address_change_allowed_before_shipping(status):
    assert can_cancel(order(status)) == Decision(True, can_cancel(order(status)).reason, "ok")
    assert can_change_address(order(status)).ok


@pytest.mark.parametrize(
    "status,code",
    [
        ("shipped", "already_shipped"),
        ("delivered", "already_delivered"),
        ("cancelled", "already_cancelled"),
        ("returned", "already_returned"),
        ("lost_in_space", "unknown_status"),
    ],
)
def test_cancel_and_address_change_refused_after_shipping(status, code):
    for rule in (can_cancel, can_change_address):
        decision = rule(order(status))
        assert not decision.ok and not decision
        assert decision.code == code
        assert decision.reason


def test_missing_order_is_refused():
    assert can_cancel(None).code == "not_found"
    assert can_change_address(None).code == "not_found"
    assert return_window(None, TODAY, 30).code == "not_found"


@pytest.mark.parametrize(
    "status,days,code",
    [
        ("pending", None, "not_delivered"),
        ("processing", None, "not_delivered"),
        ("shipped", None, "not_delivered"),
        ("cancelled", None, "cancelled"),
        ("returned", 3, "already_returned"),
        ("delivered", None, "no_delivery_date"),
        ("delivered", 31, "window_expired"),
        ("delivered", 400, "window_expired"),
    ],
)
def test_return_window_refusals(status, days, code):
    decision = return_window(order(status, days), TODAY, 30)
    assert not decision.ok and decision.code == code


@pytest.mark.parametrize("days", [0, 1, 29, 30])
def test_return_window_inclusive_bounds(days):
    assert return_window(order("delivered", days), TODAY, 30).ok


ITEMS = [
    {
        "id": 10,
        "product_id": 1,
        "sku": "A",
        "title": "Shoe",
        "quantity": 2,
        "unit_price": 50.0,
        "returned_quantity": 0,
    },
    {
        "id": 11,
        "product_id": 2,
        "sku": "U",
        "title": "Underwear",
        "quantity": 1,
        "unit_price": 20.0,
        "returned_quantity": 0,
    },
    {
        "id": 12,
        "product_id": 3,
        "sku": "T",
        "title": "Shirt",
        "quantity": 3,
        "unit_price": 10.0,
        "returned_quantity": 3,
    },
    {
        "id": 13,
        "product_id": 4,
        "sku": "J",
        "title": "Jacket",
        "quantity": 3,
        "unit_price": 10.0,
        "returned_quantity": 1,
    },
]
PRODUCTS = {1: {"returnable": 1}, 2: {"returnable": 0}, 3: {"returnable": 1}, 4: {"returnable": 1}}


def test_item_return_status_explains_every_item():
    o = order("delivered", 5, subtotal=150.0, tax=28.5)
    rows = {r["sku"]: r for r in item_return_status(o, ITEMS, PRODUCTS, TODAY, 30)}
    assert rows["A"]["ok"] and rows["A"]["returnable_quantity"] == 2
    assert rows["U"]["code"] == "not_returnable" and rows["U"]["returnable_quantity"] == 0
    assert rows["T"]["code"] == "already_returned"
    assert rows["J"]["ok"] and rows["J"]["returnable_quantity"] == 2
    # 2 x 50 = 100 plus 19% proportional tax (28.5 / 150)
    assert rows["A"]["refund_amount"] == 119.0
    assert [r["sku"] for r in returnable_items(o, ITEMS, PRODUCTS, TODAY, 30)] == ["A", "J"]


def test_no_item_is_returnable_outside_the_window():
    o = order("delivered", 45)
    rows = item_return_status(o, ITEMS, PRODUCTS, TODAY, 30)
    assert all(r["code"] == "window_expired" and r["returnable_quantity"] == 0 for r in rows)
    assert returnable_items(o, ITEMS, PRODUCTS, TODAY, 30) == []


def test_unknown_product_counts_as_returnable():
    o = order("delivered", 1)
    item = dict(ITEMS[0], product_id=None)
    assert returnable_items(o, [item], {}, TODAY, 30)[0]["ok"]


def test_refund_amount_rule():
    o = {"subtotal": 59.9, "tax": 11.38}
    assert (
        refund_amount(o, {"unit_price": 19.9}, 1) == 23.68
    )  # 19.9 + 11.38 * 19.9 / 59.9 = 23.6807
    assert refund_amount(o, {"unit_price": 19.9}, 0) == 0.0
    assert refund_amount({"subtotal": 0, "tax": 0}, {"unit_price": 0}, 2) == 0.0
    assert refund_amount({"subtotal": 10.0}, {"unit_price": 5.0}, 2) == 10.0  # no tax column
    with pytest.raises(ValueError):
        refund_amount(o, {"unit_price": 1}, -1)


GOOD = {
    "name": "Alice Martin",
    "street": "Hauptstraße 5",
    "city": "Berlin",
    "postcode": "10115",
    "country": "de",
}


def test_valid_address_has_no_errors():
    assert validate_address(GOOD) == {}
    assert validate_address({f"ship_{k}": v for k, v in GOOD.items()}) == {}
    assert validate_address(dict(GOOD, postcode="1012 AB", country="NL")) == {}


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"name": ""}, "name"),
        ({"street": "   "}, "street"),
        ({"city": None}, "city"),
        ({"postcode": ""}, "postcode"),
        ({"country": ""}, "country"),
        ({"name": "x" * 101}, "name"),
        ({"street": "Main\x00Street"}, "street"),
        ({"city": "12345"}, "city"),
        ({"street": "12"}, "street"),
        ({"postcode": "!!"}, "postcode"),
        ({"postcode": "1" * 20}, "postcode"),
        ({"country": "XX"}, "country"),
        ({"country": "Germany"}, "country"),
        ({"name": "<script>"}, None),
    ],
)
def test_invalid_address_fields(changes, field):
    errors = validate_address(dict(GOOD, **changes))
    if field is None:
        assert errors == {}  # markup is text, escaped where shown; letters are present
    else:
        assert field in errors and errors[field]
