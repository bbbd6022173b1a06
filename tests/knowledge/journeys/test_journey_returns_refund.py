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
    # no separate question: the original method is proposed, the gift cards offered
    visa = str(order["payment_method_id"])
    assert returns.default_refund_option(shop, ALICE, turn(**slots)).slots == {
        "refund_method_id": visa
    }
    slots["refund_method_id"] = visa
    proposed = returns.ask_confirm(shop, ALICE, turn(**slots))
    assert "back to Visa ending 4242, in 3-5 business days" in proposed.text
    assert (
        "another place: gift card ending 4444, at once; gift card ending 8888, at once."
        in proposed.text
    )
    titles = [b["title"] for b in proposed.buttons]
    assert titles == ["Yes", "gift card ending 4444", "gift card ending 8888", "No"]
    assert proposed.buttons[1]["payload"].startswith("/choose_refund_method{")
    at_read_back = {**slots, "requested_slot": "return_confirm"}
    # PayPal is not on this account: where it may go, and the read-back again
    paypal = returns.refund_answer(shop, ALICE, turn("to paypal please", **at_read_back))
    assert "can go only to" in paypal.text and paypal.slots == {"return_confirm": None}
    switched = returns.refund_answer(shop, ALICE, turn("gift card 4444 please", **at_read_back))
    assert switched.text == "" and switched.slots["return_confirm"] is None
    slots["refund_method_id"] = switched.slots["refund_method_id"]
    confirm = returns.ask_confirm(shop, ALICE, turn(**slots))
    assert "return 1 x Trailblazer" in confirm.text and "(reason: Too small)" in confirm.text
    assert "gift card ending 4444, at once" in confirm.text
    assert (
        "another place: Visa ending 4242, in 3-5 business days" in confirm.text
    )  # the way back offered
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


def test_answers_at_the_read_back(shop):
    order = shop.store.get_order("SB-100004")
    visa = str(order["payment_method_id"])
    slots = {
        "order_number": "SB-100004",
        "return_items": "1",
        "return_reason": "x",
        "refund_method_id": visa,
        "requested_slot": "return_confirm",
    }
    for said in ("to my card is fine", "original payment is fine, go ahead", "my visa please"):
        assert returns.refund_answer(shop, ALICE, turn(said, **slots)).slots == {
            "return_confirm": True
        }, said
    asked = returns.refund_answer(shop, ALICE, turn("how long until I get my money back?", **slots))
    assert "in 3-5 business days" in asked.text and asked.slots == {"return_confirm": None}
    assert "gift card ending 4444 it would be at once" in asked.text
    assert returns.answers_read_back(shop, ALICE, turn("how long does the refund take", **slots))
    # a tapped gift card button switches; an id of another customer's method does not
    gift = next(m for m in shop.store.payment_methods(1) if m["kind"] == "gift_card")
    tapped = Turn(
        "/choose_refund_method",
        "choose_refund_method",
        {"payment_method_id": str(gift["id"])},
        slots,
    )
    assert returns.refund_answer(shop, ALICE, tapped).slots["refund_method_id"] == str(gift["id"])
    for said in ("yes", "no wait, I'll keep it", "it's too small"):
        assert returns.refund_answer(shop, ALICE, turn(said, **slots)).slots == {}, said
        assert not returns.answers_read_back(shop, ALICE, turn(said, **slots)), said
    # a question naming the proposed destination is no yes
    assert returns.refund_answer(shop, ALICE, turn("to my card?", **slots)).slots == {
        "return_confirm": None
    }


def test_a_gift_card_named_without_one_on_file(shop):
    """Bob has no gift card: naming one is refused with where the refund may go."""
    delivered = [o for o in shop.store.orders_for_customer(2) if o["status"] == "delivered"]
    if not delivered:
        pytest.skip("the tiny shop has no delivered order of Bob's")
    bob_order = delivered[0]
    slots = {
        "order_number": bob_order["order_number"],
        "return_items": "1",
        "return_reason": "x",
        "refund_method_id": str(bob_order["payment_method_id"]),
        "requested_slot": "return_confirm",
    }
    reply = returns.refund_answer(shop, BOB, turn("on my gift card please", **slots))
    assert "can go only to" in reply.text and reply.slots == {"return_confirm": None}


def test_a_gift_card_named_in_the_request_is_proposed(shop):
    gift = next(m for m in shop.store.payment_methods(1) if m["kind"] == "gift_card")
    request = f"return the Trailblazer from SB-100004, refund to my gift card ending {gift['gift_card_code'][-4:]}"
    reply = returns.prefill(shop, ALICE, turn(order_number="SB-100004", request_text=request))
    assert reply.slots["refund_method_id"] == str(gift["id"])


def test_a_yes_to_which_items_is_the_one_named_before(shop):
    slots = {"order_number": "SB-100004", "said_before": "can I send back the Trailblazer?"}
    picked = returns.choose_items(shop, ALICE, turn(**slots), "yes")
    eligible, _ = returns.eligible_items(shop, shop.store.get_order("SB-100004"))
    [trailblazer] = [r for r in eligible if "Trailblazer" in r["title"]]
    assert picked.slots["return_items"] == str(trailblazer["order_item_id"])
    # nothing named before and several items: the question again
    again = returns.choose_items(shop, ALICE, turn(order_number="SB-100004"), "yes")
    assert again.slots == {"return_items": None} or len(eligible) == 1
