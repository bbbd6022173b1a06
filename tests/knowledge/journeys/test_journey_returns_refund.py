"""The return journey with a refund destination (original method or a gift card), the
order "return requested" and the instructions in the outbox, against a real SQLite file."""

from __future__ import annotations

import pytest

from knowledge.journeys import returns
from knowledge.journeys.inputs import Turn
from tests.knowledge.journeys.commerce import ALICE, BOB, shop_of, turn


@pytest.fixture
def shop(store, commerce):
    return shop_of(store)


def test_return_of_some_items_to_a_gift_card(shop, store):
    slots: dict = {"order_number": "SB-100004"}
    order = store.get_order("SB-100004")
    assert returns.check_return(shop, order).slots == {"order_number": "SB-100004"}
    asked = returns.ask_items(shop, ALICE, turn(**slots))
    assert "Trailblazer" in asked.text and "Boxer" not in asked.text  # underwear not returnable
    slots["return_items"] = returns.choose_items(shop, ALICE, turn(**slots), "1").slots[
        "return_items"
    ]
    slots["return_reason"] = "Too small"
    # several places the refund may go: nothing is chosen for the shopper
    assert returns.single_refund_option(shop, ALICE, turn(**slots)).slots == {}
    ask = returns.ask_refund_method(shop, ALICE, turn(**slots))
    titles = [b["title"] for b in ask.buttons]
    assert titles == ["Visa ending 4242", "gift card ending 4444", "gift card ending 8888"]
    assert all(b["payload"].startswith("/choose_refund_method{") for b in ask.buttons)
    assert "gift card ending 4444: at once" in ask.text
    paypal = returns.choose_refund_method(shop, ALICE, turn(**slots), "paypal")
    assert "can go only to" in paypal.text and paypal.slots["refund_method_id"] is None
    slots["refund_method_id"] = returns.choose_refund_method(
        shop, ALICE, turn(**slots), "gift card 4444"
    ).slots["refund_method_id"]
    confirm = returns.ask_confirm(shop, ALICE, turn(**slots))
    assert "return 1 x Trailblazer" in confirm.text and "(reason: Too small)" in confirm.text
    assert "gift card ending 4444, at once" in confirm.text
    done = returns.register(shop, ALICE, turn(**slots, return_confirm=True))
    assert done.messages[0].task == "return_created"
    assert done.messages[0].facts["rma_id"] == "RMA-100004-1"
    assert "return requested" in done.text and "gift card ending 4444, at once" in done.text
    assert done.slots["refund_method_id"] is None and done.slots["return_items"] is None
    order = store.get_order("SB-100004")
    assert order["status"] == "return_requested"
    [ret] = store.returns_for_order(order["id"])
    assert ret["refund_payment_method_id"] == int(slots["refund_method_id"])
    [mail] = store.outbox(order_id=order["id"])
    assert "RMA-100004-1" in mail["body"] and mail["kind"] == "return_instructions"
    # the refund status of a return_requested order still answers
    status = returns.refund_status(shop, ALICE, Turn("where is my refund"))
    assert any(m.task == "refund_status" for m in status.messages)


def test_the_original_method_in_words(shop):
    slots = {"order_number": "SB-100004", "return_items": "1", "return_reason": "x"}
    original = returns.choose_refund_method(shop, ALICE, turn(**slots), "back to my original card")
    assert original.slots["refund_method_id"] == str(
        shop.store.get_order("SB-100004")["payment_method_id"]
    )


def test_ok_or_whatever_to_where_the_refund_goes_is_the_original_method(shop):
    slots = {"order_number": "SB-100004", "return_items": "1", "return_reason": "x"}
    original = str(shop.store.get_order("SB-100004")["payment_method_id"])
    for answer in ("ok", "yes", "whatever", "doesn't matter"):
        reply = returns.choose_refund_method(shop, ALICE, turn(**slots), answer)
        assert reply.slots["refund_method_id"] == original, answer
    unsure = returns.choose_refund_method(shop, ALICE, turn(**slots), "hmm the blue one")
    assert unsure.slots["refund_method_id"] is None and "Which one" in unsure.text


def test_no_is_no_return(shop, store):
    slots = {"order_number": "SB-100004", "return_items": "1", "return_reason": "x"}
    reply = returns.register(shop, ALICE, turn(**slots, return_confirm=False))
    assert "haven't registered" in reply.text
    assert store.returns_for_order(store.get_order("SB-100004")["id"]) == []


def test_return_refusals(shop, store):
    pending = returns.check_return(shop, store.get_order("SB-100001"))
    assert "can't start a return" in pending.text and "not been delivered" in pending.text
    assert "cancel it" in pending.text and pending.slots["form_outcome"] == "refused"
    old = returns.check_return(shop, store.get_order("SB-100005"))
    assert "return window is 30 days" in old.text
    # another customer's order: nothing is read back or registered
    slots = {"order_number": "SB-100005", "return_items": "1", "return_reason": "x"}
    assert "SB-100005" not in returns.ask_confirm(shop, ALICE, turn(**slots)).text
    assert returns.register(shop, ALICE, turn(**slots, return_confirm=True)).messages == []
    assert store.returns_for_order(store.get_order("SB-100005")["id"]) == []
    assert BOB.customer_id != ALICE.customer_id


def test_a_forged_refund_button_with_another_customers_method_is_refused(shop, commerce):
    slots = {"order_number": "SB-100004", "return_items": "1", "return_reason": "x"}
    forged = str(commerce["mastercard"])  # Bob's card
    reply = returns.choose_refund_method(shop, ALICE, turn(**slots), forged)
    assert reply.slots["refund_method_id"] is None and "Mastercard" not in reply.text
