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
    reasons = payments.ask_cancel_reason(turn(order_number="SB-100001"))
    assert "why you'd like to cancel order SB-100001" in reasons.text
    assert {
        "title": "I ordered by mistake",
        "payload": '/inform{"cancel_reason": "I ordered by mistake"}',
    } in reasons.buttons
    assert payments.read_cancel_reason("found a cheaper one").slots["cancel_reason"] == (
        "I found a better price"
    )
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
    # a delivered order can go back: its return is one button away
    assert '/request_refund{"order_number":"SB-100004"}' in [
        b["payload"] for b in delivered.buttons
    ]


def test_reasons_in_the_shoppers_words():
    reasons = [
        "I ordered by mistake",
        "I found a better price",
        "It will arrive too late",
        "I want to change my order",
        "I no longer need it",
        "Other",
    ]
    said = {
        "cancel SB-100001, I ordered the wrong size": "I ordered by mistake",
        "bought it by accident": "I ordered by mistake",
        "found it cheaper elsewhere": "I found a better price",
        "it won't get here in time for the party": "It will arrive too late",
        "i changed my mind": "I no longer need it",
        "dont need it anymore": "I no longer need it",
        "i'd like another size": "I want to change my order",
        "other": "Other",
        "i no longer need it": "I no longer need it",
    }
    for text, reason in said.items():
        assert payments.reason_in_words(text, reasons) == reason, text
    for text in ("cancel SB-100001 please", "i need to cancel my order", "cancel my other order"):
        assert payments.reason_in_words(text, reasons) is None, text
    # a reason the shop words differently is found by its key word
    assert payments.reason_in_words("ordered twice by accident", ["Mistake", "Other"]) == "Mistake"


def test_a_yes_or_just_cancel_it_to_why_is_the_policys_catch_all_reason():
    for answer in ("yes", "ya", "just cancel it", "whatever", "no reason"):
        assert payments.read_cancel_reason(answer).slots == {"cancel_reason": "Other"}, answer
    again = payments.read_cancel_reason("hmm")
    assert again.slots == {"cancel_reason": None} and "these reasons only" in again.text


def test_a_reason_in_the_request_is_taken_and_a_correction_asks_again():
    prefilled = payments.prefill_cancel(
        turn(request_text="cancel SB-100001, I ordered the wrong size", order_number="SB-100001")
    )
    assert prefilled.slots == {"cancel_reason": "I ordered by mistake"}
    assert payments.prefill_cancel(turn(request_text="cancel SB-100001")).slots == {}
    corrected = payments.reason_correction(
        turn("no, it's because it will arrive too late", cancel_reason="I ordered by mistake")
    )
    assert corrected.slots == {"cancel_reason": "It will arrive too late", "cancel_confirm": None}
    # an order number alone at the reason question is a correction, not a bad reason
    again = payments.read_cancel_reason("no I meant SB-100002")
    assert again.slots == {"cancel_reason": None} and not again.text


def test_a_refused_or_stopped_form_leaves_the_submit_silent(shop, store):
    reply = payments.cancel(shop, ALICE, turn(order_number="SB-100001", form_outcome="refused"))
    assert reply.text == "" and reply.slots["cancel_reason"] is None
    assert store.get_order("SB-100001")["status"] == "pending"
    paid = payments.change_payment(shop, ALICE, turn(order_number="SB-100001"))
    assert paid.text == "" and paid.slots["payment_method_id"] is None


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


def test_a_method_named_in_the_request_is_taken_when_the_form_starts(shop, commerce):
    slots = {"order_number": "SB-100001"}
    said = "can I pay SB-100001 with paypal instead? email alice@example.com"
    taken = payments.prefill_payment(shop, ALICE, turn(**slots, request_text=said))
    assert taken.slots["payment_method_id"] == str(commerce["paypal"])
    nothing = payments.prefill_payment(
        shop, ALICE, turn(**slots, request_text="change how SB-100001 is paid")
    )
    assert nothing.slots == {} and not nothing.text
    # a gift card that does not cover the order is said at once and the method asked
    small = payments.prefill_payment(
        shop, ALICE, turn(**slots, request_text="pay SB-100001 with gift card 4444")
    )
    assert "doesn't cover" in small.text and small.slots["payment_method_id"] is None


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


def test_cancel_of_an_order_paid_by_gift_card_is_refunded_at_once(shop, store, commerce):
    slots = {"order_number": "SB-100001", "payment_method_id": str(commerce["gift_big"])}
    payments.change_payment(shop, ALICE, turn(**slots, payment_confirm=True))
    balance = store.get_payment_method(commerce["gift_big"])["balance"]
    reason = {"order_number": "SB-100001", "cancel_reason": "I no longer need it"}
    ask = payments.ask_cancel_confirm(shop, ALICE, turn(**reason))
    assert "back to gift card ending 8888, at once" in ask.text
    done = payments.cancel(shop, ALICE, turn(**reason, cancel_confirm=True))
    assert "gift card ending 8888 (at once)" in done.text
    assert store.get_payment_method(commerce["gift_big"])["balance"] > balance


def test_method_in_words_and_an_account_with_nothing_to_switch_to(shop, store, commerce):
    asked = turn("PayPal please", order_number="SB-100001", requested_slot="payment_method_id")
    chosen = payments.method_in_words(shop, ALICE, asked, taken=False)
    assert chosen.slots == {"payment_method_id": str(commerce["paypal"])}
    assert payments.method_in_words(shop, ALICE, asked, taken=True).slots == {}
    vague = turn("hmm not sure", order_number="SB-100001", requested_slot="payment_method_id")
    assert payments.method_in_words(shop, ALICE, vague, taken=False).slots == {}
    # Bob holds one method only: nothing to switch to, the form ends at once
    store.db.execute("UPDATE orders SET status = 'pending' WHERE order_number = 'SB-100003'")
    refused = payments.check_payment_order(shop, store.get_order("SB-100003"))
    assert "no other payment method" in refused.text
    assert refused.slots["form_outcome"] == "refused"


def test_read_method(shop, commerce):
    assert payments.read_method(shop, ALICE, "PayPal please")["id"] == commerce["paypal"]
    assert payments.read_method(shop, ALICE, "card ending 4242")["id"] == commerce["visa"]
    assert payments.read_method(shop, ALICE, "gift card") is None  # two gift cards: ambiguous
    assert payments.read_method(shop, ALICE, str(commerce["mastercard"])) is None  # Bob's


def test_a_reason_where_the_reason_is_asked_is_an_answer_not_a_new_request():
    asked = {"requested_slot": "cancel_reason"}
    assert payments.gives_reason(turn("found it cheaper somewhere else", **asked))
    assert not payments.gives_reason(turn("actually send it to my office", **asked))
    assert not payments.gives_reason(turn("found it cheaper somewhere else"))  # not asked
    assert not payments.gives_reason(turn('/inform{"cancel_reason": "Other"}', **asked))


def test_a_forged_button_with_another_customers_method_is_refused(shop, store, commerce):
    """The button payload carries a method id; one of another customer's is never used."""
    forged = str(commerce["mastercard"])  # Bob's card
    slots = {"order_number": "SB-100001"}  # Alice's pending order
    reply = payments.choose_payment_method(shop, ALICE, turn(**slots), forged)
    assert reply.slots["payment_method_id"] is None and "Mastercard" not in reply.text
    before = store.get_order("SB-100001")["payment_method_id"]
    done = payments.change_payment(
        shop, ALICE, turn(**slots, payment_method_id=forged, payment_confirm=True)
    )
    assert store.get_order("SB-100001")["payment_method_id"] == before, done.text


@pytest.mark.parametrize(
    ("text", "intent", "reason"),
    [
        ("It will arrive too late", "track_order", "It will arrive too late"),
        ("found it cheaper elsewhere", "ask_faq", "I found a better price"),
    ],
)
def test_a_reason_the_nlu_read_as_another_intent_is_taken_as_the_reason(text, intent, reason):
    from knowledge.journeys.inputs import Turn

    asked = Turn(text, intent, slots={"requested_slot": "cancel_reason"})
    answer = payments.reason_answer(asked)
    assert answer.slots == {"cancel_reason": text}
    assert payments.read_cancel_reason(answer.slots["cancel_reason"]).slots == {
        "cancel_reason": reason
    }
    taken = Turn(text, intent, slots={"requested_slot": "cancel_reason", "cancel_reason": text})
    assert payments.reason_answer(taken).slots == {}  # the slot mapping took it
    question = Turn(
        "how long do refunds take?", "ask_faq", slots={"requested_slot": "cancel_reason"}
    )
    assert payments.reason_answer(question).slots == {}  # a real question stays one


@pytest.mark.parametrize("backend", ["local", "connected"])
def test_cancel_of_an_authorised_only_order_promises_no_refund(store, commerce, backend):
    """A payment only authorised (the shop voids it on cancel) is released, not refunded."""
    from tests.knowledge.journeys.test_journey_connected_shop import connected_shop

    shop = shop_of(store) if backend == "local" else connected_shop(store, "accept")[0]
    order = store.get_order("SB-100001")
    with store.transaction():
        store.db.execute(
            "UPDATE payments SET status = 'pending' WHERE order_id = ? AND kind = 'payment'",
            [order["id"]],
        )
    slots = {"order_number": "SB-100001", "cancel_reason": "I found a better price"}
    ask = payments.ask_cancel_confirm(shop, ALICE, turn(**slots))
    assert "business days" not in ask.text and "back to" not in ask.text
    assert "Nothing has been charged yet" in ask.text
    assert "authorisation on Visa ending 4242 is released" in ask.text
    done = payments.cancel(shop, ALICE, turn(**slots, cancel_confirm=True))
    assert "Order SB-100001 is cancelled" in done.text
    assert "refund" not in done.text and "business days" not in done.text
    assert "Nothing was charged: the payment authorisation on Visa ending 4242" in done.text
    change = last_change(store, "SB-100001")
    assert change["refunds"] == [] and change["released"] == ["Visa ending 4242"]
    rows = store.payments(order["id"])
    assert [(r["kind"], r["status"], r["note"]) for r in rows] == [
        ("payment", "failed", "authorisation released")
    ]
