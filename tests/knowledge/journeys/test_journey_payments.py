"""Cancel with a reason and the payment method change, confirmations and refusals, against
a real SQLite file."""

from __future__ import annotations

import pytest

from knowledge.journeys import payments
from tests.knowledge.journeys.commerce import ALICE, BOB, last_change, shop_of, turn


@pytest.fixture
def shop(store, commerce):
    return shop_of(store)


# --------------------------------------------------------------------------- cancel
def test_cancel_journey_with_reason_and_refund_time(shop, store):
    assert payments.check_cancel(shop, ALICE, turn(order_number="SB-100001")).slots == {
        "order_number": "SB-100001"
    }
    reasons = payments.ask_cancel_reason()
    assert {"title": "I ordered by mistake", "payload": "I ordered by mistake"} in reasons.buttons
    assert payments.read_cancel_reason("found a better price").slots["cancel_reason"] is None
    reason = payments.read_cancel_reason("I found a better price").slots["cancel_reason"]
    slots = {"order_number": "SB-100001", "cancel_reason": reason}
    ask = payments.ask_cancel_confirm(shop, ALICE, turn(**slots))
    assert "cancel order SB-100001 (1 x Trailblazer" in ask.text
    assert "back to Visa ending 4242, in 3-5 business days" in ask.text
    done = payments.cancel(shop, ALICE, turn(**slots, cancel_confirm=True))
    assert "Order SB-100001 is cancelled" in done.text
    assert "to Visa ending 4242 (in 3-5 business days)" in done.text
    assert store.get_order("SB-100001")["status"] == "cancelled"
    assert last_change(store, "SB-100001")["reason"] == "I found a better price"


def test_reason_outside_the_policy_is_refused_with_the_list(shop):
    reply = payments.read_cancel_reason("the colour is ugly")
    assert "for these reasons only" in reply.text and "I ordered by mistake" in reply.text
    assert reply.slots["cancel_reason"] is None


def test_cancel_refused_after_shipping_offers_a_return(shop, store):
    reply = payments.check_cancel(shop, BOB, turn(order_number="SB-100003"))
    assert "can't cancel order SB-100003" in reply.text and "already shipped" in reply.text
    assert "return or exchange" in reply.text and reply.slots["form_outcome"] == "refused"
    delivered = payments.check_cancel(shop, ALICE, turn(order_number="SB-100004"))
    assert "exchange them for another size or colour" in delivered.text


def test_cancel_of_another_customers_order_is_refused(shop, store):
    reply = payments.check_cancel(shop, ALICE, turn(order_number="SB-100003"))
    assert "account verified in this conversation" in reply.text
    done = payments.cancel(
        shop, ALICE, turn(order_number="SB-100003", cancel_reason="Other", cancel_confirm=True)
    )
    assert "account verified" in done.text and store.get_order("SB-100003")["status"] == "shipped"


def test_declined_cancel_changes_nothing(shop, store):
    reply = payments.cancel(
        shop, ALICE, turn(order_number="SB-100001", cancel_reason="Other", cancel_confirm=False)
    )
    assert "left order SB-100001 as it is" in reply.text
    assert store.get_order("SB-100001")["status"] == "pending"


# --------------------------------------------------------------------------- payment method
def test_payment_change_journey_to_a_gift_card(shop, store, commerce):
    slots = {"order_number": "SB-100001"}
    assert payments.check_payment_change(shop, ALICE, turn(**slots)).slots == slots
    ask = payments.ask_payment_method(shop, ALICE, turn(**slots))
    titles = [b["title"] for b in ask.buttons]
    assert "Visa ending 4242" not in titles and "gift card ending 8888" in titles
    small = payments.choose_payment_method(shop, ALICE, turn(**slots), "gift card 4444")
    assert "doesn't cover" in small.text and small.slots["payment_method_id"] is None
    chosen = payments.choose_payment_method(shop, ALICE, turn(**slots), "the gift card ending 8888")
    method_id = chosen.slots["payment_method_id"]
    assert method_id == str(commerce["gift_big"])
    confirm = payments.ask_payment_confirm(shop, ALICE, turn(**slots, payment_method_id=method_id))
    assert "paid with gift card ending 8888" in confirm.text
    assert "Visa ending 4242 gets €" in confirm.text and "in 3-5 business days" in confirm.text
    done = payments.change_payment(
        shop, ALICE, turn(**slots, payment_method_id=method_id, payment_confirm=True)
    )
    assert "now paid with gift card ending 8888" in done.text and "Visa ending 4242" in done.text
    assert store.get_order("SB-100001")["payment_method_id"] == commerce["gift_big"]


def test_payment_change_refusals(shop, store, commerce):
    processing = payments.check_payment_change(shop, ALICE, turn(order_number="SB-100002"))
    assert "can't change how order SB-100002 is paid" in processing.text
    assert "only while an order is pending" in processing.text and "cancel it" in processing.text
    shipped = payments.check_payment_change(shop, BOB, turn(order_number="SB-100003"))
    assert "already shipped" in shipped.text
    same = payments.choose_payment_method(shop, ALICE, turn(order_number="SB-100001"), "visa")
    assert "already paid with Visa ending 4242" in same.text
    unknown = payments.choose_payment_method(shop, ALICE, turn(order_number="SB-100001"), "cash")
    assert "couldn't tell" in unknown.text
    # the second change of the same order is refused
    payments.change_payment(
        shop,
        ALICE,
        turn(
            order_number="SB-100001",
            payment_method_id=str(commerce["paypal"]),
            payment_confirm=True,
        ),
    )
    again = payments.check_payment_change(shop, ALICE, turn(order_number="SB-100001"))
    assert "can't be changed again" in again.text


def test_read_method(shop, commerce):
    assert payments.read_method(shop, ALICE, "PayPal please")["id"] == commerce["paypal"]
    assert payments.read_method(shop, ALICE, "card ending 4242")["id"] == commerce["visa"]
    assert payments.read_method(shop, ALICE, "gift card") is None  # two gift cards: ambiguous
    assert payments.read_method(shop, ALICE, str(commerce["mastercard"])) is None  # Bob's
