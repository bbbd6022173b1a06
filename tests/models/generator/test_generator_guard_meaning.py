"""The fact guard checks meaning: per task, candidates that contradict the facts are rejected.

For every task: faithful candidates (several wordings) pass, and candidates that state a
status the facts contradict, an estimated date as an arrival, a pending refund as paid, or
an amount/count the facts do not hold are rejected, each for the reason named.
"""

from __future__ import annotations

from typing import Any

import pytest

from models.generator.guard import FactGuard, claims_in
from models.generator.tasks import TASKS, fill, get_task

SHIPPED = {
    "order_number": "SB-10042",
    "status": "shipped",
    "carrier": "DHL",
    "tracking_number": "JD0146000038",
    "eta": "2026-11-21",
}
DELIVERED = {
    "order_number": "SB-10043",
    "status": "delivered",
    "carrier": "UPS",
    "tracking_number": "1Z999",
    "delivered_on": "2026-11-19",
}
PENDING_REFUND = {
    "rma_id": "RMA-123456",
    "refund_status": "pending",
    "order_number": "SB-10042",
    "refund_amount": 59.9,
    "currency": "EUR",
}
INVOICE = {
    "order_number": "SB-10044",
    "total": 64.85,
    "placed_on": "2026-11-02",
    "subtotal": 59.9,
    "shipping_cost": 4.95,
    "tax": 9.56,
    "currency": "EUR",
}
FAQ = {"topic": "delivery times", "answer": "Standard parcels take 2-4 business days."}

# task -> (facts, faithful candidates, [(contradicting candidate, reason)]); a reason is one
# or more substrings separated by "|" (the lexical status-word check may see it first).
CASES: dict[str, tuple[dict[str, Any], list[str], list[tuple[str, str]]]] = {
    "order_status": (
        SHIPPED,
        [
            "Order [order_number] has shipped with [carrier] ([tracking_number]). "
            "It should arrive by [eta].",
            "Your order [order_number] is on its way with [carrier], tracking number "
            "[tracking_number]. Expected delivery: [eta].",
            "[carrier] is delivering order [order_number] (tracking [tracking_number]); "
            "it is due to reach you on [eta].",
        ],
        [
            # the live-traffic case: the estimate stated as an arrival
            (
                "Your order [order_number] has shipped with [carrier], tracking number "
                "[tracking_number]. It arrived on [eta].",
                "delivered",
            ),
            (
                "Order [order_number] travels with [carrier] ([tracking_number]). "
                "Delivery date: [eta].",
                "estimate but not said as one",
            ),
            (
                "Order [order_number] reached you on [eta]; [carrier] tracking [tracking_number].",
                "delivered",
            ),
            (
                "Order [order_number] is still being prepared. [carrier] will get it, tracking "
                "[tracking_number], expected [eta].",
                "being processed",
            ),
            (
                "Order [order_number] was sent back to us. [carrier], [tracking_number], "
                "expected [eta].",
                "returned",
            ),
            (
                "Order [order_number] is on its way in two parcels with [carrier] "
                "([tracking_number]), expected on [eta].",
                "number 'two'",
            ),
        ],
    ),
    "cancel_done": (
        {"order_number": "SB-1", "refund_amount": 59.9, "currency": "EUR"},
        [
            "Order [order_number] has been cancelled. A refund of [refund_amount] is on its "
            "way to you.",
            "Done! Order [order_number] is cancelled and we will refund [refund_amount].",
        ],
        [
            (
                "Order [order_number] has been cancelled and [refund_amount] was credited to "
                "your card.",
                "refund paid",
            ),
            (
                "Order [order_number] is cancelled, but it is already on its way. Refund: "
                "[refund_amount].",
                "on its way",
            ),
            (
                "Order [order_number] has been cancelled. You get [refund_amount] back and "
                "shipping is free.",
                "free",
            ),
        ],
    ),
    "cancel_refused": (
        {"order_number": "SB-2", "status": "shipped"},
        [
            "Sorry, I can't cancel order [order_number] because it has already shipped.",
            "Order [order_number] is already on its way, so I can no longer cancel it.",
        ],
        [
            (
                "Sorry, I can't cancel order [order_number] because it was already delivered.",
                "delivered",
            ),
            ("Order [order_number] has already arrived, so I can't cancel it.", "delivered"),
            (
                "Order [order_number] is still awaiting payment, so I can't cancel it.",
                "pending",
            ),
        ],
    ),
    "address_changed": (
        {"order_number": "SB-10077", "address": "Anna Meyer, 12 High Street, 10115 Berlin, DE"},
        [
            "Done: order [order_number] will now be sent to [address].",
            "Order [order_number] will arrive at [address].",
        ],
        [
            ("Order [order_number] is on its way to [address].", "on its way"),
            (
                "Order [order_number] was dispatched to [address] this morning.",
                "status 'dispatched'|shipped",
            ),
            (
                "Order [order_number] will go to [address], within three days.",
                "number 'three'",
            ),
        ],
    ),
    "return_created": (
        {
            "rma_id": "RMA-654321",
            "order_number": "SB-4",
            "refund_amount": 25.0,
            "currency": "EUR",
            "products": ["Desk Lamp"],
            "return_by": "2026-12-05",
        },
        [
            "Return [rma_id] for order [order_number] is registered ([products]). Pack the "
            "items and send them by [return_by]. We refund [refund_amount] once they arrive.",
            "I've created return [rma_id] for order [order_number], covering [products]. "
            "Please hand the parcel in before [return_by]; you'll get [refund_amount] back "
            "after we receive it.",
        ],
        [
            (
                "Return [rma_id] for order [order_number] ([products]) was received on "
                "[return_by] and [refund_amount] has been refunded.",
                "status 'refunded'|refund paid",
            ),
            (
                "Return [rma_id] for order [order_number] ([products]): we got it back on "
                "[return_by]. Refund: [refund_amount].",
                "deadline but not said as one",
            ),
            (
                "Return [rma_id] for order [order_number]: your [products] came back. Send "
                "it by [return_by]; refund [refund_amount].",
                "returned",
            ),
        ],
    ),
    "refund_status": (
        PENDING_REFUND,
        [
            "The refund for return [rma_id] is pending. It belongs to order [order_number]. "
            "Amount: [refund_amount].",
            "Your refund for [rma_id] (order [order_number]) is still pending; we'll let you "
            "know when it's paid. It is for [refund_amount].",
            "Return [rma_id]: the refund of [refund_amount] for order [order_number] will be "
            "paid once we have checked the items.",
        ],
        [
            (
                "Good news: your refund of [refund_amount] for return [rma_id] (order "
                "[order_number]) has been paid.",
                "refund paid",
            ),
            (
                "The money for return [rma_id] was credited: [refund_amount], order "
                "[order_number].",
                "refund paid",
            ),
            (
                "The refund for return [rma_id] has been approved. Order [order_number], "
                "[refund_amount].",
                "approved",
            ),
            (
                "The refund for return [rma_id] (order [order_number]) was declined. "
                "Amount: [refund_amount].",
                "rejected",
            ),
        ],
    ),
    "invoice_summary": (
        INVOICE,
        [
            "Invoice for order [order_number] placed on [placed_on]. Subtotal: [subtotal]. "
            "Shipping: [shipping_cost]. Tax: [tax]. Total: [total].",
            "You placed order [order_number] on [placed_on]. The items come to [subtotal], "
            "delivery cost [shipping_cost] and that includes [tax] in tax. You paid [total] "
            "in total.",
        ],
        [
            (
                "Invoice for order [order_number] placed on [placed_on]. Subtotal: [subtotal]. "
                "Shipping: [shipping_cost]. Tax: [total]. Total: [tax].",
                "is said as the tax",
            ),
            (
                "Order [order_number] was delivered on [placed_on]. Subtotal [subtotal], "
                "shipping [shipping_cost], tax [tax], total [total].",
                "delivered",
            ),
            (
                "Order [order_number] should reach you on [placed_on]. Subtotal [subtotal], "
                "shipping [shipping_cost], tax [tax], total [total].",
                "said as an estimate",
            ),
            (
                "Order [order_number] of [placed_on]: subtotal [subtotal], shipping "
                "[shipping_cost], tax [tax], total [total] for four items.",
                "number 'four'",
            ),
        ],
    ),
    "faq_answer": (
        FAQ,
        [
            "About [topic]: [answer]",
            "On [topic]: [answer]",
        ],
        [
            ("About [topic]: your order has been delivered. [answer]", "delivered"),
            ("About [topic]: delivery is free. [answer]", "free"),
            ("About [topic], usually three days: [answer]", "number 'three'"),
            ("[answer]", "missing placeholder [topic]"),
        ],
    ),
    "product_search_intro": (
        {"query": "rain jacket", "count": 3},
        [
            "I found [count] products for [query]:",
            "Here are [count] results for [query]:",
        ],
        [
            ("I couldn't find anything for [query] ([count] results).", "nothing found"),
            ("Sorry, no products match [query], only [count] similar ones:", "nothing found"),
            ("I found [count] products for [query], five of them on sale:", "number 'five'"),
        ],
    ),
    "recommendation": (
        {"product": "Desk Lamp", "bought": "Yoga Mat", "price": 39.0, "currency": "EUR"},
        [
            "Because you bought [bought], you might like [product]. It costs [price].",
            "[product] goes well with [bought], which you bought. Price: [price].",
        ],
        [
            (
                "Because you bought [bought], you might like [product]; it has shipped "
                "already. It costs [price].",
                "shipped",
            ),
            ("You bought [bought], so try [product]: [price], or two for less.", "two"),
            ("You bought [bought]; [product] costs [price] and delivery is free.", "free"),
        ],
    ),
    "product_answer": (
        {"product": "Desk Lamp", "attribute": "colour", "value": "navy blue", "price": 39.0},
        [
            "The [attribute] of [product] is [value]. It costs [price].",
            "For [product], the [attribute] is [value]; the price is [price].",
        ],
        [
            ("The [attribute] of [product] is [value]. It costs [price] for two.", "two"),
            (
                "The [attribute] of [product] is [value]. It costs [price] and is on its "
                "way to you.",
                "on its way",
            ),
        ],
    ),
    "handoff": (
        {"name": "Anna", "topic": "returns"},
        [
            "Thanks, [name]. I'm passing you to a member of our team about [topic].",
            "Okay [name], a colleague will take over; they can help you with [topic].",
        ],
        [
            (
                "Thanks, [name]. Your refund has been paid; a colleague will help with [topic].",
                "refund paid",
            ),
            (
                "Thanks, [name]. A colleague will help with [topic] within ten minutes.",
                "number 'ten'",
            ),
        ],
    ),
    "dont_know": (
        {"topic": "gift cards"},
        [
            "Sorry, I don't know the answer about [topic]. I can pass you to a colleague.",
            "I'm afraid I don't have information on [topic]. Shall I connect you with our "
            "support team?",
        ],
        [
            (
                "Sorry, I don't know about [topic], but your order was delivered.",
                "delivered",
            ),
            ("Sorry, I don't know about [topic]. Gift cards are free.", "free"),
        ],
    ),
}


@pytest.fixture
def guard() -> FactGuard:
    return FactGuard(known_products=["Desk Lamp", "Yoga Mat", "Trail Runner Shoes"])


def test_every_task_has_cases():
    assert set(CASES) == set(TASKS)
    for name, (_, good, bad) in CASES.items():
        assert len(good) >= 2 and len(bad) >= 2, name


@pytest.mark.parametrize("name", sorted(CASES))
def test_faithful_candidates_pass(guard, name):
    facts, good, _ = CASES[name]
    for delex in good:
        result, text = guard.check(get_task(name), facts, delex)
        assert result.ok, (delex, result.reason)
        # The final text alone (no candidate to compare) passes too.
        assert guard.check_text(get_task(name), facts, text).ok, text


@pytest.mark.parametrize("name", sorted(CASES))
def test_contradicting_candidates_are_rejected(guard, name):
    facts, _, bad = CASES[name]
    for delex, reason in bad:
        result, _ = guard.check(get_task(name), facts, delex)
        assert not result.ok, delex
        assert any(r in result.reason for r in reason.split("|")), (delex, result.reason)


def test_the_live_case_is_rejected_as_final_text(guard):
    """Seen on live traffic: a shipped order's estimate stated as an arrival."""
    text = fill("Your order [order_number] has shipped. It arrived on [eta].", SHIPPED)
    assert "21 November 2026" in text
    result = guard.check_text(get_task("order_status"), SHIPPED, text)
    assert not result.ok and "delivered" in result.reason


def test_words_inside_fact_values_are_not_claims(guard):
    """An FAQ answer or an address may say anything; only the reply's own words are read."""
    facts = {"topic": "refunds", "answer": "Refunds are paid within 5 days once approved."}
    text = fill("About [topic]: [answer]", facts)
    assert guard.check_text(get_task("faq_answer"), facts, text).ok
    facts = {"order_number": "SB-5", "address": "Delivered Lane 4, 10115 Berlin"}
    assert guard.check(
        get_task("address_changed"), facts, "Order [order_number] goes to [address]."
    )[0].ok


@pytest.mark.parametrize(
    ("status", "ok", "bad"),
    [
        ("pending", "is pending", "is on its way"),
        ("processing", "is being packed", "has shipped"),
        ("shipped", "is on its way", "has arrived"),
        ("delivered", "was delivered", "is on its way"),
        ("cancelled", "was cancelled", "has been delivered"),
        ("returned", "was sent back to us", "is being prepared"),
    ],
)
def test_order_status_words_follow_the_status(guard, status, ok, bad):
    facts = {"order_number": "SB-9", "status": status}
    task = get_task("order_status")
    assert guard.check(task, facts, f"Order [order_number] {ok}.")[0].ok
    result, _ = guard.check(task, facts, f"Order [order_number] {bad}.")
    assert not result.ok


@pytest.mark.parametrize(
    ("status", "ok", "bad"),
    [
        ("pending", "is pending", "has been paid"),
        ("approved", "has been approved and will be paid soon", "was refunded"),
        ("refunded", "has been refunded", "is still pending"),
        ("rejected", "was rejected", "has been approved"),
    ],
)
def test_refund_words_follow_the_refund_status(guard, status, ok, bad):
    facts = {"rma_id": "RMA-1", "refund_status": status}
    task = get_task("refund_status")
    assert guard.check(task, facts, f"The refund for return [rma_id] {ok}.")[0].ok
    result, _ = guard.check(task, facts, f"The refund for return [rma_id] {bad}.")
    assert not result.ok


def test_a_delivered_order_is_not_on_its_way_nor_expected(guard):
    task = get_task("order_status")
    good = "Order [order_number] was delivered by [carrier] ([tracking_number]) on [delivered_on]."
    assert guard.check(task, DELIVERED, good)[0].ok
    estimate = (
        "Order [order_number] was delivered by [carrier] ([tracking_number]); it should arrive "
        "on [delivered_on]."
    )
    result, _ = guard.check(task, DELIVERED, estimate)
    assert not result.ok and "said as an estimate" in result.reason


def test_future_and_negated_claims_are_not_statements():
    assert claims_in("It will be delivered by [eta].") == set()
    assert claims_in("Once it has shipped you get an email.") == set()
    assert claims_in("It hasn't arrived yet.") == set()
    assert claims_in("It has arrived.") == {"delivered"}
    assert claims_in("The refund has been paid.") == {"refund_done"}
    assert claims_in("Here is what you paid for order [order_number].") == set()


def test_number_words_and_free_follow_the_facts(guard):
    task = get_task("product_search_intro")
    facts = {"query": "mugs", "count": 3}
    assert guard.check_text(task, facts, "I found three products for mugs:").ok
    assert not guard.check_text(task, facts, "I found four products for mugs:").ok
    invoice = {"order_number": "SB-1", "total": 20.0, "shipping_cost": 0, "currency": "EUR"}
    text = "Order SB-1: shipping was free, €20.00 in total."
    assert guard.check_text(get_task("invoice_summary"), invoice, text).ok
