"""What the demo shop holds for the support desk's journeys (issue 13): a ``cancel`` entry
on every cancelled order, return and exchange instructions in the outbox, and gift cards on
pending orders that cover the amount and that do not."""

from __future__ import annotations

from knowledge.operations import net_paid
from knowledge.policy import current_policy


def test_cancelled_orders_say_why_and_what_was_refunded(demo_store):
    cancelled = demo_store.orders_by_status("cancelled")
    assert cancelled
    reasons = set(current_policy().cancellation_reasons)
    for order in cancelled:
        (change,) = [c for c in order["changes"] if c["kind"] == "cancel"]
        assert change["reason"] in reasons
        (refund,) = change["refunds"]
        assert refund["amount"] == round(order["total"], 2)
        assert refund["payment_method_id"] == order["payment_method_id"]
        assert net_paid(demo_store, order) == 0


def test_returns_and_exchange_requests_have_their_instructions_in_the_outbox(demo_store):
    returns = demo_store.query("SELECT rma_id, order_id FROM returns")
    assert returns
    for ret in returns:
        mails = demo_store.outbox(order_id=ret["order_id"])
        assert any(
            ret["rma_id"] in m["subject"] and m["kind"] == "return_instructions" for m in mails
        )
    for order in demo_store.orders_by_status("exchange_requested"):
        mails = demo_store.outbox(order_id=order["id"])
        assert [m["kind"] for m in mails] == ["exchange_instructions"]
        customer = demo_store.get_customer(order["customer_id"])
        assert mails[0]["to_email"] == customer["email"]
    statuses = {r["status"] for r in demo_store.query("SELECT status FROM outbox")}
    assert statuses <= {"queued", "sent"}


def test_some_pending_orders_have_a_gift_card_that_covers_them_and_some_one_that_does_not(
    demo_store,
):
    covers, short = 0, 0
    for order in demo_store.orders_by_status("pending"):
        paid = net_paid(demo_store, order)
        for card in demo_store.payment_methods(order["customer_id"]):
            if card["kind"] == "gift_card":
                covers += card["balance"] >= paid
                short += card["balance"] < paid
    assert covers >= 1 and short >= 1
