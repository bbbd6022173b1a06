"""The support desk's journeys in the widget (headless Chromium) against the real Rasa and
action servers and the stack's real SQLite shop (issue 13: every journey "in the widget and
over REST"; the REST side is ``tests/e2e/test_desk_*.py``, the cancel is
``test_desk_cancel_browser.py``).

Each test types like a shopper, clicks the quick-reply buttons where the journey offers
them, and then checks what the store holds:

1. payment method change of a pending order, the new method picked with its button;
2. item change of a pending order to another size, through the "anything else?" step;
3. exchange of a delivered item (``exchange_requested``);
4. return of one item of a delivered order, refunded to a gift card picked by its button
   (``return_requested``, the instructions in the outbox);
5. default address change on the profile (the orders keep their address);
6. a refusal shown in the widget (a gift card that doesn't cover the order) changing nothing.

One phrasing of the exchange's answer ("the jacket in size M please") is read as a FAQ
question by the NLU; the exchange form takes it as the answer all the same
(``variants.answers_swap_question``).

The shoppers and orders are this module's own (``tests/support/desk_widget.py``), imported
into the stack's shop, so no other test meets them. Screenshots:
``test-artifacts/web/journey-desk-<journey>.png``.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from typing import Any

import pytest
from web_support import chips, open_widget, press, say, shot, stack_web_app, transcript

from tests.support.desk_widget import (
    CHANGER,
    MOVER,
    ORDERS,
    PAYER,
    PAYER_GIFT,
    RETURNER,
    RETURNER_GIFT,
    import_widget_shop,
)
from tests.support.servers import rasa_model, rasa_stack  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def desk(rasa_stack, tmp_path_factory) -> dict[str, Any]:  # noqa: F811 - the fixture above
    """This module's shoppers and orders in the stack's shop (the picked products)."""
    return import_widget_shop(rasa_stack.db_path, tmp_path_factory.mktemp("desk-widget-import"))


@pytest.fixture(scope="module")
def desk_web(rasa_stack, desk):  # noqa: F811
    """The web app over the stack's shop."""
    app = stack_web_app(rasa_stack)
    yield app
    app.stop()


@pytest.fixture
def page(context, desk_web):
    return open_widget(context, desk_web.url)


# --------------------------------------------------------------------------- the store
def _rows(stack, sql: str, params: list) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(stack.db_path)) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(sql, params).fetchall()]


def _order(stack, number: str) -> dict[str, Any]:
    return _rows(stack, "SELECT * FROM orders WHERE order_number = ?", [number])[0]


def _items(stack, number: str) -> list[dict[str, Any]]:
    return _rows(
        stack,
        "SELECT i.* FROM order_items i JOIN orders o ON o.id = i.order_id"
        " WHERE o.order_number = ? ORDER BY i.id",
        [number],
    )


def _payments(stack, number: str) -> list[dict[str, Any]]:
    return _rows(
        stack,
        "SELECT p.* FROM payments p JOIN orders o ON o.id = p.order_id"
        " WHERE o.order_number = ? ORDER BY p.id",
        [number],
    )


def _method(stack, email: str, kind: str) -> dict[str, Any]:
    [method] = _rows(
        stack,
        "SELECT m.* FROM payment_methods m JOIN customers c ON c.id = m.customer_id"
        " WHERE c.email = ? AND m.kind = ?",
        [email, kind],
    )
    return method


def _changes(order: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(order["changes"] or "[]")


def _label(variant: dict[str, Any]) -> str:
    return " / ".join(str(v) for v in variant["options"].values())


# --------------------------------------------------------------------------- 1. payment method
def test_payment_method_change_with_its_button(page, rasa_stack, desk):  # noqa: F811
    number = ORDERS["pay_switch"]
    paypal, card = _method(rasa_stack, PAYER, "paypal"), _method(rasa_stack, PAYER, "card")
    reply = say(page, f"can i pay {number} with a different method?")
    assert "email" in reply.lower(), reply
    reply = say(page, PAYER)
    assert "Which payment method should it use instead?" in reply, reply
    offered = chips(page)
    assert any(t.startswith("PayPal") for t in offered), offered
    assert "gift card ending 0005" in offered and "Mastercard ending 5151" not in offered
    reply = press(page, "PayPal")
    assert f"order {number} will be paid with PayPal" in reply, reply
    assert "Mastercard ending 5151 gets" in reply and "3-5 business days" in reply
    reply = press(page, "Yes")
    shot(page, "journey-desk-payment")
    assert f"order {number} is now paid with PayPal" in reply, transcript(page)
    order = _order(rasa_stack, number)
    assert order["payment_method_id"] == paypal["id"] and order["status"] == "pending"
    rows = _payments(rasa_stack, number)
    assert [r for r in rows if r["kind"] == "payment" and r["payment_method_id"] == paypal["id"]]
    refunds = [r for r in rows if r["kind"] == "refund"]
    assert len(refunds) == 1 and refunds[0]["payment_method_id"] == card["id"]
    assert refunds[0]["amount"] == pytest.approx(desk["total"])
    assert _changes(order)[-1]["kind"] == "payment"


# --------------------------------------------------------------------------- 2. item change
def test_item_change_to_another_size_through_anything_else(page, rasa_stack, desk):  # noqa: F811
    number = ORDERS["items"]
    a, b = desk["a"], desk["b"]
    title = a["product"]["title"]
    before = _order(rasa_stack, number)
    reply = say(page, f"hi, can I change the {a['noun']} in {number} to size {a['size']}?")
    assert "email" in reply.lower(), reply
    reply = say(page, CHANGER)
    # the item and size of the request are taken, not asked again
    assert f"Noted: {title} in {_label(a['target'])}" in reply, reply
    assert f"Anything else to change in order {number}?" in reply and "only once" in reply
    assert "That's all" in chips(page)
    reply = press(page, "That's all")
    assert f"To confirm, order {number} changes like this:" in reply, reply
    assert f"{title}: {_label(a['current'])} -> {_label(a['target'])}" in reply
    assert b["product"]["title"] not in reply  # the other item stays as it is
    assert "Shall I make the change?" in reply
    reply = press(page, "Yes")
    shot(page, "journey-desk-items")
    assert f"Done: in order {number}" in reply, transcript(page)
    order = _order(rasa_stack, number)
    assert order["status"] == "items_modified"
    assert order["total"] == pytest.approx(before["total"])  # same price: nothing charged
    assert [i["variant_id"] for i in _items(rasa_stack, number)] == [
        a["target"]["id"],
        b["current"]["id"],
    ]
    change = _changes(order)[-1]
    assert change["kind"] == "items" and len(change["items"]) == 1
    assert len(_payments(rasa_stack, number)) == 1


# --------------------------------------------------------------------------- 3. exchange
def test_exchange_of_a_delivered_item(page, rasa_stack, desk):  # noqa: F811
    number = ORDERS["exchange"]
    a = desk["a"]
    title = a["product"]["title"]
    reply = say(page, f"I'd like to exchange the {a['noun']} from order {number}")
    assert "email" in reply.lower(), reply
    reply = say(page, CHANGER)
    assert "can be exchanged for another size or colour" in reply, reply
    # its only item, so the size alone answers "which item, and for what?"
    reply = say(page, f"size {a['size']} please")
    # the item is noted: no "anything else?", the reason comes next
    assert f"Noted: {title} for {_label(a['target'])}" in reply, reply
    assert "reason for the exchange" in reply
    reply = say(page, "it's too small")
    assert f"{_label(a['current'])} -> {_label(a['target'])}" in reply, reply
    assert "no price difference" in reply and "Yes" in chips(page)
    reply = press(page, "Yes")
    shot(page, "journey-desk-exchange")
    assert "is registered" in reply and "exchange requested" in reply, transcript(page)
    order = _order(rasa_stack, number)
    assert order["status"] == "exchange_requested"
    change = _changes(order)[-1]
    assert change["kind"] == "exchange" and "too small" in change["reason"]
    assert [(s["from"]["variant_id"], s["to"]["variant_id"]) for s in change["items"]] == [
        (a["current"]["id"], a["target"]["id"])
    ]


def test_exchange_answer_naming_the_item_and_the_size(page, rasa_stack, desk):  # noqa: F811
    number = ORDERS["exchange_words"]
    a = desk["a"]
    say(page, f"I'd like to exchange the {a['noun']} from order {number}")
    reply = say(page, CHANGER)
    assert "can be exchanged for another size or colour" in reply, reply
    reply = say(page, f"the {a['noun']} in size {a['size']} please")
    noted = f"Noted: {a['product']['title']} for {_label(a['target'])}" in reply
    say(page, "stop")
    assert _order(rasa_stack, number)["status"] == "delivered"
    assert noted, reply


# --------------------------------------------------------------------------- 4. return
def test_return_of_one_item_refunded_to_a_gift_card(page, rasa_stack, desk):  # noqa: F811
    number = ORDERS["return"]
    a, b = desk["a"], desk["b"]
    gift = _method(rasa_stack, RETURNER, "gift_card")
    gift_label = f"gift card ending {RETURNER_GIFT[-4:]}"
    reply = say(page, f"I want to return something from {number}")
    assert "email" in reply.lower(), reply
    reply = say(page, RETURNER)
    assert "Which items would you like to return?" in reply, reply
    offered = chips(page)
    assert "All of them" in offered, offered
    [item_a] = [t for t in offered if a["product"]["title"][:30] in t]
    reply = press(page, item_a)
    assert "reason for the return" in reply, reply
    assert "It doesn't fit" in chips(page)
    reply = press(page, "It doesn't fit")
    assert "Where should the refund go?" in reply, reply
    assert gift_label in chips(page) and "Visa ending 1212" in chips(page)
    reply = press(page, gift_label)
    assert page.locator(".sbw-user .sbw-bubble").last.inner_text() == gift_label
    assert f"return 1 x {a['product']['title']} from order {number}" in reply, reply
    assert "(reason: It doesn't fit)" in reply and gift_label in reply
    assert b["product"]["title"] not in reply
    reply = press(page, "Yes")
    shot(page, "journey-desk-return")
    assert "return requested" in reply and gift_label in reply, transcript(page)
    order = _order(rasa_stack, number)
    assert order["status"] == "return_requested"
    [ret] = _rows(
        rasa_stack,
        "SELECT rma_id, refund_payment_method_id FROM returns WHERE order_id = ?",
        [order["id"]],
    )
    assert ret["refund_payment_method_id"] == gift["id"] and ret["rma_id"] in reply
    returned = {i["variant_id"]: i["returned_quantity"] for i in _items(rasa_stack, number)}
    assert returned == {a["current"]["id"]: 1, b["current"]["id"]: 0}
    [mail] = _rows(rasa_stack, "SELECT kind, body FROM outbox WHERE order_id = ?", [order["id"]])
    assert mail["kind"] == "return_instructions" and ret["rma_id"] in mail["body"]


# --------------------------------------------------------------------------- 5. default address
def test_default_address_change_keeps_the_orders(page, rasa_stack, desk):  # noqa: F811
    number = ORDERS["address"]
    [customer] = _rows(rasa_stack, "SELECT id FROM customers WHERE email = ?", [MOVER])
    orders_sql = (
        "SELECT order_number, status, ship_name, ship_street, ship_city, ship_postcode,"
        " ship_country FROM orders WHERE customer_id = ? ORDER BY id"
    )
    before = _rows(rasa_stack, orders_sql, [customer["id"]])
    reply = say(page, f"where is my order {number}?")
    assert "email" in reply.lower(), reply
    reply = say(page, MOVER)
    assert number in reply, reply
    reply = say(page, "I moved, update my profile address")
    assert "new default address" in reply, reply
    reply = say(page, "Torstrasse 1, 10119 Berlin, Germany")
    assert "new default address would be" in reply and "Torstrasse 1" in reply, reply
    assert "Ringstraße 119" in reply  # the one it replaces
    reply = press(page, "Yes")
    shot(page, "journey-desk-address")
    assert "default address is now" in reply, transcript(page)
    [row] = _rows(
        rasa_stack,
        "SELECT address_street, address_postcode, address_city FROM customers WHERE id = ?",
        [customer["id"]],
    )
    assert row == {
        "address_street": "Torstrasse 1",
        "address_postcode": "10119",
        "address_city": "Berlin",
    }
    assert _rows(rasa_stack, orders_sql, [customer["id"]]) == before


# --------------------------------------------------------------------------- 6. a refusal
def test_a_gift_card_that_does_not_cover_the_order_is_refused(page, rasa_stack, desk):  # noqa: F811
    number = ORDERS["pay_refused"]
    gift = _method(rasa_stack, PAYER, "gift_card")
    before = _order(rasa_stack, number)
    reply = say(page, f"I'd like to change the payment method of order {number}")
    assert "email" in reply.lower(), reply
    reply = say(page, PAYER)
    assert "Which payment method should it use instead?" in reply, reply
    label = f"gift card ending {PAYER_GIFT[-4:]}"
    reply = press(page, label)
    shot(page, "journey-desk-refusal")
    assert f"Your {label} has €5.00 left, which doesn't cover" in reply, transcript(page)
    assert "choose another method" in reply
    reply = say(page, "stop")
    assert "changed nothing" in reply, reply
    after = _order(rasa_stack, number)
    assert after["payment_method_id"] == before["payment_method_id"]
    assert after["changes"] == before["changes"] and after["status"] == "pending"
    assert len(_payments(rasa_stack, number)) == 1
    assert _method(rasa_stack, PAYER, "gift_card")["balance"] == gift["balance"]
