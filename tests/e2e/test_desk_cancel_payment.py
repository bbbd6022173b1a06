"""End-to-end: the support desk's cancel (with a reason, the refund and when it arrives) and
payment method change, against the real Rasa and action servers over a real SQLite file.

The demo shop has few pending orders and other e2e tests cancel or change them, so this
module imports its own shoppers and orders into the stack's shop first, through the
documented importer (``tests/support/desk.py``): nothing here meets another test's order.
Button-style messages (``/intent{...}``) pin the path where the dialogue is under test;
plain text where reading the shopper's words is the point.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

import pytest

from tests.support.desk import BIG_GIFT, CANCELLER, ORDERS, PAYER, SMALL_GIFT, import_desk_shop

pytestmark = [pytest.mark.timeout(1800)]


def _sender(name: str) -> str:
    return f"e2e-desk-{name}-{uuid.uuid4().hex[:8]}"


def _db(stack) -> sqlite3.Connection:
    con = sqlite3.connect(stack.db_path)
    con.row_factory = sqlite3.Row
    return con


def _order(stack, number: str) -> dict[str, Any]:
    with _db(stack) as con:
        row = con.execute("SELECT * FROM orders WHERE order_number = ?", [number]).fetchone()
    return dict(row)


def _payments(stack, number: str) -> list[dict[str, Any]]:
    with _db(stack) as con:
        rows = con.execute(
            "SELECT p.* FROM payments p JOIN orders o ON o.id = p.order_id "
            "WHERE o.order_number = ? ORDER BY p.id",
            [number],
        ).fetchall()
    return [dict(r) for r in rows]


def _audit(stack, number: str) -> list[dict[str, Any]]:
    with _db(stack) as con:
        rows = con.execute(
            "SELECT * FROM audit WHERE entity = 'order' AND entity_id = ? ORDER BY id",
            [number],
        ).fetchall()
    return [dict(r) for r in rows]


def _method(stack, email: str, kind: str, code: str | None = None) -> dict[str, Any]:
    with _db(stack) as con:
        rows = con.execute(
            "SELECT m.* FROM payment_methods m JOIN customers c ON c.id = m.customer_id "
            "WHERE c.email = ? AND m.kind = ?",
            [email, kind],
        ).fetchall()
    found = [dict(r) for r in rows if code is None or r["gift_card_code"] == code]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def desk(rasa_stack, spare_orders, tmp_path_factory) -> dict[str, Any]:  # noqa: F811
    """Two shoppers of this module with their orders, imported into the stack's shop.

    ``spare_orders`` is chosen first: the shoppers imported here have the highest customer
    ids and pending orders, so a later choice would pick them for other tests.
    """
    assert all(o["order_number"] not in ORDERS.values() for o in spare_orders.values())
    return import_desk_shop(rasa_stack.db_path, tmp_path_factory.mktemp("desk-import"))


def _verify(stack, sender: str, first: str, email: str) -> str:
    """Send the request, then the email the identity check asks for; the reply after it."""
    reply = stack.say(sender, first)
    assert "email" in reply.lower(), reply
    return stack.say(sender, f'/inform{{"email":"{email}"}}')


# --------------------------------------------------------------------------- cancel
def test_cancel_with_the_reason_in_the_request(rasa_stack, desk):
    number = ORDERS["cancel_card"]
    sender = _sender("cancel-reason")
    reply = _verify(rasa_stack, sender, f"cancel {number}, I ordered the wrong size", CANCELLER)
    # the reason is taken from the request, not asked again; the read-back lists it all
    assert "why you'd like to cancel" not in reply
    assert f"cancel order {number}" in reply and "I ordered by mistake" in reply
    assert "back to Visa ending 4242, in 3-5 business days" in reply
    assert "Shall I cancel it?" in reply
    reply = rasa_stack.say(sender, "/affirm")
    assert f"Order {number} is cancelled" in reply
    assert "Visa ending 4242 (in 3-5 business days)" in reply  # when the refund arrives
    order = _order(rasa_stack, number)
    assert order["status"] == "cancelled"
    change = json.loads(order["changes"])[-1]
    assert change["kind"] == "cancel" and change["reason"] == "I ordered by mistake"
    refunds = [p for p in _payments(rasa_stack, number) if p["kind"] == "refund"]
    assert len(refunds) == 1 and refunds[0]["amount"] == pytest.approx(desk["total"])
    assert refunds[0]["payment_method_id"] == _method(rasa_stack, CANCELLER, "card")["id"]
    audit = [a for a in _audit(rasa_stack, number) if a["action"] == "cancel_order"]
    assert len(audit) == 1 and audit[0]["actor"] == f"assistant:{rasa_stack.sender(sender)}"


def test_cancel_asks_the_reason_and_a_gift_card_is_refunded_at_once(rasa_stack, desk):
    number = ORDERS["cancel_gift"]
    sender = _sender("cancel-gift")
    gift = _method(rasa_stack, CANCELLER, "gift_card", BIG_GIFT)
    messages_reply = _verify(
        rasa_stack, sender, f'/cancel_order{{"order_number":"{number}"}}', CANCELLER
    )
    assert f"why you'd like to cancel order {number}" in messages_reply
    reply = rasa_stack.say(sender, '/inform{"cancel_reason": "I no longer need it"}')
    assert "I no longer need it" in reply and "at once" in reply and "Shall I cancel it?" in reply
    reply = rasa_stack.say(sender, "yes please")
    assert f"Order {number} is cancelled" in reply and "(at once)" in reply
    assert _order(rasa_stack, number)["status"] == "cancelled"
    after = _method(rasa_stack, CANCELLER, "gift_card", BIG_GIFT)
    assert after["balance"] == pytest.approx(gift["balance"] + desk["total"])


def test_a_refused_cancel_of_a_shipped_order_changes_nothing(rasa_stack, desk):
    number = ORDERS["shipped"]
    sender = _sender("cancel-shipped")
    before = _order(rasa_stack, number)
    reply = _verify(rasa_stack, sender, f'/cancel_order{{"order_number":"{number}"}}', CANCELLER)
    assert f"can't cancel order {number}" in reply and "shipped" in reply
    assert "return or exchange" in reply  # what is possible instead
    reply = rasa_stack.say(sender, "/affirm")
    assert "is cancelled" not in reply
    after = _order(rasa_stack, number)
    assert after["status"] == "shipped" and after["changes"] == before["changes"]
    assert not [p for p in _payments(rasa_stack, number) if p["kind"] == "refund"]
    assert not _audit(rasa_stack, number)


# --------------------------------------------------------------------------- payment method
def test_payment_change_to_another_method_refunds_the_original(rasa_stack, desk):
    number = ORDERS["switch"]
    sender = _sender("pay-switch")
    paypal = _method(rasa_stack, PAYER, "paypal")
    card = _method(rasa_stack, PAYER, "card")
    reply = rasa_stack.say(sender, f"can i pay {number} with a different method?")
    assert "email" in reply.lower(), reply
    messages = rasa_stack.chat(sender, f'/inform{{"email":"{PAYER}"}}')
    text = "\n".join(m.get("text") or "" for m in messages)
    assert "Which payment method should it use instead?" in text
    payloads = [b["payload"] for m in messages for b in m.get("buttons") or []]
    chosen = f'/choose_payment_method{{"payment_method_id":"{paypal["id"]}"}}'
    assert chosen in payloads and not any(f'"{card["id"]}"' in p for p in payloads)
    reply = rasa_stack.say(sender, chosen)
    assert f"order {number} will be paid with PayPal" in reply
    assert "Mastercard ending 5555 gets" in reply and "3-5 business days" in reply
    reply = rasa_stack.say(sender, "/affirm")
    assert f"order {number} is now paid with PayPal" in reply
    order = _order(rasa_stack, number)
    assert order["payment_method_id"] == paypal["id"] and order["status"] == "pending"
    rows = _payments(rasa_stack, number)
    assert [r for r in rows if r["kind"] == "payment" and r["payment_method_id"] == paypal["id"]]
    refunds = [r for r in rows if r["kind"] == "refund"]
    assert len(refunds) == 1 and refunds[0]["payment_method_id"] == card["id"]
    assert refunds[0]["amount"] == pytest.approx(desk["total"])
    assert json.loads(order["changes"])[-1]["kind"] == "payment"
    assert [a for a in _audit(rasa_stack, number) if a["action"] == "change_payment_method"]


def test_a_gift_card_that_does_not_cover_the_total_is_refused(rasa_stack, desk):
    number = ORDERS["gift_small"]
    sender = _sender("pay-gift")
    gift = _method(rasa_stack, PAYER, "gift_card", SMALL_GIFT)
    before = _order(rasa_stack, number)
    _verify(rasa_stack, sender, f'/change_payment_method{{"order_number":"{number}"}}', PAYER)
    reply = rasa_stack.say(sender, f'/choose_payment_method{{"payment_method_id":"{gift["id"]}"}}')
    assert "doesn't cover" in reply and "choose another method" in reply
    reply = rasa_stack.say(sender, "/stop")
    assert "changed nothing" in reply
    after = _order(rasa_stack, number)
    assert after["payment_method_id"] == before["payment_method_id"]
    assert len(_payments(rasa_stack, number)) == 1 and not _audit(rasa_stack, number)
    assert _method(rasa_stack, PAYER, "gift_card", SMALL_GIFT)["balance"] == gift["balance"]


def test_another_customers_order_is_refused(rasa_stack, desk):
    own = ORDERS["gift_small"]
    other = rasa_stack.examples["shipped"]["order_number"]
    sender = _sender("pay-other")
    before = _order(rasa_stack, other)
    _verify(rasa_stack, sender, f'/change_payment_method{{"order_number":"{own}"}}', PAYER)
    rasa_stack.say(sender, "/stop")
    reply = rasa_stack.say(sender, f'/change_payment_method{{"order_number":"{other}"}}')
    assert "couldn't find an order with that number on your account" in reply
    assert other not in reply
    after = _order(rasa_stack, other)
    assert after["payment_method_id"] == before["payment_method_id"]
    assert after["changes"] == before["changes"]
    # and the cancel journey refuses it the same way
    reply = rasa_stack.say(sender, f'/cancel_order{{"order_number":"{other}"}}')
    assert "couldn't find an order with that number on your account" in reply
    assert _order(rasa_stack, other)["status"] == before["status"]


@pytest.mark.parametrize(
    ("said", "reason"),
    [
        ("It will arrive too late", "It will arrive too late"),
        ("found it cheaper elsewhere", "I found a better price"),
    ],
)
def test_a_cancel_reason_the_nlu_reads_as_another_request_is_the_reason(
    rasa_stack, desk, said, reason
):
    number = ORDERS["gift_small"]
    sender = _sender("cancel-reason-words")
    rasa_stack.say(sender, f'/cancel_order{{"order_number":"{number}"}}')
    asked = rasa_stack.say(sender, f'/inform{{"email":"{PAYER}"}}')
    assert "why you'd like to cancel" in asked, asked
    reply = rasa_stack.say(sender, said)
    assert f'because "{reason}"' in reply and "Shall I cancel it?" in reply, reply
    rasa_stack.say(sender, "/deny")
    assert _order(rasa_stack, number)["status"] == "pending"
